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

/** The `room` least loaded offers to keep, and the rest to decline (ties keep answer order). */
export function leastLoaded<T extends { load: number }>(offers: readonly T[], room: number): { keep: T[]; decline: T[] } {
  const sorted = offers.slice().sort((a, b) => a.load - b.load);
  const n = Math.max(0, room);
  return { keep: sorted.slice(0, n), decline: sorted.slice(n) };
}
