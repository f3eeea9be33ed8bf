/**
 * Similarity of a call recording to what was played in, tolerant of the jitter buffer's
 * time stretching: a live playout merges frames (accelerate) and inserts concealment
 * (expand), so the recording drifts against the reference by tens of ms per second and
 * one global alignment (codecs/similarity.ts `compareAudio`) under-rates it. Here the
 * recording is cut into `chunkMs` (300 ms) pieces; each is aligned on its own within `searchMs`
 * of the previous piece's offset (or, when it matches poorly, re-acquired within
 * `initialSearchMs`) and compared with compareAudio. Pieces where the
 * reference is near silent are skipped. The result is the median envelope correlation
 * and the mean log-spectral distance over the pieces.
 */
import { compareAudio } from '../../codecs/similarity.ts';

/** Result of {@link warpedSimilarity}. */
export interface WarpedSimilarity {
  /** Median over the pieces (a piece holding a merge or a concealment scores lower). */
  envelopeCorrelation: number;
  /** Mean over the pieces. */
  meanEnvelopeCorrelation: number;
  logSpectralDistanceDb: number;
  /** Pieces compared. */
  pieces: number;
  /** Offset of the recording against the reference at the first and last piece, ms. */
  firstOffsetMs: number;
  lastOffsetMs: number;
}

/** Compare `recorded` with `reference` (both 48 kHz mono Int16) piecewise. */
export function warpedSimilarity(reference: Int16Array, recorded: Int16Array, options: { chunkMs?: number; searchMs?: number; initialSearchMs?: number } = {}): WarpedSimilarity {
  const rate = 48000;
  const L = Math.round(((options.chunkMs ?? 300) * rate) / 1000);
  const W = Math.round(((options.searchMs ?? 120) * rate) / 1000);
  // Re-acquisition window when a piece matches poorly.
  const R = Math.round(((options.initialSearchMs ?? 1500) * rate) / 1000);
  // Initial offset (recording index - reference index) from a coarse global alignment.
  const head = compareAudio(reference, recorded.subarray(0, Math.min(recorded.length, 3 * rate)), { sampleRate: rate, maxLagMs: options.initialSearchMs ?? 1500 });
  let offset = head.lagSamples;
  const first = offset;
  let peak = 0;
  for (let i = 0; i < reference.length; i++) peak = Math.max(peak, Math.abs(reference[i]!));
  const envs: number[] = [];
  let lsd = 0;
  let pieces = 0;
  for (let i = Math.max(0, offset); i + L <= recorded.length; i += L) {
    const s0 = i - offset - W;
    if (s0 < 0 || s0 + L + 2 * W > reference.length) continue;
    const r = reference.subarray(s0, s0 + L + 2 * W);
    let rms = 0;
    for (let k = W; k < W + L; k++) rms += r[k]! * r[k]!;
    rms = Math.sqrt(rms / L);
    const d = recorded.subarray(i, i + L);
    // r[t] pairs with d[t + lag]: reference index s0 + t <-> recording index i + t + lag.
    let sim = compareAudio(r, d, { sampleRate: rate, maxLagMs: (2 * W * 1000) / rate });
    offset = i + sim.lagSamples - s0;
    if (sim.envelopeCorrelation < 0.6) {
      // Lost track (the playout jumped, e.g. a jitter-buffer reset): search widely again.
      const s1 = Math.max(0, i - offset - R);
      const wide = reference.subarray(s1, Math.min(reference.length, s1 + L + 2 * R));
      if (wide.length > L) {
        const again = compareAudio(wide, d, { sampleRate: rate, maxLagMs: (2 * R * 1000) / rate });
        if (again.envelopeCorrelation > sim.envelopeCorrelation) {
          sim = again;
          offset = i + again.lagSamples - s1;
        }
      }
    }
    if (rms < peak * 0.05) continue;
    envs.push(sim.envelopeCorrelation);
    lsd += sim.logSpectralDistanceDb;
    pieces++;
  }
  return {
    envelopeCorrelation: pieces ? envs.sort((a, b) => a - b)[Math.floor(pieces / 2)]! : 0,
    meanEnvelopeCorrelation: pieces ? envs.reduce((a, b) => a + b, 0) / pieces : 0,
    logSpectralDistanceDb: pieces ? lsd / pieces : Infinity,
    pieces,
    firstOffsetMs: (first * 1000) / rate,
    lastOffsetMs: (offset * 1000) / rate,
  };
}
