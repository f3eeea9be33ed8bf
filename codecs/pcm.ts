/**
 * PCM sample-format conversions: Int16 <-> Float32, interleaving.
 * Float PCM is in [-1, 1]; Int16 full scale is 32768.
 * @module
 */

/** Float32 [-1, 1] to Int16, rounded and clamped (NaN becomes 0). */
export function floatToInt16(pcm: Float32Array): Int16Array {
  const out = new Int16Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) {
    const v = Math.round(pcm[i]! * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

/** Int16 to Float32 in [-1, 1). */
export function int16ToFloat(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32768;
  return out;
}

/** Split interleaved samples into one array per channel. */
export function deinterleave(interleaved: Float32Array, channels: number): Float32Array[] {
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`channels must be a positive integer, got ${channels}`);
  const frames = Math.floor(interleaved.length / channels);
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) for (let c = 0; c < channels; c++) out[c]![i] = interleaved[i * channels + c]!;
  return out;
}

/** Interleave equal-length channel arrays. */
export function interleave(channels: Float32Array[]): Float32Array {
  const n = channels.length;
  if (n === 0) return new Float32Array(0);
  const frames = channels[0]!.length;
  if (channels.some((c) => c.length !== frames)) throw new RangeError('interleave: channels differ in length');
  const out = new Float32Array(frames * n);
  for (let i = 0; i < frames; i++) for (let c = 0; c < n; c++) out[i * n + c] = channels[c]![i]!;
  return out;
}
