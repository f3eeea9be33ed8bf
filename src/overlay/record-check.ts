/**
 * Record checks: a leaf's defence against supernodes that take its presence record and
 * drop it, or drop its lookups (docs/SECURITY.md, "Supernodes that drop records").
 *
 * A leaf asks its supernodes in turn to look up a name. When none finds it, the leaf asks
 * each of those that answered empty, and that it has not verified yet, to look up the
 * leaf's own name. One that finds the leaf's record as last published (signed by the
 * leaf, that seq or newer) is verified for as long as the leaf stays attached to it and
 * is not asked again. One that answers without it is not serving the leaf: the leaf
 * detaches and holds it out of its candidates for {@link DISTRUST_MS}, and asks the
 * replacement. One that does not answer is left to liveness.ts. A record published less
 * than {@link RECORD_CHECK_DELAY_MS} ago gives no verdict (its stores may still be landing).
 *
 * A leaf whose three supernodes were all attackers could find nobody; the check moves it
 * to others. It costs nothing while lookups succeed, and one lookup per unverified
 * supernode on a miss.
 * @module
 */
import type { PresenceRecord } from './presence-record.ts';

/** A record younger than this gives no verdict: long enough for the supernodes' DHT stores to land. */
export const RECORD_CHECK_DELAY_MS = 5_000;
/** How long a supernode that failed a record check stays out of a leaf's candidates. */
export const DISTRUST_MS = 3_600_000;
/** Most supernodes a leaf holds out at once (the oldest hold goes first). */
export const MAX_DISTRUSTED = 64;

/** Whether a record published at `publishedAt` is old enough at `now` for a check to judge by ({@link RECORD_CHECK_DELAY_MS}). */
export function oldEnoughToCheck(publishedAt: number, now: number): boolean {
  return now - publishedAt >= RECORD_CHECK_DELAY_MS;
}

/**
 * Whether a lookup's answer holds the record of publisher `nodeId` (hex) at `seq` or
 * newer. The caller has verified the records' signatures.
 *
 * @example
 * ```ts
 * if (!holdsOwnRecord(answer.records, myNodeId, published.seq)) discredit(supernode);
 * ```
 */
export function holdsOwnRecord(records: readonly PresenceRecord[], nodeId: string, seq: number): boolean {
  return records.some((r) => r.nodeId === nodeId && r.seq >= seq);
}

/**
 * Keys held out of use until a time each, at most `limit` at once (adding one more drops
 * the hold that ends first).
 *
 * @example
 * ```ts
 * const distrusted = new HoldList<string>(MAX_DISTRUSTED);
 * distrusted.hold(supernodeId, clock.now() + DISTRUST_MS);
 * candidates.filter((c) => !distrusted.isHeld(c.id, clock.now()));
 * ```
 */
export class HoldList<K> {
  private readonly until = new Map<K, number>();

  constructor(private readonly limit: number) {}

  /** Hold `key` out until clock time `untilMs` (a later time extends a hold, an earlier one does not shorten it). */
  hold(key: K, untilMs: number): void {
    const was = this.until.get(key);
    if (was !== undefined) {
      if (untilMs > was) this.until.set(key, untilMs);
      return;
    }
    if (this.until.size >= this.limit) {
      let first: K | undefined;
      let firstAt = Infinity;
      for (const [k, at] of this.until) {
        if (at < firstAt) {
          first = k;
          firstAt = at;
        }
      }
      this.until.delete(first!);
    }
    this.until.set(key, untilMs);
  }

  /** Whether `key` is held at clock time `now` (a hold that ended is forgotten). */
  isHeld(key: K, now: number): boolean {
    const at = this.until.get(key);
    if (at === undefined) return false;
    if (at > now) return true;
    this.until.delete(key);
    return false;
  }

  /** Holds kept (some may have ended and not been asked about since). */
  get size(): number {
    return this.until.size;
  }
}
