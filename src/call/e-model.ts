/**
 * Call quality estimate from network figures: a simplified ITU-T G.107 E-model giving the
 * transmission rating R and the matching MOS (1..4.5), as shown in call stats.
 *
 * Simplifications (documented because the figure is an estimate, not a measurement):
 * default values for everything but delay and loss (so R starts at 93.2); delay
 * impairment Id from the one-way mouth-to-ear delay with the usual two-segment fit;
 * equipment impairment Ie and packet-loss robustness Bpl per codec (Opus values from
 * published fits for wideband Opus at ~24 kbit/s mapped onto the narrowband scale).
 *
 * @example
 * ```ts
 * const q = estimateQuality({ rttMs: 80, jitterBufferMs: 40, lossPct: 1, codec: 'opus' });
 * q.mos; // about 4.3
 * ```
 * @module
 */

/** Codec parameters for the E-model. */
export interface CodecImpairment {
  /** Equipment impairment factor Ie. */
  ie: number;
  /** Packet-loss robustness factor Bpl (higher = more robust). */
  bpl: number;
  /** Algorithmic delay: frame + look-ahead, ms. */
  delayMs: number;
}

/** Known codecs. Opus with in-band FEC is more robust to loss than without. */
export const CODEC_IMPAIRMENTS: Record<'opus' | 'opus-fec' | 'pcmu' | 'pcma', CodecImpairment> = {
  opus: { ie: 5, bpl: 10, delayMs: 26.5 },
  'opus-fec': { ie: 5, bpl: 20, delayMs: 26.5 },
  pcmu: { ie: 0, bpl: 4.3, delayMs: 20 },
  pcma: { ie: 0, bpl: 4.3, delayMs: 20 },
};

/** Inputs to {@link estimateQuality}. */
export interface QualityInput {
  /** Round-trip time of the media path, ms. */
  rttMs: number;
  /** Playout delay added by the receiver's jitter buffer, ms. */
  jitterBufferMs: number;
  /** Packet loss after recovery (FEC/RED), percent 0..100. */
  lossPct: number;
  codec: keyof typeof CODEC_IMPAIRMENTS;
  /** Burst ratio (1 = random loss, >1 bursty). Default 1. */
  burstRatio?: number;
}

/** Result of {@link estimateQuality}. */
export interface QualityEstimate {
  /** Transmission rating R, 0..100. */
  r: number;
  /** Mean opinion score, 1..4.5. */
  mos: number;
  /** One-way mouth-to-ear delay used, ms. */
  delayMs: number;
}

/** Estimate R and MOS with the E-model. Inputs are clamped to sane ranges. */
export function estimateQuality(input: QualityInput): QualityEstimate {
  const codec = CODEC_IMPAIRMENTS[input.codec];
  const rtt = clamp(input.rttMs, 0, 10_000);
  const jb = clamp(input.jitterBufferMs, 0, 10_000);
  const ppl = clamp(input.lossPct, 0, 100);
  const burst = clamp(input.burstRatio ?? 1, 1, 100);
  const d = rtt / 2 + jb + codec.delayMs;
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ieEff = codec.ie + (95 - codec.ie) * (ppl / (ppl / burst + codec.bpl));
  const r = clamp(93.2 - id - ieEff, 0, 100);
  return { r, mos: rToMos(r), delayMs: d };
}

/** G.107 mapping from R to MOS. */
export function rToMos(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return clamp(1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r), 1, 4.5);
}

function clamp(x: number, lo: number, hi: number): number {
  return Number.isFinite(x) ? Math.min(hi, Math.max(lo, x)) : hi;
}
