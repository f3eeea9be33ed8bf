/**
 * A supernode's estimate of how loaded the supernodes around it are, from the loads other
 * supernodes report in their DHT answers.
 *
 * The election needs to tell a busy area from one busy supernode. A leaf's own supernodes
 * say little about that: a seed that every newcomer tries first stays full while the
 * supernodes promoted last week sit half empty, and the seed's leaves would keep asking
 * for more supernodes. Supernodes, though, hear from many others all the time (every
 * lookup and store a supernode makes is answered by another supernode), so each answer
 * carries the answering supernode's load and each supernode keeps the latest load of the
 * last `maxPeers` supernodes it heard from. Its leaves read the estimate in attach answers
 * and keepalive echoes, and promote when the area, not their own supernode, is full.
 *
 * Where supernodes talk little (a small or young network), the reports would go stale: a
 * supernode that heard from fewer than `minFresh` supernodes in the last `refreshMs` asks
 * a few more for their load ({@link AreaLoad.toRefresh}: a DHT ping, whose answer
 * carries it). In a busy network the lookups and stores give more than enough.
 *
 * The estimate is the plain mean of the fresh reports and the own load: what matters is
 * the room left in the area, and that is what the few new, nearly empty supernodes add
 * (a trimmed mean or a median drops exactly them and stays high). Each supernode counts
 * once, so supernodes that lie shift the estimate by at most their share of the reports
 * (docs/SECURITY.md).
 *
 * @example
 * ```ts
 * const area = new AreaLoad({ clock });
 * area.note(peerIdHex, 92);             // a DHT answer said "load 92%"
 * area.estimate(ownLoadPct);            // what this supernode tells its leaves
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';

/** Options for {@link AreaLoad}. */
export interface AreaLoadOptions {
  clock: Pick<Clock, 'now'>;
  /** Distinct supernodes remembered (default 256; the least recently heard is forgotten). */
  maxPeers?: number;
  /** Reports older than this are ignored (default 10 min: fewer reports are noisier, and noise promotes). */
  maxAgeMs?: number;
  /** Reports this recent are fresh (default 2 min)... */
  refreshMs?: number;
  /** ...and with fewer fresh ones than this, {@link AreaLoad.toRefresh} names peers to ask (default 16). */
  minFresh?: number;
}

/** See module docs. */
export class AreaLoad {
  private readonly clock: Pick<Clock, 'now'>;
  private readonly maxPeers: number;
  private readonly maxAgeMs: number;
  private readonly refreshMs: number;
  private readonly minFresh: number;
  /** Peer → its last report; Map order is the order last heard, so the oldest come first. */
  private readonly reports = new Map<string, { loadPct: number; at: number }>();
  /** Sum of the loads in `reports` (the estimate is read on every echo: no scan). */
  private sum = 0;
  /** `reports.size`, kept here: the estimate then reads this object only (a map's size lives in its table, one more fetch per echo). */
  private count = 0;
  /** While there are reports, none expires before this (the oldest one's expiry when last looked; a lower bound since). */
  private nextExpiry = 0;

  constructor(options: AreaLoadOptions) {
    this.clock = options.clock;
    this.maxPeers = options.maxPeers ?? 256;
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.refreshMs = options.refreshMs ?? 2 * 60_000;
    this.minFresh = options.minFresh ?? 16;
  }

  /** Supernodes with a fresh report kept. */
  get size(): number {
    this.expire();
    return this.reports.size;
  }

  /** Supernode `peer` reported `loadPct` (clamped to 0-100; non-numbers ignored). */
  note(peer: string, loadPct: number): void {
    if (!Number.isFinite(loadPct)) return;
    this.forget(peer);
    const load = Math.max(0, Math.min(100, loadPct));
    const now = this.clock.now();
    this.reports.set(peer, { loadPct: load, at: now });
    this.count = this.reports.size;
    if (this.count === 1) this.nextExpiry = now + this.maxAgeMs;
    this.sum += load;
    if (this.reports.size > this.maxPeers) this.forget(this.reports.keys().next().value!);
  }

  /** Forget `peer` (it left). */
  forget(peer: string): void {
    const r = this.reports.get(peer);
    if (!r) return;
    this.reports.delete(peer);
    this.count = this.reports.size;
    this.sum = this.count === 0 ? 0 : this.sum - r.loadPct;
  }

  /** The area's load in percent: the mean of the fresh reports and `ownPct`. */
  estimate(ownPct: number): number {
    this.expire();
    return (this.sum + Math.max(0, Math.min(100, ownPct))) / (this.count + 1);
  }

  /**
   * Up to `n` of `candidates` (e.g. routing-table contacts, named by `idOf`) to ask for
   * their load now: those not heard from in `refreshMs`, and none while at least
   * `minFresh` supernodes were.
   */
  toRefresh<T>(candidates: Iterable<T>, idOf: (c: T) => string, n = 4): T[] {
    const since = this.clock.now() - this.refreshMs;
    let fresh = 0;
    // Newest last: count from the end until the reports get old.
    const all = [...this.reports.values()];
    for (let i = all.length - 1; i >= 0 && all[i]!.at >= since; i--) fresh++;
    if (fresh >= this.minFresh) return [];
    const out: T[] = [];
    for (const c of candidates) {
      if (out.length >= n) break;
      const r = this.reports.get(idOf(c));
      if (!r || r.at < since) out.push(c);
    }
    return out;
  }

  /** Drop reports older than `maxAgeMs` (they are first in the map). */
  private expire(): void {
    // Read on every echo: most calls end here. (`nextExpiry` counts only while there are
    // reports; it never holds Infinity, so that a clock of small integers keeps it unboxed.)
    if (this.count === 0) return;
    const now = this.clock.now();
    if (now <= this.nextExpiry) return;
    const since = now - this.maxAgeMs;
    this.nextExpiry = 0;
    for (const [peer, r] of this.reports) {
      if (r.at >= since) {
        this.nextExpiry = r.at + this.maxAgeMs;
        break;
      }
      this.reports.delete(peer);
      this.sum -= r.loadPct;
    }
    this.count = this.reports.size;
    if (this.count === 0) this.sum = 0; // no float drift across empty spells
  }
}
