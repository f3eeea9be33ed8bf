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
}

/** See module docs. */
export class AreaLoad {
  private readonly clock: Pick<Clock, 'now'>;
  private readonly maxPeers: number;
  private readonly maxAgeMs: number;
  /** Peer → its last report; Map order is the order last heard (oldest first). */
  private readonly reports = new Map<string, { loadPct: number; at: number }>();

  constructor(options: AreaLoadOptions) {
    this.clock = options.clock;
    this.maxPeers = options.maxPeers ?? 256;
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
  }

  /** Supernodes with a report kept. */
  get size(): number {
    return this.reports.size;
  }

  /** Supernode `peer` reported `loadPct` (clamped to 0-100; non-numbers ignored). */
  note(peer: string, loadPct: number): void {
    if (!Number.isFinite(loadPct)) return;
    this.reports.delete(peer);
    this.reports.set(peer, { loadPct: Math.max(0, Math.min(100, loadPct)), at: this.clock.now() });
    if (this.reports.size > this.maxPeers) this.reports.delete(this.reports.keys().next().value!);
  }

  /** Forget `peer` (it left). */
  forget(peer: string): void {
    this.reports.delete(peer);
  }

  /** The area's load in percent: the mean of the fresh reports and `ownPct`. */
  estimate(ownPct: number): number {
    const since = this.clock.now() - this.maxAgeMs;
    let sum = Math.max(0, Math.min(100, ownPct));
    let n = 1;
    for (const r of this.reports.values()) {
      if (r.at < since) continue;
      sum += r.loadPct;
      n++;
    }
    return sum / n;
  }
}
