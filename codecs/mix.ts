/**
 * Channel down-mix and mixing of Float32 PCM.
 * @module
 */

/**
 * Down-mix interleaved audio with `channels` channels to mono by averaging the channels
 * (so a full-scale signal on both stereo channels stays full scale, no clipping).
 */
export function downmixToMono(interleaved: Float32Array, channels: number): Float32Array {
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`channels must be a positive integer, got ${channels}`);
  if (channels === 1) return interleaved.slice();
  const frames = Math.floor(interleaved.length / channels);
  const out = new Float32Array(frames);
  const k = 1 / channels;
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[i * channels + c]!;
    out[i] = sum * k;
  }
  return out;
}

/** Duplicate mono into `channels` interleaved channels. */
export function upmixMono(mono: Float32Array, channels: number): Float32Array {
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`channels must be a positive integer, got ${channels}`);
  const out = new Float32Array(mono.length * channels);
  for (let i = 0; i < mono.length; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = mono[i]!;
  return out;
}

/** Sum `sources` (each scaled by `gain`) into a new buffer of the longest length, clamped to [-1, 1]. */
export function mix(sources: Float32Array[], gain = 1): Float32Array {
  const len = Math.max(0, ...sources.map((s) => s.length));
  const out = new Float32Array(len);
  for (const s of sources) for (let i = 0; i < s.length; i++) out[i] += s[i]! * gain;
  for (let i = 0; i < len; i++) out[i] = Math.max(-1, Math.min(1, out[i]!));
  return out;
}
