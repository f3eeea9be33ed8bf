/**
 * Test-signal generators (pure): sine tones, sweeps, and a seeded noise source.
 * @module
 */

/** A sine of `hz` at `amplitude` (full scale 1) for `samples` samples, starting at `phase` radians. */
export function sine(hz: number, sampleRate: number, samples: number, amplitude = 0.5, phase = 0): Float32Array {
  const out = new Float32Array(samples);
  const w = (2 * Math.PI * hz) / sampleRate;
  for (let i = 0; i < samples; i++) out[i] = amplitude * Math.sin(phase + w * i);
  return out;
}

/** A logarithmic sweep from `fromHz` to `toHz` over `samples` samples. */
export function sweep(fromHz: number, toHz: number, sampleRate: number, samples: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(samples);
  const T = samples / sampleRate;
  const k = Math.log(toHz / fromHz);
  for (let i = 0; i < samples; i++) {
    const t = i / sampleRate;
    out[i] = amplitude * Math.sin(((2 * Math.PI * fromHz * T) / k) * (Math.exp((t / T) * k) - 1));
  }
  return out;
}

/** Deterministic PRNG (mulberry32) returning floats in [0, 1); for tests and dither. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** White noise in [-amplitude, amplitude) from a seeded PRNG. */
export function whiteNoise(samples: number, seed: number, amplitude = 0.5): Float32Array {
  const rnd = seededRandom(seed);
  const out = new Float32Array(samples);
  for (let i = 0; i < samples; i++) out[i] = amplitude * (2 * rnd() - 1);
  return out;
}
