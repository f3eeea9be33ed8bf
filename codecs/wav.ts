/**
 * WAV (RIFF/WAVE) reader and writer on bytes; no file I/O here.
 *
 * Reads PCM 8/16/24/32-bit integer and 32/64-bit IEEE float, 1 or 2 channels, in plain
 * `WAVE_FORMAT_PCM`/`WAVE_FORMAT_IEEE_FLOAT` or `WAVE_FORMAT_EXTENSIBLE` form. Chunks
 * are walked bounded by the buffer: unknown chunks are skipped, odd-sized chunks are
 * padded, a streaming placeholder data size (0xFFFFFFFF) means "to the end". Anything
 * else (other codecs, more channels, truncated or inconsistent headers) throws a
 * {@link WavError} that says what is wrong. Samples come out planar as Float32 in [-1, 1].
 *
 * The writer produces 16/24/32-bit PCM or 32-bit float (plain format tags; EXTENSIBLE is
 * not needed for mono/stereo).
 * @module
 */

/** A malformed or unsupported WAV file. */
export class WavError extends Error {
  override name = 'WavError';
}

/** Sample encodings the reader understands. */
export type WavSampleFormat = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64';
/** Sample encodings the writer produces. */
export type WavWriteFormat = 'pcm16' | 'pcm24' | 'pcm32' | 'float32';

/** Decoded audio. */
export interface WavAudio {
  sampleRate: number;
  /** How the file stored samples. */
  format: WavSampleFormat;
  /** Planar samples, one Float32Array per channel, values in [-1, 1]. */
  channels: Float32Array[];
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
/** Tail of the KSDATAFORMAT_SUBTYPE_PCM/IEEE_FLOAT GUIDs after the 2-byte format tag. */
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
const MAX_CHANNELS = 2;

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
}

function printable(id: string): string {
  return JSON.stringify(id);
}

interface Fmt {
  tag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bits: number;
}

function parseFmt(b: Uint8Array, dv: DataView, at: number, size: number): Fmt {
  if (size < 16) throw new WavError(`fmt chunk is ${size} bytes, needs at least 16`);
  let tag = dv.getUint16(at, true);
  const channels = dv.getUint16(at + 2, true);
  const sampleRate = dv.getUint32(at + 4, true);
  const blockAlign = dv.getUint16(at + 12, true);
  const bits = dv.getUint16(at + 14, true);
  if (tag === FORMAT_EXTENSIBLE) {
    if (size < 40) throw new WavError(`WAVE_FORMAT_EXTENSIBLE fmt chunk is ${size} bytes, needs 40`);
    const cbSize = dv.getUint16(at + 16, true);
    if (cbSize < 22) throw new WavError(`WAVE_FORMAT_EXTENSIBLE extension is ${cbSize} bytes, needs 22`);
    const validBits = dv.getUint16(at + 18, true);
    const sub = dv.getUint16(at + 24, true);
    for (let i = 0; i < GUID_TAIL.length; i++) {
      if (b[at + 26 + i] !== GUID_TAIL[i]) throw new WavError('WAVE_FORMAT_EXTENSIBLE with an unknown sub-format GUID (only PCM and IEEE float are supported)');
    }
    if (validBits !== 0 && validBits !== bits) {
      // Samples are still stored in `bits`-wide containers, left-justified; reading them at full width is correct.
      if (validBits > bits) throw new WavError(`WAVE_FORMAT_EXTENSIBLE valid bits ${validBits} exceed container size ${bits}`);
    }
    tag = sub;
  }
  if (tag !== FORMAT_PCM && tag !== FORMAT_FLOAT) throw new WavError(`unsupported WAV format tag 0x${tag.toString(16)} (only PCM and IEEE float)`);
  if (channels < 1 || channels > MAX_CHANNELS) throw new WavError(`unsupported channel count ${channels} (mono or stereo only)`);
  if (sampleRate < 1 || sampleRate > 768000) throw new WavError(`implausible sample rate ${sampleRate} Hz`);
  const okBits = tag === FORMAT_PCM ? [8, 16, 24, 32] : [32, 64];
  if (!okBits.includes(bits)) throw new WavError(`unsupported ${tag === FORMAT_PCM ? 'PCM' : 'float'} sample size ${bits} bits`);
  if (blockAlign !== (channels * bits) / 8) throw new WavError(`fmt block align ${blockAlign} does not match ${channels} channel(s) of ${bits} bits`);
  return { tag, channels, sampleRate, blockAlign, bits };
}

/** Parse a WAV file. Throws {@link WavError} on anything malformed or unsupported. */
export function readWav(bytes: Uint8Array): WavAudio {
  if (bytes.length < 12) throw new WavError(`not a WAV file: ${bytes.length} bytes is shorter than a RIFF header`);
  if (fourcc(bytes, 0) !== 'RIFF') throw new WavError(`not a WAV file: starts with ${printable(fourcc(bytes, 0))}, expected "RIFF"`);
  if (fourcc(bytes, 8) !== 'WAVE') throw new WavError(`not a WAV file: RIFF type ${printable(fourcc(bytes, 8))}, expected "WAVE"`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Fmt | undefined;
  let data: { at: number; size: number } | undefined;
  let at = 12;
  let chunks = 0;
  while (at + 8 <= bytes.length) {
    if (++chunks > 10000) throw new WavError('too many RIFF chunks');
    const id = fourcc(bytes, at);
    let size = dv.getUint32(at + 4, true);
    const body = at + 8;
    const remain = bytes.length - body;
    if (id === 'data') {
      if (data) throw new WavError('WAV file has more than one data chunk');
      if (size === 0xffffffff) size = remain;
      if (size > remain) throw new WavError(`data chunk claims ${size} bytes but only ${remain} remain (truncated file?)`);
      data = { at: body, size };
    } else if (id === 'fmt ') {
      if (fmt) throw new WavError('WAV file has more than one fmt chunk');
      if (size > remain) throw new WavError(`fmt chunk claims ${size} bytes but only ${remain} remain`);
      fmt = parseFmt(bytes, dv, body, size);
    } else if (size > remain) {
      // A truncated trailing chunk after the audio (e.g. metadata) does not hurt the audio.
      if (fmt && data) break;
      throw new WavError(`chunk ${printable(id)} claims ${size} bytes but only ${remain} remain`);
    }
    at = body + size + (size & 1);
  }
  if (!fmt) throw new WavError('WAV file has no fmt chunk');
  if (!data) throw new WavError('WAV file has no data chunk');
  const frames = Math.floor(data.size / fmt.blockAlign);
  const channels = Array.from({ length: fmt.channels }, () => new Float32Array(frames));
  const bps = fmt.bits / 8;
  let p = data.at;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < fmt.channels; c++) {
      let v: number;
      if (fmt.tag === FORMAT_FLOAT) {
        v = bps === 4 ? dv.getFloat32(p, true) : dv.getFloat64(p, true);
        if (!Number.isFinite(v)) v = 0;
      } else if (bps === 2) v = dv.getInt16(p, true) / 32768;
      else if (bps === 3) v = (((bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16)) << 8) >> 8) / 8388608;
      else if (bps === 4) v = dv.getInt32(p, true) / 2147483648;
      else v = (bytes[p]! - 128) / 128;
      channels[c]![i] = v;
      p += bps;
    }
  }
  const format: WavSampleFormat = fmt.tag === FORMAT_FLOAT ? (bps === 4 ? 'float32' : 'float64') : (`pcm${fmt.bits}` as WavSampleFormat);
  return { sampleRate: fmt.sampleRate, format, channels };
}

/** Encode audio as a WAV file (default 16-bit PCM). Integer formats round and clamp. */
export function writeWav(audio: { sampleRate: number; channels: Float32Array[] }, format: WavWriteFormat = 'pcm16'): Uint8Array {
  const nch = audio.channels.length;
  if (nch < 1 || nch > MAX_CHANNELS) throw new WavError(`can write mono or stereo only, got ${nch} channels`);
  if (!Number.isInteger(audio.sampleRate) || audio.sampleRate < 1 || audio.sampleRate > 768000) throw new WavError(`invalid sample rate ${audio.sampleRate}`);
  const frames = audio.channels[0]!.length;
  if (audio.channels.some((c) => c.length !== frames)) throw new WavError('channels differ in length');
  const bits = format === 'pcm16' ? 16 : format === 'pcm24' ? 24 : format === 'pcm32' || format === 'float32' ? 32 : 0;
  if (!bits) throw new WavError(`unknown write format ${String(format)}`);
  const bps = bits / 8;
  const dataSize = frames * nch * bps;
  if (dataSize > 0xffffffff - 44) throw new WavError('audio too long for a WAV file');
  const out = new Uint8Array(44 + dataSize + (dataSize & 1));
  const dv = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  dv.setUint32(4, out.length - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, format === 'float32' ? FORMAT_FLOAT : FORMAT_PCM, true);
  dv.setUint16(22, nch, true);
  dv.setUint32(24, audio.sampleRate, true);
  dv.setUint32(28, audio.sampleRate * nch * bps, true);
  dv.setUint16(32, nch * bps, true);
  dv.setUint16(34, bits, true);
  ascii(36, 'data');
  dv.setUint32(40, dataSize, true);
  let p = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const x = audio.channels[c]![i]!;
      const v = Number.isFinite(x) ? Math.max(-1, Math.min(1, x)) : 0;
      if (format === 'float32') dv.setFloat32(p, v, true);
      else if (format === 'pcm16') dv.setInt16(p, Math.max(-32768, Math.min(32767, Math.round(v * 32768))), true);
      else if (format === 'pcm32') dv.setInt32(p, Math.max(-2147483648, Math.min(2147483647, Math.round(v * 2147483648))), true);
      else {
        const s = Math.max(-8388608, Math.min(8388607, Math.round(v * 8388608)));
        out[p] = s & 0xff;
        out[p + 1] = (s >> 8) & 0xff;
        out[p + 2] = (s >> 16) & 0xff;
      }
      p += bps;
    }
  }
  return out;
}
