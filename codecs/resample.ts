/**
 * Band-limited sample-rate conversion: a polyphase windowed-sinc (Kaiser) resampler for
 * any rational ratio between common rates (8, 16, 22.05, 24, 32, 44.1, 48 kHz ...),
 * streaming: state carries across chunks, so feeding a signal in pieces gives exactly
 * the same output as feeding it at once.
 *
 * Design: the low-pass runs at the least common rate L*from; its pass band ends at 88% of
 * the lower Nyquist frequency and its stop band (>= 80 dB down by design) starts at that
 * Nyquist frequency, so content above the target Nyquist does not alias. The filter's
 * delay is compensated: output sample n is the signal at time n/to, and after
 * {@link Resampler.flush} the output holds ceil(inputSamples * to / from) samples.
 * @module
 */

/** Error for unsupported rates. */
export class ResampleError extends RangeError {
  override name = 'ResampleError';
}

/** Design parameters of a resampler, exposed for tests and docs. */
export interface ResamplerDesign {
  /** Upsampling factor L and downsampling factor M (from * L / M = to). */
  up: number;
  down: number;
  /** Taps per polyphase branch. */
  tapsPerPhase: number;
  /** Pass-band edge and stop-band start in Hz. */
  passHz: number;
  stopHz: number;
  /** Stop-band attenuation the Kaiser design targets, dB. */
  attenuationDb: number;
}

const MAX_TABLE = 1 << 21;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

interface Filter {
  design: ResamplerDesign;
  /** coef[p * K + K - 1 - k] = h[p + k * L]: reversed so the inner loop walks both arrays forwards. */
  coef: Float64Array;
  /** Filter centre in upsampled units. */
  centre: number;
}

const cache = new Map<string, Filter>();

function designFilter(from: number, to: number, attenuationDb: number): Filter {
  const key = `${from}:${to}:${attenuationDb}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const g = gcd(from, to);
  const L = to / g;
  const M = from / g;
  const nyq = Math.min(from, to) / 2;
  const passHz = 0.88 * nyq;
  const stopHz = nyq;
  const fu = from * L;
  const dw = (2 * Math.PI * (stopHz - passHz)) / fu;
  const n = Math.ceil((attenuationDb - 7.95) / (2.285 * dw)) + 1;
  const K = Math.max(2, Math.ceil(n / L));
  if (L > 4096 || L * K > MAX_TABLE) throw new ResampleError(`resampling ${from} -> ${to} Hz needs too large a filter (L=${L}, ${L * K} taps)`);
  const N = L * K;
  const centre = Math.floor((N - 1) / 2);
  const fc = (passHz + stopHz) / 2 / fu; // cycles per upsampled sample
  const beta = attenuationDb > 50 ? 0.1102 * (attenuationDb - 8.7) : 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  const i0b = besselI0(beta);
  const h = new Float64Array(N);
  let sum = 0;
  for (let t = 0; t < N; t++) {
    const x = t - centre;
    const r = x / (centre + 1);
    const w = Math.abs(r) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - r * r)) / i0b;
    const s = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    h[t] = s * w;
    sum += h[t]!;
  }
  const coef = new Float64Array(N);
  const gain = L / sum;
  for (let p = 0; p < L; p++) for (let k = 0; k < K; k++) coef[p * K + K - 1 - k] = h[p + k * L]! * gain;
  const f: Filter = { design: { up: L, down: M, tapsPerPhase: K, passHz, stopHz, attenuationDb }, coef, centre };
  if (cache.size > 32) cache.clear();
  cache.set(key, f);
  return f;
}

/** Options for {@link Resampler}. */
export interface ResamplerOptions {
  /** Input rate in Hz (integer, 1000..384000). */
  from: number;
  /** Output rate in Hz (integer, 1000..384000). */
  to: number;
  /** Stop-band attenuation to design for, dB (40..120); default 80. */
  attenuationDb?: number;
}

function checkRate(name: string, r: number): void {
  if (!Number.isInteger(r) || r < 1000 || r > 384000) throw new ResampleError(`${name} rate must be an integer in 1000..384000 Hz, got ${r}`);
}

/**
 * Streaming mono resampler on Float32 samples.
 *
 * ```ts
 * const rs = new Resampler({ from: 44100, to: 48000 });
 * const a = rs.process(chunk1); const b = rs.process(chunk2); const tail = rs.flush();
 * ```
 */
export class Resampler {
  readonly from: number;
  readonly to: number;
  readonly design: ResamplerDesign;
  readonly #f: Filter;
  /** Last K-1 inputs (oldest first), then nothing: history for the next chunk. */
  #hist: Float64Array;
  /** Upsampled-time position of the next output, relative to the first sample in #hist + K-1. */
  #pos: number;
  #inCount = 0;
  #outCount = 0;

  constructor(options: ResamplerOptions) {
    checkRate('input', options.from);
    checkRate('output', options.to);
    const att = options.attenuationDb ?? 80;
    if (!(att >= 40 && att <= 120)) throw new ResampleError(`attenuationDb must be in 40..120, got ${att}`);
    this.from = options.from;
    this.to = options.to;
    this.#f = designFilter(options.from, options.to, att);
    this.design = this.#f.design;
    this.#hist = new Float64Array(this.design.tapsPerPhase - 1);
    this.#pos = this.#f.centre;
  }

  /** Resample the next chunk; returns the output samples that are now complete. */
  process(input: Float32Array): Float32Array {
    this.#inCount += input.length;
    return this.#run(input);
  }

  #run(input: Float32Array): Float32Array {
    const { coef, design } = this.#f;
    const K = design.tapsPerPhase;
    const L = design.up;
    const M = design.down;
    const hl = this.#hist.length; // K - 1
    const buf = new Float64Array(hl + input.length);
    buf.set(this.#hist);
    buf.set(input, hl);
    // Input index j (0-based in this chunk's stream) lives at buf[hl + j]; history covers j = -(K-1)..-1.
    const avail = input.length; // inputs 0..avail-1 are present
    let pos = this.#pos;
    const count = avail > 0 ? Math.max(0, Math.floor((avail * L - 1 - pos) / M) + 1) : 0;
    const out = new Float32Array(count);
    for (let n = 0; n < count; n++) {
      const i = Math.floor(pos / L);
      const p = pos - i * L;
      const base = p * K;
      // Inputs i-K+1 .. i sit at buf[hl + i - K + 1 ..]; hl = K - 1.
      const x0 = i;
      let a0 = 0;
      let a1 = 0;
      let k = 0;
      for (; k + 1 < K; k += 2) {
        a0 += coef[base + k]! * buf[x0 + k]!;
        a1 += coef[base + k + 1]! * buf[x0 + k + 1]!;
      }
      if (k < K) a0 += coef[base + k]! * buf[x0 + k]!;
      out[n] = a0 + a1;
      pos += M;
    }
    // Keep the last K-1 inputs and move the time origin by the consumed samples.
    this.#hist = buf.slice(buf.length - hl);
    this.#pos = pos - avail * L;
    this.#outCount += count;
    return out;
  }

  /** Emit the remaining output (the filter tail) so that the total is ceil(inputs * to / from); then reset. */
  flush(): Float32Array {
    const L = this.design.up;
    const M = this.design.down;
    const want = Math.ceil((this.#inCount * L) / M) - this.#outCount;
    const parts: Float32Array[] = [];
    let have = 0;
    while (have < want) {
      const o = this.#run(new Float32Array(this.design.tapsPerPhase));
      parts.push(o);
      have += o.length;
    }
    const out = new Float32Array(Math.max(0, want));
    let at = 0;
    for (const p of parts) {
      const take = Math.min(p.length, out.length - at);
      out.set(p.subarray(0, take), at);
      at += take;
    }
    this.reset();
    return out;
  }

  /** Drop all state (start of a new stream). */
  reset(): void {
    this.#hist.fill(0);
    this.#pos = this.#f.centre;
    this.#inCount = 0;
    this.#outCount = 0;
  }
}

/** One-shot resampling of a whole mono signal (output length ceil(n * to / from)). */
export function resample(input: Float32Array, from: number, to: number, options: { attenuationDb?: number } = {}): Float32Array {
  if (from === to) return input.slice();
  const rs = new Resampler({ from, to, ...options });
  const a = rs.process(input);
  const b = rs.flush();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
