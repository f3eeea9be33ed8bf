/**
 * Level metering for VU meters: RMS and peak in dBFS over a sliding window, with
 * attack/release ballistics.
 *
 * Convention: 0 dBFS is digital full scale, so a full-scale square wave reads 0 dBFS RMS
 * and a full-scale sine reads -3.01 dBFS RMS and 0 dBFS peak. Silence reads `floorDb`.
 * @module
 */

/** dBFS of a linear amplitude (1 = full scale), floored. */
export function toDbfs(amplitude: number, floorDb = -120): number {
  return amplitude > 0 ? Math.max(floorDb, 20 * Math.log10(amplitude)) : floorDb;
}

/** Normalise Int16 input to [-1, 1) on the fly. */
function sampleAt(x: Float32Array | Int16Array, i: number): number {
  return x instanceof Int16Array ? x[i]! / 32768 : x[i]!;
}

/** RMS level of a block in dBFS. */
export function rmsDbfs(x: Float32Array | Int16Array, floorDb = -120): number {
  if (x.length === 0) return floorDb;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const v = sampleAt(x, i);
    s += v * v;
  }
  return toDbfs(Math.sqrt(s / x.length), floorDb);
}

/** Peak level of a block in dBFS. */
export function peakDbfs(x: Float32Array | Int16Array, floorDb = -120): number {
  let p = 0;
  for (let i = 0; i < x.length; i++) p = Math.max(p, Math.abs(sampleAt(x, i)));
  return toDbfs(p, floorDb);
}

/** Options for {@link LevelMeter}. */
export interface LevelMeterOptions {
  sampleRate: number;
  /** Sliding window for RMS and peak; default 50 ms. */
  windowMs?: number;
  /** Time constant when the level rises; default 10 ms. */
  attackMs?: number;
  /** Time constant when the level falls; default 300 ms (VU-like fall-back). */
  releaseMs?: number;
  /** Level reported for silence; default -96 dBFS. */
  floorDb?: number;
}

/** One meter reading. */
export interface LevelReading {
  /** RMS over the window, dBFS. */
  rmsDb: number;
  /** Peak over the window, dBFS. */
  peakDb: number;
  /** RMS after attack/release smoothing: what a VU bar should show. */
  smoothedRmsDb: number;
  /** Peak after smoothing (instant attack, release decay): a peak marker. */
  smoothedPeakDb: number;
}

/**
 * Streaming level meter.
 *
 * ```ts
 * const meter = new LevelMeter({ sampleRate: 48000 });
 * const { smoothedRmsDb, smoothedPeakDb } = meter.process(frame); // per 20 ms frame
 * ```
 */
export class LevelMeter {
  readonly #sq: Float64Array;
  readonly #abs: Float32Array;
  #at = 0;
  #filled = 0;
  #sum = 0;
  #sinceResum = 0;
  #rms = 0;
  #peak = 0;
  readonly #rate: number;
  readonly #attack: number;
  readonly #release: number;
  readonly #floor: number;

  constructor(o: LevelMeterOptions) {
    if (!(o.sampleRate > 0 && o.sampleRate <= 768000)) throw new RangeError(`sampleRate must be in (0, 768000], got ${o.sampleRate}`);
    const windowMs = o.windowMs ?? 50;
    if (!(windowMs > 0 && windowMs <= 10000)) throw new RangeError(`windowMs must be in (0, 10000], got ${windowMs}`);
    const n = Math.max(1, Math.round((o.sampleRate * windowMs) / 1000));
    this.#sq = new Float64Array(n);
    this.#abs = new Float32Array(n);
    this.#rate = o.sampleRate;
    this.#attack = Math.max(1e-3, o.attackMs ?? 10) / 1000;
    this.#release = Math.max(1e-3, o.releaseMs ?? 300) / 1000;
    this.#floor = o.floorDb ?? -96;
  }

  /** Feed a block (Float32 in [-1, 1] or Int16) and get the reading at its end. */
  process(x: Float32Array | Int16Array): LevelReading {
    const n = this.#sq.length;
    for (let i = 0; i < x.length; i++) {
      const v = sampleAt(x, i);
      const q = v * v;
      this.#sum += q - this.#sq[this.#at]!;
      this.#sq[this.#at] = q;
      this.#abs[this.#at] = Math.abs(v);
      this.#at = (this.#at + 1) % n;
      if (this.#filled < n) this.#filled++;
    }
    // The running sum drifts by rounding; recompute it now and then.
    this.#sinceResum += x.length;
    if (this.#sinceResum >= 16 * n) {
      this.#sinceResum = 0;
      this.#sum = this.#sq.reduce((a, b) => a + b, 0);
    }
    const rms = this.#filled ? Math.sqrt(Math.max(0, this.#sum) / this.#filled) : 0;
    let peak = 0;
    for (let i = 0; i < this.#filled; i++) peak = Math.max(peak, this.#abs[i]!);
    const dt = x.length / this.#rate;
    const aA = 1 - Math.exp(-dt / this.#attack);
    const aR = 1 - Math.exp(-dt / this.#release);
    this.#rms += (rms - this.#rms) * (rms > this.#rms ? aA : aR);
    this.#peak = peak > this.#peak ? peak : this.#peak + (peak - this.#peak) * aR;
    return this.#reading(rms, peak);
  }

  #reading(rms: number, peak: number): LevelReading {
    const f = this.#floor;
    return { rmsDb: toDbfs(rms, f), peakDb: toDbfs(peak, f), smoothedRmsDb: toDbfs(this.#rms, f), smoothedPeakDb: toDbfs(this.#peak, f) };
  }

  /** Return to silence. */
  reset(): void {
    this.#sq.fill(0);
    this.#abs.fill(0);
    this.#at = this.#filled = this.#sum = this.#rms = this.#peak = 0;
  }
}
