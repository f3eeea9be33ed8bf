/**
 * Cuts a byte stream of s16le mono samples (from a pipe) into 20 ms frames, whatever
 * the chunk boundaries.
 *
 * @module
 */
import { FRAME_BYTES, FRAME_SAMPLES } from './audio.ts';

/** See module docs. */
export class S16Framer {
  private pending = new Uint8Array(FRAME_BYTES);
  private fill = 0;

  /** Feed bytes; returns the frames completed by them. */
  push(chunk: Uint8Array): Int16Array[] {
    const out: Int16Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(FRAME_BYTES - this.fill, chunk.length - at);
      this.pending.set(chunk.subarray(at, at + take), this.fill);
      this.fill += take;
      at += take;
      if (this.fill === FRAME_BYTES) {
        out.push(decodeS16le(this.pending));
        this.fill = 0;
      }
    }
    return out;
  }
}

/** Little-endian s16 bytes to samples (independent of host byte order). */
export function decodeS16le(bytes: Uint8Array): Int16Array {
  const n = bytes.length >> 1;
  const out = new Int16Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
  for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
  return out;
}

/** Samples to little-endian s16 bytes. */
export function encodeS16le(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < pcm.length; i++) dv.setInt16(2 * i, pcm[i]!, true);
  return out;
}

/** Samples in a frame (re-exported for callers of the framer). */
export { FRAME_SAMPLES };
