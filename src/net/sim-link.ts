/**
 * Link properties of the simulated network and how one-way delay is drawn from them.
 *
 * @module
 */
import type { Random } from '../random.ts';

/**
 * Properties of a one-way path or path segment.
 *
 * Delay model: `latencyMs` is the propagation floor; `jitterMs` is the mean of an
 * exponentially distributed queueing delay added to it (capped at 20 x the mean), so a
 * datagram is never faster than `latencyMs`, most arrive close to it, and a tail arrives
 * later: reordering follows naturally. `loss` is the independent probability in [0, 1]
 * that a datagram is lost on this segment.
 */
export interface LinkProfile {
  latencyMs: number;
  jitterMs: number;
  loss: number;
}

/** Largest exponential sample used for jitter, in units of the mean. */
const JITTER_CAP = 20;

/** Validate a (partial) profile; throws a RangeError naming the bad field. */
export function checkLinkProfile(p: Partial<LinkProfile>, what: string): void {
  if (p.latencyMs !== undefined && !(p.latencyMs >= 0 && Number.isFinite(p.latencyMs))) {
    throw new RangeError(`${what}: latencyMs must be a finite number >= 0, got ${p.latencyMs}`);
  }
  if (p.jitterMs !== undefined && !(p.jitterMs >= 0 && Number.isFinite(p.jitterMs))) {
    throw new RangeError(`${what}: jitterMs must be a finite number >= 0, got ${p.jitterMs}`);
  }
  if (p.loss !== undefined && !(p.loss >= 0 && p.loss <= 1)) {
    throw new RangeError(`${what}: loss must be in [0, 1], got ${p.loss}`);
  }
}

/** Validate a bandwidth in kbit/s (`Infinity` or undefined means unlimited). */
export function checkKbps(v: number | undefined, what: string): void {
  if (v !== undefined && !(v > 0)) throw new RangeError(`${what} must be > 0 kbit/s (or Infinity), got ${v}`);
}

/**
 * Draw one delay: `latencyMs + jitterMs * Exp(1)` (capped). Consumes one random float
 * only when `jitterMs > 0`.
 */
export function sampleDelay(random: Random, latencyMs: number, jitterMs: number): number {
  if (jitterMs <= 0) return latencyMs;
  const e = -Math.log(1 - random.float());
  return latencyMs + jitterMs * (e < JITTER_CAP ? e : JITTER_CAP);
}
