/**
 * Which supernodes a leaf keeps when several accept it at once: the power of choices.
 * A leaf asks {@link ATTACH_SPARE_TRIES} more supernodes than it needs in one attach
 * round, each answer reports the supernode's load, and the leaf keeps the least loaded
 * and declines (detaches from) the others. Leaves then even out the load as they come,
 * so supernodes seldom need to move them later (each move costs the leaf a new
 * attachment and, often, a new publish). The simulator's stand-in chooses with
 * {@link leastLoaded}; OverlayNode applies the same rule in its own attach round.
 *
 * @example
 * ```ts
 * const { keep, decline } = leastLoaded([{ id: 'a', load: 90 }, { id: 'b', load: 40 }], 1);
 * // keep: [b], decline: [a]
 * ```
 * @module
 */

/** Supernodes asked beyond those needed in one attach round. */
export const ATTACH_SPARE_TRIES = 2;

/**
 * Loads (percent) at or below this count as one: "not busy". A supernode reports its own
 * load, and nothing stops a liar from reporting none; were the lowest report to win
 * outright, claiming to be idle would draw every leaf that asks (a Sybil's supernodes did
 * exactly that in the simulator's flood, docs/SECURITY.md). Below the floor the answer
 * order decides (candidates are shuffled), so a liar gains nothing over an honest
 * supernode that is not busy; above it, the less loaded still wins.
 */
export const LOAD_FLOOR_PCT = 50;

/** Order for keeping offers: by load above {@link LOAD_FLOOR_PCT}, ties (all below it, too) in answer order. */
export function byLoadAboveFloor(a: { load: number }, b: { load: number }): number {
  return Math.max(a.load, LOAD_FLOOR_PCT) - Math.max(b.load, LOAD_FLOOR_PCT);
}

/** The `room` offers to keep (least loaded above {@link LOAD_FLOOR_PCT}, else in answer order), and the rest to decline. */
export function leastLoaded<T extends { load: number }>(offers: readonly T[], room: number): { keep: T[]; decline: T[] } {
  const sorted = offers.slice().sort(byLoadAboveFloor);
  const n = Math.max(0, room);
  return { keep: sorted.slice(0, n), decline: sorted.slice(n) };
}
