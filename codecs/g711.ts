/**
 * G.711 mu-law and A-law (ITU-T G.711), table-driven and bit-exact with the ITU-T G.191
 * reference implementation (g711.c: `ulaw_compress`/`alaw_compress`/`*_expand`).
 *
 * Linear samples are 16-bit (Int16Array); as in G.191, A-law uses the 12 most significant
 * bits (13-bit signed with the sign) and mu-law the 14 most significant bits. The tables
 * (64 KiB per law for encoding, 256 entries for decoding) are built once on first use.
 * @module
 */

let ulawEnc: Uint8Array | undefined;
let alawEnc: Uint8Array | undefined;
let ulawDec: Int16Array | undefined;
let alawDec: Int16Array | undefined;

/** G.191 alaw_compress for one sample. */
function alawCompress(lin: number): number {
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

/** G.191 ulaw_compress for one sample. */
function ulawCompress(lin: number): number {
  let absno = lin < 0 ? (~lin >> 2) + 33 : (lin >> 2) + 33;
  if (absno > 0x1fff) absno = 0x1fff;
  let i = absno >> 6;
  let segno = 1;
  while (i !== 0) {
    segno++;
    i >>= 1;
  }
  const high = 0x08 - segno;
  const low = 0x0f - ((absno >> segno) & 0x0f);
  let out = (high << 4) | low;
  if (lin >= 0) out |= 0x80;
  return out;
}

/** G.191 alaw_expand for one code. */
function alawExpand(code: number): number {
  let ix = (code ^ 0x55) & 0x7f;
  const iexp = ix >> 4;
  let mant = ix & 0x0f;
  if (iexp > 0) mant += 16;
  mant = (mant << 4) + 0x08;
  if (iexp > 1) mant <<= iexp - 1;
  ix = code > 127 ? mant : -mant;
  return ix;
}

/** G.191 ulaw_expand for one code. */
function ulawExpand(code: number): number {
  const sign = code < 0x80 ? -1 : 1;
  const m = ~code;
  const exponent = (m >> 4) & 0x07;
  const segment = exponent + 1;
  const mantissa = m & 0x0f;
  const step = 4 << segment;
  return sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33);
}

function tables(): void {
  if (ulawEnc) return;
  const ue = new Uint8Array(65536);
  const ae = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) {
    const lin = (i << 16) >> 16;
    ue[i] = ulawCompress(lin);
    ae[i] = alawCompress(lin);
  }
  const ud = new Int16Array(256);
  const ad = new Int16Array(256);
  for (let c = 0; c < 256; c++) {
    ud[c] = ulawExpand(c);
    ad[c] = alawExpand(c);
  }
  ulawEnc = ue;
  alawEnc = ae;
  ulawDec = ud;
  alawDec = ad;
}

/** mu-law encode one 16-bit sample. */
export function linearToUlaw(sample: number): number {
  tables();
  return ulawEnc![sample & 0xffff]!;
}
/** mu-law decode one code (0..255) to a 16-bit sample. */
export function ulawToLinear(code: number): number {
  tables();
  return ulawDec![code & 0xff]!;
}
/** A-law encode one 16-bit sample. */
export function linearToAlaw(sample: number): number {
  tables();
  return alawEnc![sample & 0xffff]!;
}
/** A-law decode one code (0..255) to a 16-bit sample. */
export function alawToLinear(code: number): number {
  tables();
  return alawDec![code & 0xff]!;
}

/** mu-law encode a buffer (one byte per sample; RTP payload type 0, PCMU). */
export function ulawEncode(pcm: Int16Array): Uint8Array {
  tables();
  const t = ulawEnc!;
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = t[pcm[i]! & 0xffff]!;
  return out;
}
/** mu-law decode a buffer. */
export function ulawDecode(codes: Uint8Array): Int16Array {
  tables();
  const t = ulawDec!;
  const out = new Int16Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = t[codes[i]!]!;
  return out;
}
/** A-law encode a buffer (one byte per sample; RTP payload type 8, PCMA). */
export function alawEncode(pcm: Int16Array): Uint8Array {
  tables();
  const t = alawEnc!;
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = t[pcm[i]! & 0xffff]!;
  return out;
}
/** A-law decode a buffer. */
export function alawDecode(codes: Uint8Array): Int16Array {
  tables();
  const t = alawDec!;
  const out = new Int16Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = t[codes[i]!]!;
  return out;
}

/** Silence codes: what a zero sample encodes to. */
export const ULAW_SILENCE = 0xff;
export const ALAW_SILENCE = 0xd5;
