import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WavError, readWav, writeWav, type WavWriteFormat } from '../../codecs/wav.ts';
import { sine } from '../../codecs/tone.ts';

const s = suite('codecs/wav');

const left = sine(440, 8000, 400, 0.8);
const right = sine(1000, 8000, 400, -0.6);
const tolerance: Record<WavWriteFormat, number> = { pcm16: 1 / 32768, pcm24: 1 / 8388608, pcm32: 1e-7, float32: 0 };

s('round trip for pcm16, pcm24, pcm32 and float32, mono and stereo', () => {
  for (const format of ['pcm16', 'pcm24', 'pcm32', 'float32'] as const) {
    for (const channels of [[left], [left, right]]) {
      const bytes = writeWav({ sampleRate: 8000, channels }, format);
      const back = readWav(bytes);
      assert.is(back.sampleRate, 8000);
      assert.is(back.format, format);
      assert.is(back.channels.length, channels.length);
      for (const [c, ch] of channels.entries()) {
        assert.is(back.channels[c]!.length, ch.length);
        let worst = 0;
        for (let i = 0; i < ch.length; i++) worst = Math.max(worst, Math.abs(back.channels[c]![i]! - ch[i]!));
        assert.ok(worst <= tolerance[format], `${format} ${channels.length}ch error ${worst}`);
      }
    }
  }
  // Full scale clamps rather than wrapping.
  const clip = readWav(writeWav({ sampleRate: 8000, channels: [new Float32Array([1.5, -1.5, 1, NaN])] })).channels[0]!;
  assert.equal(Array.from(clip), [32767 / 32768, -1, 32767 / 32768, 0]);
});

/** Build a RIFF file from chunks. */
function riff(...chunks: [string, Uint8Array][]): Uint8Array {
  const size = chunks.reduce((a, [, d]) => a + 8 + d.length + (d.length & 1), 4);
  const out = new Uint8Array(8 + size);
  const dv = new DataView(out.buffer);
  out.set([...'RIFF'].map((c) => c.charCodeAt(0)), 0);
  dv.setUint32(4, size, true);
  out.set([...'WAVE'].map((c) => c.charCodeAt(0)), 8);
  let at = 12;
  for (const [id, d] of chunks) {
    out.set([...id].map((c) => c.charCodeAt(0)), at);
    dv.setUint32(at + 4, d.length, true);
    out.set(d, at + 8);
    at += 8 + d.length + (d.length & 1);
  }
  return out;
}

function fmt(tag: number, channels: number, rate: number, bits: number, ext?: { sub: number; validBits?: number }): Uint8Array {
  const d = new Uint8Array(ext ? 40 : 16);
  const dv = new DataView(d.buffer);
  dv.setUint16(0, tag, true);
  dv.setUint16(2, channels, true);
  dv.setUint32(4, rate, true);
  dv.setUint32(8, (rate * channels * bits) / 8, true);
  dv.setUint16(12, (channels * bits) / 8, true);
  dv.setUint16(14, bits, true);
  if (ext) {
    dv.setUint16(16, 22, true);
    dv.setUint16(18, ext.validBits ?? bits, true);
    dv.setUint32(20, channels === 2 ? 3 : 4, true);
    dv.setUint16(24, ext.sub, true);
    d.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  return d;
}

const i16 = (...v: number[]) => new Uint8Array(new Int16Array(v).buffer);

s('walks chunks: skips unknown ones, honours odd padding, accepts fmt after data and a streaming data size', () => {
  const odd = new Uint8Array([1, 2, 3]);
  const w = readWav(riff(['LIST', odd], ['fmt ', fmt(1, 1, 16000, 16)], ['junk', new Uint8Array(5)], ['data', i16(16384, -16384)], ['id3 ', odd]));
  assert.is(w.sampleRate, 16000);
  assert.equal(Array.from(w.channels[0]!), [0.5, -0.5]);
  const late = readWav(riff(['data', i16(1, 2, 3)], ['fmt ', fmt(1, 1, 8000, 16)]));
  assert.is(late.channels[0]!.length, 3);
  const streaming = riff(['fmt ', fmt(1, 1, 8000, 16)], ['data', i16(100, 200)]);
  new DataView(streaming.buffer).setUint32(36 + 4, 0xffffffff, true);
  assert.is(readWav(streaming).channels[0]!.length, 2);
  // A trailing half sample is ignored; a truncated metadata chunk after the audio too.
  const trunc = riff(['fmt ', fmt(1, 1, 8000, 16)], ['data', new Uint8Array([0, 64, 7])], ['LIST', new Uint8Array(20)]);
  assert.is(readWav(trunc.subarray(0, trunc.length - 10)).channels[0]!.length, 1);
});

s('reads WAVE_FORMAT_EXTENSIBLE (PCM 24-bit, float) and 8-bit / float64', () => {
  const pcm24 = new Uint8Array([0x00, 0x00, 0x40, 0x00, 0x00, 0xc0]); // +0.5, -0.5
  const e = readWav(riff(['fmt ', fmt(0xfffe, 1, 48000, 24, { sub: 1 })], ['data', pcm24]));
  assert.is(e.format, 'pcm24');
  assert.equal(Array.from(e.channels[0]!), [0.5, -0.5]);
  const f = readWav(riff(['fmt ', fmt(0xfffe, 2, 44100, 32, { sub: 3 })], ['data', new Uint8Array(new Float32Array([0.25, -0.75]).buffer)]));
  assert.is(f.format, 'float32');
  assert.equal([f.channels[0]![0], f.channels[1]![0]], [0.25, -0.75]);
  const u8 = readWav(riff(['fmt ', fmt(1, 1, 8000, 8)], ['data', new Uint8Array([128, 192, 0])]));
  assert.equal(Array.from(u8.channels[0]!), [0, 0.5, -1]);
  const f64 = readWav(riff(['fmt ', fmt(3, 1, 8000, 64)], ['data', new Uint8Array(new Float64Array([0.125]).buffer)]));
  assert.equal(Array.from(f64.channels[0]!), [0.125]);
});

s('reads files written by sox (16-bit mono, 24-bit stereo extensible, float)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tincan-wav-'));
  try {
    for (const [args, channels, format] of [
      [['-b', '16', '-c', '1'], 1, 'pcm16'],
      [['-b', '24', '-c', '2'], 2, 'pcm24'],
      [['-e', 'floating-point', '-b', '32', '-c', '2'], 2, 'float32'],
    ] as const) {
      const file = join(dir, 'x.wav');
      execFileSync('sox', ['-n', '-r', '44100', ...args, file, 'synth', '0.1', 'sine', '440', 'vol', '0.5']);
      const w = readWav(new Uint8Array(readFileSync(file)));
      assert.is(w.sampleRate, 44100);
      assert.is(w.channels.length, channels);
      assert.is(w.format, format);
      assert.is(w.channels[0]!.length, 4410);
      const peak = Math.max(...w.channels[0]!.map(Math.abs));
      assert.ok(Math.abs(peak - 0.5) < 0.01, `peak ${peak}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s('clear WavErrors for unsupported or corrupt files', () => {
  const err = (b: Uint8Array, re: RegExp) => assert.throws(() => readWav(b), (e: unknown) => e instanceof WavError && re.test((e as Error).message));
  err(new Uint8Array(4), /shorter than a RIFF header/);
  err(new TextEncoder().encode('RIFX....WAVEfmt '), /expected "RIFF"/);
  err(new TextEncoder().encode('RIFF....AVI LIST'), /expected "WAVE"/);
  err(riff(['data', i16(1)]), /no fmt chunk/);
  err(riff(['fmt ', fmt(1, 1, 8000, 16)]), /no data chunk/);
  err(riff(['fmt ', fmt(0x55, 1, 8000, 16)], ['data', i16(1)]), /format tag 0x55/);
  err(riff(['fmt ', fmt(1, 3, 8000, 16)], ['data', i16(1, 2, 3)]), /channel count 3/);
  err(riff(['fmt ', fmt(1, 1, 8000, 12)], ['data', i16(1)]), /sample size 12 bits/);
  err(riff(['fmt ', fmt(3, 1, 8000, 16)], ['data', i16(1)]), /float sample size 16/);
  err(riff(['fmt ', new Uint8Array(10)], ['data', i16(1)]), /fmt chunk is 10 bytes/);
  err(riff(['fmt ', fmt(0xfffe, 1, 8000, 16, { sub: 2 })], ['data', i16(1)]), /format tag 0x2/);
  const guid = fmt(0xfffe, 1, 8000, 16, { sub: 1 });
  guid[30] = 0x11;
  err(riff(['fmt ', guid], ['data', i16(1)]), /unknown sub-format GUID/);
  const badAlign = fmt(1, 2, 8000, 16);
  new DataView(badAlign.buffer).setUint16(12, 3, true);
  err(riff(['fmt ', badAlign], ['data', i16(1)]), /block align 3/);
  const big = riff(['fmt ', fmt(1, 1, 8000, 16)], ['data', i16(1, 2)]);
  new DataView(big.buffer).setUint32(40, 1000, true);
  err(big, /data chunk claims 1000 bytes but only 4 remain/);
  const bigOther = riff(['LIST', new Uint8Array(4)], ['fmt ', fmt(1, 1, 8000, 16)], ['data', i16(1)]);
  new DataView(bigOther.buffer).setUint32(16, 99999, true);
  err(bigOther, /chunk "LIST" claims 99999 bytes/);
  err(riff(['fmt ', fmt(1, 1, 8000, 16)], ['data', i16(1)], ['data', i16(1)]), /more than one data chunk/);
  assert.throws(() => writeWav({ sampleRate: 8000, channels: [left, left, left] }), (e: unknown) => e instanceof WavError && /mono or stereo/.test((e as Error).message));
  assert.throws(() => writeWav({ sampleRate: 8000, channels: [left, right.subarray(1)] }), /differ in length/);
});

const onlyWavError = (b: Uint8Array) => {
  try {
    const w = readWav(b);
    assert.ok(w.channels.length >= 1 && w.channels.length <= 2);
  } catch (e) {
    if (!(e instanceof WavError)) throw new Error(`non-WavError ${String(e)} for ${Buffer.from(b).toString('hex').slice(0, 200)}`);
    assert.ok((e as Error).message.length > 10);
  }
};

s('fuzz: random bytes never throw anything but a WavError with a message', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 128 }), onlyWavError), { numRuns: 3000 });
  // Random bytes behind a valid RIFF/WAVE prefix reach the chunk walker.
  const prefix = new TextEncoder().encode('RIFF\x00\x00\x00\x00WAVE');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
      const b = new Uint8Array(prefix.length + tail.length);
      b.set(prefix);
      b.set(tail, prefix.length);
      onlyWavError(b);
    }),
    { numRuns: 3000 },
  );
});

s('fuzz: mutated valid files (byte flips, truncation, insertions) never throw anything but a WavError', () => {
  const seeds = [
    writeWav({ sampleRate: 8000, channels: [left.subarray(0, 20)] }, 'pcm16'),
    writeWav({ sampleRate: 8000, channels: [left.subarray(0, 9), right.subarray(0, 9)] }, 'pcm24'),
    writeWav({ sampleRate: 8000, channels: [left.subarray(0, 7)] }, 'float32'),
    riff(['LIST', new Uint8Array(3)], ['fmt ', fmt(0xfffe, 2, 48000, 24, { sub: 1 })], ['data', new Uint8Array(12)]),
  ];
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: seeds.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.option(fc.nat()),
      fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 9 }))),
      (which, flips, cut, insert) => {
        let b = seeds[which]!.slice();
        for (const [at, v] of flips) b[at % b.length] = v;
        if (insert) {
          const at = insert[0] % b.length;
          b = new Uint8Array([...b.subarray(0, at), ...insert[1], ...b.subarray(at)]);
        }
        if (cut !== null) b = b.subarray(0, cut % (b.length + 1));
        onlyWavError(b);
      },
    ),
    { numRuns: 5000 },
  );
});

s.run();
