import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alawDecode, alawEncode, alawToLinear, linearToAlaw, linearToUlaw, ulawDecode, ulawEncode, ulawToLinear, ALAW_SILENCE, ULAW_SILENCE } from '../../codecs/g711.ts';
import { floatToInt16 } from '../../codecs/pcm.ts';
import { sine } from '../../codecs/tone.ts';
import { SENTENCES, speech48k } from './speech.ts';

const s = suite('codecs/g711');

// ITU-T G.191 g711.c reference routines, transcribed loop-for-loop (no tables), for comparison.
function refUlawCompress(lin: number): number {
  let absno = lin < 0 ? (~lin >> 2) + 33 : (lin >> 2) + 33;
  if (absno > 0x1fff) absno = 0x1fff;
  let i = absno >> 6;
  let segno = 1;
  while (i !== 0) {
    segno++;
    i >>= 1;
  }
  let out = ((0x08 - segno) << 4) | (0x0f - ((absno >> segno) & 0x0f));
  if (lin >= 0) out |= 0x80;
  return out;
}
function refAlawCompress(lin: number): number {
  let ix = lin < 0 ? ~lin >> 4 : lin >> 4;
  if (ix > 15) {
    let iexp = 1;
    while (ix > 16 + 15) {
      ix >>= 1;
      iexp++;
    }
    ix -= 16;
    ix += iexp << 4;
  }
  if (lin >= 0) ix |= 0x80;
  return ix ^ 0x55;
}
function refUlawExpand(code: number): number {
  const sign = code < 0x80 ? -1 : 1;
  const m = ~code;
  const exponent = (m >> 4) & 7;
  const step = 4 << (exponent + 1);
  return sign * ((0x80 << exponent) + step * (m & 0x0f) + step / 2 - 4 * 33);
}
function refAlawExpand(code: number): number {
  const ix = (code ^ 0x55) & 0x7f;
  const iexp = ix >> 4;
  let mant = ix & 0x0f;
  if (iexp > 0) mant += 16;
  mant = (mant << 4) + 8;
  if (iexp > 1) mant <<= iexp - 1;
  return code > 127 ? mant : -mant;
}

s('mu-law segment boundaries from the G.711 tables (14-bit magnitude -> code), both signs', () => {
  // [magnitude m = |x| >> 2 (one's complement for negatives), positive code]
  const table: [number, number][] = [
    [0, 0xff], [1, 0xfe], [30, 0xf0], [31, 0xef], [94, 0xe0], [95, 0xdf], [222, 0xd0], [223, 0xcf], [478, 0xc0], [479, 0xbf],
    [990, 0xb0], [991, 0xaf], [2014, 0xa0], [2015, 0x9f], [4062, 0x90], [4063, 0x8f], [8158, 0x80], [8191, 0x80],
  ];
  for (const [m, code] of table) {
    for (let low = 0; low < 4; low++) {
      const x = 4 * m + low;
      if (x > 32767) continue;
      assert.is(linearToUlaw(x), code, `+${x}`);
      assert.is(linearToUlaw(-x - 1), code & 0x7f, `${-x - 1}`);
    }
  }
  assert.is(linearToUlaw(-32768), 0x00);
  assert.is(ULAW_SILENCE, linearToUlaw(0));
});

s('A-law segment boundaries from the G.711 tables (12-bit magnitude -> code), both signs', () => {
  // [magnitude t = |x| >> 4 (one's complement for negatives), positive code]
  const table: [number, number][] = [
    [0, 0xd5], [15, 0xda], [16, 0xc5], [31, 0xca], [32, 0xf5], [63, 0xfa], [64, 0xe5], [127, 0xea], [128, 0x95], [255, 0x9a],
    [256, 0x85], [511, 0x8a], [512, 0xb5], [1023, 0xba], [1024, 0xa5], [2047, 0xaa],
  ];
  for (const [t, code] of table) {
    for (const low of [0, 7, 15]) {
      const x = 16 * t + low;
      assert.is(linearToAlaw(x), code, `+${x}`);
      assert.is(linearToAlaw(-x - 1), code ^ 0x80, `${-x - 1}`);
    }
  }
  assert.is(linearToAlaw(-32768), 0x2a);
  assert.is(ALAW_SILENCE, linearToAlaw(0));
});

s('encoding is bit-exact with the G.191 reference for all 65536 inputs', () => {
  const all = new Int16Array(65536);
  for (let i = 0; i < 65536; i++) all[i] = i - 32768;
  const u = ulawEncode(all);
  const a = alawEncode(all);
  for (let i = 0; i < 65536; i++) {
    if (u[i] !== refUlawCompress(all[i]!)) assert.unreachable(`mu-law ${all[i]}: ${u[i]} vs ${refUlawCompress(all[i]!)}`);
    if (a[i] !== refAlawCompress(all[i]!)) assert.unreachable(`A-law ${all[i]}: ${a[i]} vs ${refAlawCompress(all[i]!)}`);
  }
});

s('decode tables for all 256 codes equal the G.191 expand formula and sox (an independent implementation)', () => {
  const codes = new Uint8Array(256).map((_, i) => i);
  const u = ulawDecode(codes);
  const a = alawDecode(codes);
  for (let c = 0; c < 256; c++) {
    assert.is(u[c], refUlawExpand(c), `mu-law code ${c}`);
    assert.is(a[c], refAlawExpand(c), `A-law code ${c}`);
    assert.is(ulawToLinear(c), u[c]);
    assert.is(alawToLinear(c), a[c]);
  }
  assert.is(u[0x00], -32124);
  assert.is(u[0x80], 32124);
  assert.is(a[0xaa], 32256);
  assert.is(a[0xd5], 8);
  const dir = mkdtempSync(join(tmpdir(), 'tincan-g711-'));
  try {
    writeFileSync(join(dir, 'codes.raw'), codes);
    for (const [law, ours] of [['mu-law', u], ['a-law', a]] as const) {
      execFileSync('sox', ['-t', 'raw', '-r', '8000', '-e', law, '-b', '8', '-c', '1', join(dir, 'codes.raw'), '-t', 'raw', '-e', 'signed', '-b', '16', '-L', join(dir, 'out.raw')]);
      const b = readFileSync(join(dir, 'out.raw'));
      const sox = new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      assert.equal(Array.from(sox), Array.from(ours), `${law} vs sox`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s('every input decodes to the nearest reconstruction level of its segment (within half a step)', () => {
  for (let x = -32768; x < 32768; x++) {
    const du = ulawToLinear(linearToUlaw(x));
    const da = alawToLinear(linearToAlaw(x));
    const expU = (~linearToUlaw(x) >> 4) & 7;
    const stepU = 8 << expU;
    const expA = ((linearToAlaw(x) ^ 0x55) >> 4) & 7;
    const stepA = expA <= 1 ? 32 : 32 << (expA - 1);
    if (Math.abs(x) < 32124 && Math.abs(du - x) > stepU / 2 + 4) assert.unreachable(`mu-law ${x} -> ${du}`);
    if (Math.abs(x) < 32256 && Math.abs(da - x) > stepA / 2 + 16) assert.unreachable(`A-law ${x} -> ${da}`);
  }
});

function snrDb(x: Int16Array, y: Int16Array): number {
  let sig = 0;
  let err = 0;
  for (let i = 0; i < x.length; i++) {
    sig += x[i]! * x[i]!;
    err += (x[i]! - y[i]!) ** 2;
  }
  return 10 * Math.log10(sig / err);
}

s('round trip is within quantisation error: -10 dBFS sine SNR >= 35 dB (measured mu-law 37.1, A-law 36.4 dB); speech >= 35 dB (measured 37.2 / 37.5 dB)', () => {
  const x = floatToInt16(sine(1004, 8000, 8000, 0.316));
  const su = snrDb(x, ulawDecode(ulawEncode(x)));
  const sa = snrDb(x, alawDecode(alawEncode(x)));
  const sp = floatToInt16(speech48k(SENTENCES[2]!));
  const spu = snrDb(sp, ulawDecode(ulawEncode(sp)));
  const spa = snrDb(sp, alawDecode(alawEncode(sp)));
  console.log(`    G.711 SNR: sine mu-law ${su.toFixed(1)} dB, A-law ${sa.toFixed(1)} dB; speech mu-law ${spu.toFixed(1)} dB, A-law ${spa.toFixed(1)} dB`);
  assert.ok(su >= 35, `mu-law ${su}`);
  assert.ok(sa >= 35, `A-law ${sa}`);
  assert.ok(spu >= 35 && spa >= 35, `speech ${spu} ${spa}`);
});

s.run();
