/**
 * Objective audio similarity for tests: how close a degraded signal (after a codec,
 * loss, concealment) is to its reference, robust to codec delay.
 *
 * 1. Alignment: the lag maximising the cross-correlation (computed by FFT) within
 *    +-`maxLagMs`; the degraded signal is shifted by it.
 * 2. Envelope correlation: Pearson correlation of the 10 ms RMS envelopes (in dB, floored
 *    60 dB below the loudest frame) of the aligned signals. Speech rhythm and loudness.
 * 3. Log-spectral distance (LSD): per 21 ms Hann-windowed frame, the RMS over frequency
 *    bins (100 Hz..`maxHz`) of the difference of the two power spectra in dB (both floored
 *    50 dB below the frame's mean bin power), averaged
 *    over frames with speech (within 40 dB of the loudest frame). Timbre.
 * 4. SNR of the aligned signals (meaningful only for waveform codecs such as G.711).
 *
 * Reference figures (48 kHz speech from espeak-ng, measured by test/codecs/opus.test.ts):
 * - identical signals: envelope correlation 1, LSD 0 dB;
 * - Opus 24 kbit/s: envelope correlation 0.981, LSD 6.0 dB;
 * - Opus with 10% loss + PLC: 0.907, 8.2 dB; with RED distance 1: 0.954, 6.8 dB;
 * - two different sentences: envelope correlation -0.04, LSD 22 dB.
 * The exact thresholds asserted are in the tests' names.
 * @module
 */

/** Result of {@link compareAudio}. */
export interface Similarity {
  /** Samples the degraded signal lags the reference by (positive: degraded is late). */
  lagSamples: number;
  /** Peak normalised cross-correlation at that lag (-1..1). */
  xcorr: number;
  /** Pearson correlation of the dB envelopes (-1..1, 1 = same). */
  envelopeCorrelation: number;
  /** Mean log-spectral distance in dB (0 = same). */
  logSpectralDistanceDb: number;
  /** Signal-to-noise ratio of the aligned waveforms in dB. */
  snrDb: number;
}

/** Options for {@link compareAudio}. */
export interface SimilarityOptions {
  sampleRate: number;
  /** Largest delay searched, ms; default 200. */
  maxLagMs?: number;
  /** Upper frequency for the LSD, Hz; default min(8000, Nyquist). */
  maxHz?: number;
}

/** In-place iterative radix-2 complex FFT (n a power of two). */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (n & (n - 1)) throw new RangeError(`fft size ${n} is not a power of two`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let j = 0; j < len / 2; j++) {
        const a = i + j;
        const b = a + len / 2;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
  if (inverse) for (let i = 0; i < n; i++) (re[i] = re[i]! / n), (im[i] = im[i]! / n);
}

function toFloat(x: Float32Array | Int16Array): Float32Array {
  if (x instanceof Float32Array) return x;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! / 32768;
  return out;
}

/** Lag (in samples, within +-maxLag) maximising the cross-correlation of b against a, and its normalised value. */
export function bestLag(a: Float32Array, b: Float32Array, maxLag: number): { lag: number; xcorr: number } {
  let n = 1;
  while (n < a.length + b.length) n <<= 1;
  const ar = new Float64Array(n);
  const ai = new Float64Array(n);
  const br = new Float64Array(n);
  const bi = new Float64Array(n);
  ar.set(a);
  br.set(b);
  fft(ar, ai);
  fft(br, bi);
  // corr[k] = sum_t a[t] b[t + k]  ->  IFFT(conj(A) * B)
  for (let i = 0; i < n; i++) {
    const r = ar[i]! * br[i]! + ai[i]! * bi[i]!;
    const im = ar[i]! * bi[i]! - ai[i]! * br[i]!;
    ar[i] = r;
    ai[i] = im;
  }
  fft(ar, ai, true);
  let best = 0;
  let bestV = -Infinity;
  for (let k = -maxLag; k <= maxLag; k++) {
    const v = ar[(k + n) % n]!;
    if (v > bestV) {
      bestV = v;
      best = k;
    }
  }
  let ea = 0;
  let eb = 0;
  for (const v of a) ea += v * v;
  for (const v of b) eb += v * v;
  return { lag: best, xcorr: ea > 0 && eb > 0 ? bestV / Math.sqrt(ea * eb) : 0 };
}

function pearson(x: number[], y: number[]): number {
  const n = Math.min(x.length, y.length);
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) (mx += x[i]!), (my += y[i]!);
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : sxx === syy ? 1 : 0;
}

/** Compare a degraded signal with its reference (same sample rate, mono). */
export function compareAudio(reference: Float32Array | Int16Array, degraded: Float32Array | Int16Array, options: SimilarityOptions): Similarity {
  const rate = options.sampleRate;
  const ref = toFloat(reference);
  const deg = toFloat(degraded);
  const maxLag = Math.round(((options.maxLagMs ?? 200) * rate) / 1000);
  const { lag, xcorr } = bestLag(ref, deg, maxLag);
  // Aligned views: ref[t] pairs with deg[t + lag].
  const start = Math.max(0, -lag);
  const len = Math.max(0, Math.min(ref.length, deg.length - lag) - start);
  const r = ref.subarray(start, start + len);
  const d = deg.subarray(start + lag, start + lag + len);

  // Envelopes over 10 ms.
  const hop = Math.max(1, Math.round(rate / 100));
  const er: number[] = [];
  const ed: number[] = [];
  for (let i = 0; i + hop <= len; i += hop) {
    let sr = 0;
    let sd = 0;
    for (let j = i; j < i + hop; j++) (sr += r[j]! * r[j]!), (sd += d[j]! * d[j]!);
    er.push(10 * Math.log10(sr / hop + 1e-20));
    ed.push(10 * Math.log10(sd / hop + 1e-20));
  }
  const floorR = Math.max(...er, -200) - 60;
  const floorD = Math.max(...ed, -200) - 60;
  const envelopeCorrelation = pearson(
    er.map((v) => Math.max(v, floorR)),
    ed.map((v) => Math.max(v, floorD)),
  );

  // Log-spectral distance.
  let size = 1;
  while (size < rate * 0.021) size <<= 1;
  const win = new Float64Array(size);
  for (let i = 0; i < size; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size);
  const maxHz = Math.min(options.maxHz ?? 8000, rate / 2);
  const k0 = Math.max(1, Math.floor((100 * size) / rate));
  const k1 = Math.min(size / 2, Math.floor((maxHz * size) / rate));
  const frames: { energy: number; lsd: number }[] = [];
  const re1 = new Float64Array(size);
  const im1 = new Float64Array(size);
  const re2 = new Float64Array(size);
  const im2 = new Float64Array(size);
  for (let i = 0; i + size <= len; i += size / 2) {
    let energy = 0;
    for (let j = 0; j < size; j++) {
      re1[j] = r[i + j]! * win[j]!;
      re2[j] = d[i + j]! * win[j]!;
      energy += re1[j]! * re1[j]!;
    }
    im1.fill(0);
    im2.fill(0);
    fft(re1, im1);
    fft(re2, im2);
    // Floor both spectra 50 dB below the reference frame's mean bin power (= its energy, by
    // Parseval) so near-empty bins, which a codec may legitimately drop, do not dominate.
    const eps = energy * 1e-5 + 1e-20;
    let acc = 0;
    for (let k = k0; k <= k1; k++) {
      const p1 = re1[k]! * re1[k]! + im1[k]! * im1[k]! + eps;
      const p2 = re2[k]! * re2[k]! + im2[k]! * im2[k]! + eps;
      const diff = 10 * Math.log10(p1 / p2);
      acc += diff * diff;
    }
    frames.push({ energy, lsd: Math.sqrt(acc / (k1 - k0 + 1)) });
  }
  const loudest = Math.max(0, ...frames.map((f) => f.energy));
  const speech = frames.filter((f) => f.energy > loudest * 1e-4);
  const logSpectralDistanceDb = speech.length ? speech.reduce((a, f) => a + f.lsd, 0) / speech.length : 0;

  let sig = 0;
  let noise = 0;
  for (let i = 0; i < len; i++) {
    sig += r[i]! * r[i]!;
    noise += (r[i]! - d[i]!) ** 2;
  }
  const snrDb = noise > 0 ? 10 * Math.log10(sig / noise) : Infinity;
  return { lagSamples: lag, xcorr, envelopeCorrelation, logSpectralDistanceDb, snrDb };
}
