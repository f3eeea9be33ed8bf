/**
 * A bounded set of recently seen message IDs with time-based expiry, for duplicate
 * suppression in flooding (Gnutella's "drop a query whose ID you have seen"). Each ID
 * can carry a small value (e.g. the peer a query came from, for routing hits back).
 *
 * Entries live `ttlMs` on the injected clock; when `maxEntries` is reached the oldest
 * entry is dropped first, so memory is bounded even under a flood of fresh IDs.
 *
 * @example
 * ```ts
 * const seen = new SeenSet<string>({ clock, ttlMs: 60_000, maxEntries: 10_000 });
 * if (!seen.add(msgId, fromPeer)) return; // duplicate: drop
 * seen.get(msgId);                        // fromPeer, while it has not expired
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';

/** Options for {@link SeenSet}. */
export interface SeenSetOptions {
  clock: Pick<Clock, 'now'>;
  /** How long an ID is remembered. */
  ttlMs: number;
  /** Most IDs remembered at once. */
  maxEntries: number;
}

/** See module docs. */
export class SeenSet<V = true> {
  // Insertion order equals time order (the clock never goes back), so expiry and
  // eviction both take from the front of the Map.
  private readonly items = new Map<string, { at: number; value: V }>();
  private readonly clock: Pick<Clock, 'now'>;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  /** IDs dropped because the set was full before they expired. */
  evicted = 0;

  constructor(options: SeenSetOptions) {
    if (!(options.ttlMs > 0) || !(options.maxEntries >= 1)) throw new RangeError('ttlMs must be > 0 and maxEntries >= 1');
    this.clock = options.clock;
    this.ttlMs = options.ttlMs;
    this.maxEntries = Math.floor(options.maxEntries);
  }

  /** Number of live entries (after expiring old ones). */
  get size(): number {
    this.expire();
    return this.items.size;
  }

  /** Remember `id`; returns false if it was already present (a duplicate). */
  add(id: string, value?: V): boolean {
    this.expire();
    if (this.items.has(id)) return false;
    this.items.set(id, { at: this.clock.now(), value: (value ?? true) as V });
    while (this.items.size > this.maxEntries) {
      this.items.delete(this.items.keys().next().value!);
      this.evicted++;
    }
    return true;
  }

  /** True if `id` was seen and has not expired. */
  has(id: string): boolean {
    this.expire();
    return this.items.has(id);
  }

  /** The value stored with `id`, if still remembered. */
  get(id: string): V | undefined {
    this.expire();
    return this.items.get(id)?.value;
  }

  private expire(): void {
    const cutoff = this.clock.now() - this.ttlMs;
    for (const [id, e] of this.items) {
      if (e.at > cutoff) break;
      this.items.delete(id);
    }
  }
}
