/**
 * Where a user's signals go: the supernodes named in their presence records, kept for a
 * short while so that every signal of a call (offer, ringing, answer, hangup, ...) does
 * not look the recipient up in the DHT again. Bounded (oldest entry evicted) and
 * time-limited; an entry is dropped when a send through it fails, so the next send
 * looks again.
 *
 * @example
 * ```ts
 * const routes = new RouteCache({ clock }, { ttlMs: 60_000, maxEntries: 256 });
 * routes.remember(records);
 * routes.get(userKey); // the supernode refs, or undefined
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import type { PresenceRecord } from './presence-record.ts';

/** A supernode a user is attached to, as their record names it. */
export type RouteRef = PresenceRecord['supernodes'][number];

/** Options of {@link RouteCache}. */
export interface RouteCacheInit {
  /** How long a route is used without a fresh look, ms. */
  ttlMs: number;
  /** Most users kept. */
  maxEntries: number;
}

/** See module docs. */
export class RouteCache {
  private readonly entries = new Map<string, { refs: RouteRef[]; records: PresenceRecord[]; at: number }>();

  constructor(
    private readonly c: { clock: Clock },
    private readonly o: RouteCacheInit,
  ) {}

  /** Remember the routes of the users these (verified) records belong to. */
  remember(records: readonly PresenceRecord[]): void {
    const byKey = new Map<string, PresenceRecord[]>();
    for (const r of records) byKey.set(r.publicKey, [...(byKey.get(r.publicKey) ?? []), r]);
    const now = this.c.clock.now();
    for (const [key, recs] of byKey) {
      const refs: RouteRef[] = [];
      const ids = new Set<string>();
      for (const r of recs) {
        if (r.expiresAt <= now) continue;
        for (const s of r.supernodes) {
          if (!ids.has(s.id)) {
            ids.add(s.id);
            refs.push(s);
          }
        }
      }
      if (refs.length === 0) continue;
      this.entries.delete(key);
      this.entries.set(key, { refs, records: recs, at: now });
      while (this.entries.size > this.o.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
  }

  /** The records last seen for `userKey`, while fresh. */
  records(userKey: string): PresenceRecord[] | undefined {
    const e = this.entries.get(userKey);
    if (!e) return undefined;
    if (this.c.clock.now() - e.at > this.o.ttlMs) {
      this.entries.delete(userKey);
      return undefined;
    }
    return e.records;
  }

  /** Forget `userKey` (a send through its routes failed). */
  forget(userKey: string): void {
    this.entries.delete(userKey);
  }

  /** Users remembered. */
  get size(): number {
    return this.entries.size;
  }
}
