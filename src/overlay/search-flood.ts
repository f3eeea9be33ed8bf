/**
 * Partial-name search by flooding among supernodes, Gnutella 0.6 style: a query carries
 * a random message ID, a hop TTL and a hop count; each supernode answers from its own
 * leaves' records, forwards to its other neighbours while TTL remains, and drops
 * duplicates by message ID. Hits travel back along the reverse path of the query.
 *
 * Bounds against flooding and amplification:
 * - TTL is clamped so `hops + ttl <= maxTtl` whatever a peer claims;
 * - duplicate suppression in a bounded, time-expiring {@link SeenSet};
 * - a token bucket per neighbour for queries and hits ({@link RateLimiter});
 * - at most `maxFanout` neighbours per forward, `maxResults` results per query at every
 *   node on the path (so a query's total answer is bounded where it is merged);
 * - hits are accepted only from neighbours the query was sent to.
 *
 * Pure logic: the network is an injected `send`, local answers an injected `answer`.
 *
 * @example
 * ```ts
 * const search = new FloodSearch<string, Hit>({
 *   clock, random,
 *   peers: () => neighbourIds,
 *   send: (peer, msg) => rpc.sendSearch(peer, msg),
 *   answer: (text, limit) => directory.matchLeaves(text, limit),
 *   onResults: (queryId, results) => ui.show(queryId, results),
 * });
 * const id = search.search('ali');             // originate
 * search.handle(fromPeer, incomingMessage);     // on every search message from a neighbour
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import type { Random } from '../random.ts';
import { toHex } from './node-id.ts';
import { normalizeName } from './presence-record.ts';
import { RateLimiter, type RateSpec } from './rate-limit.ts';
import { SeenSet } from './seen-set.ts';

/** A flooded query. */
export interface SearchQuery {
  type: 'query';
  /** 32 lower-case hex characters (16 random bytes). */
  id: string;
  /** Normalised search text. */
  text: string;
  /** Remaining hops. */
  ttl: number;
  /** Hops travelled so far. */
  hops: number;
}

/** Results travelling back towards the query's origin. */
export interface SearchHit<R> {
  type: 'hit';
  queryId: string;
  results: R[];
}

/** A search message between neighbours. */
export type SearchMessage<R> = SearchQuery | SearchHit<R>;

/** What happened to an incoming message (for counters and tests). */
export type SearchVerdict =
  | 'answered' // query processed (answered locally and/or forwarded)
  | 'delivered' // hit reached its origin
  | 'routed' // hit forwarded towards its origin
  | 'duplicate'
  | 'rate-limited'
  | 'invalid'
  | 'unknown-query' // hit for a query we never saw (or that expired)
  | 'unexpected-peer' // hit from a neighbour the query was not sent to
  | 'result-cap'; // hit dropped: the query already has its maximum results

/** Options for {@link FloodSearch}. */
export interface FloodSearchOptions<P, R> {
  clock: Clock;
  random: Random;
  /** Current neighbour supernodes. */
  peers: () => readonly P[];
  /** Send one message to one neighbour (fire and forget). */
  send: (peer: P, message: SearchMessage<R>) => void;
  /** Local answer: up to `limit` results for normalised `text` from this node's leaves. */
  answer: (text: string, limit: number) => R[];
  /** Results for queries this node originated (local answers included). */
  onResults?: (queryId: string, results: R[]) => void;
  /** Identity of a result for de-duplication at the origin (default: JSON). */
  resultKey?: (r: R) => string;
  /** TTL given to new queries (default 3). */
  defaultTtl?: number;
  /** Largest `hops + ttl` honoured (default 4). */
  maxTtl?: number;
  /** Neighbours a query is forwarded to (default 32; random subset beyond). */
  maxFanout?: number;
  /** Results per query, per node on the path (default 50). */
  maxResults?: number;
  /** Query text length bounds after normalisation (default 2..64). */
  minTextLength?: number;
  maxTextLength?: number;
  /** How long a query ID is remembered (default 60 s). */
  seenTtlMs?: number;
  /** Query IDs remembered at once (default 10,000). */
  maxSeen?: number;
  /** Per-neighbour rate of incoming messages (default 5/s, burst 20). */
  perPeer?: RateSpec;
}

interface Route<P> {
  /** Neighbour the query came from; undefined when this node originated it. */
  from: P | undefined;
  sentTo: Set<P>;
  results: number;
  delivered: Set<string> | undefined;
}

/** See module docs. */
export class FloodSearch<P, R> {
  private readonly o: Required<Omit<FloodSearchOptions<P, R>, 'onResults' | 'perPeer'>> & Pick<FloodSearchOptions<P, R>, 'onResults'>;
  private readonly seen: SeenSet<Route<P>>;
  private readonly limiter: RateLimiter<P>;
  /** Counters by verdict, plus messages sent. */
  readonly stats: Record<SearchVerdict | 'sent', number> = {
    answered: 0, delivered: 0, routed: 0, duplicate: 0, 'rate-limited': 0, invalid: 0,
    'unknown-query': 0, 'unexpected-peer': 0, 'result-cap': 0, sent: 0,
  };

  constructor(options: FloodSearchOptions<P, R>) {
    this.o = {
      resultKey: (r: R) => JSON.stringify(r),
      defaultTtl: 3, maxTtl: 4, maxFanout: 32, maxResults: 50,
      minTextLength: 2, maxTextLength: 64, seenTtlMs: 60_000, maxSeen: 10_000,
      ...options,
    };
    this.seen = new SeenSet({ clock: options.clock, ttlMs: this.o.seenTtlMs, maxEntries: this.o.maxSeen });
    this.limiter = new RateLimiter<P>({ clock: options.clock, ...(options.perPeer ?? { ratePerSec: 5, burst: 20 }), maxKeys: 10_000 });
  }

  /**
   * Start a search for `text`; returns the query ID. Local results are reported through
   * `onResults` at once, remote ones as hits arrive. Throws on text out of bounds.
   */
  search(text: string, ttl = this.o.defaultTtl): string {
    const norm = normalizeName(text);
    if (norm.length < this.o.minTextLength || norm.length > this.o.maxTextLength) {
      throw new RangeError(`search text must be ${this.o.minTextLength}..${this.o.maxTextLength} characters`);
    }
    const id = toHex(this.o.random.bytes(16));
    const route: Route<P> = { from: undefined, sentTo: new Set(), results: 0, delivered: new Set() };
    this.seen.add(id, route);
    this.deliver(id, route, this.o.answer(norm, this.o.maxResults));
    const q: SearchQuery = { type: 'query', id, text: norm, ttl: Math.min(Math.max(1, ttl), this.o.maxTtl), hops: 0 };
    this.forward(q, route);
    return id;
  }

  /** Process a message from neighbour `from`. Never throws on bad input. */
  handle(from: P, message: unknown): SearchVerdict {
    const v = this.process(from, message);
    this.stats[v]++;
    return v;
  }

  private process(from: P, message: unknown): SearchVerdict {
    if (!this.limiter.take(from)) return 'rate-limited';
    if (typeof message !== 'object' || message === null) return 'invalid';
    const m = message as Record<string, unknown>;
    if (m.type === 'query') return this.onQuery(from, m);
    if (m.type === 'hit') return this.onHit(from, m);
    return 'invalid';
  }

  private onQuery(from: P, m: Record<string, unknown>): SearchVerdict {
    if (typeof m.id !== 'string' || !/^[0-9a-f]{32}$/.test(m.id)) return 'invalid';
    if (typeof m.text !== 'string' || m.text.length > this.o.maxTextLength * 4) return 'invalid';
    if (!Number.isInteger(m.ttl) || !Number.isInteger(m.hops) || (m.ttl as number) < 0 || (m.hops as number) < 0) return 'invalid';
    const text = normalizeName(m.text);
    if (text.length < this.o.minTextLength || text.length > this.o.maxTextLength) return 'invalid';
    const route: Route<P> = { from, sentTo: new Set(), results: 0, delivered: undefined };
    if (!this.seen.add(m.id, route)) return 'duplicate';
    const hops = (m.hops as number) + 1;
    const ttl = Math.min((m.ttl as number) - 1, this.o.maxTtl - hops);
    const local = this.o.answer(text, this.o.maxResults).slice(0, this.o.maxResults);
    if (local.length > 0) {
      route.results += local.length;
      this.sendTo(from, { type: 'hit', queryId: m.id, results: local });
    }
    if (ttl > 0) this.forward({ type: 'query', id: m.id, text, ttl, hops }, route);
    return 'answered';
  }

  private onHit(from: P, m: Record<string, unknown>): SearchVerdict {
    if (typeof m.queryId !== 'string' || !Array.isArray(m.results)) return 'invalid';
    const route = this.seen.get(m.queryId);
    if (!route) return 'unknown-query';
    if (!route.sentTo.has(from)) return 'unexpected-peer';
    const room = this.o.maxResults - route.results;
    if (room <= 0) return 'result-cap';
    const results = (m.results as R[]).slice(0, room);
    if (route.from === undefined) {
      this.deliver(m.queryId, route, results);
      return 'delivered';
    }
    route.results += results.length;
    this.sendTo(route.from, { type: 'hit', queryId: m.queryId, results });
    return 'routed';
  }

  private deliver(id: string, route: Route<P>, results: R[]): void {
    const fresh: R[] = [];
    for (const r of results) {
      if (route.results >= this.o.maxResults) break;
      const key = this.o.resultKey(r);
      if (route.delivered!.has(key)) continue;
      route.delivered!.add(key);
      route.results++;
      fresh.push(r);
    }
    if (fresh.length > 0) this.o.onResults?.(id, fresh);
  }

  private forward(q: SearchQuery, route: Route<P>): void {
    let targets = this.o.peers().filter((p) => p !== route.from);
    if (targets.length > this.o.maxFanout) {
      // Partial Fisher-Yates: a random subset of maxFanout neighbours.
      targets = targets.slice();
      for (let i = 0; i < this.o.maxFanout; i++) {
        const j = i + this.o.random.int(targets.length - i);
        [targets[i], targets[j]] = [targets[j]!, targets[i]!];
      }
      targets.length = this.o.maxFanout;
    }
    for (const p of targets) {
      route.sentTo.add(p);
      this.sendTo(p, q);
    }
  }

  private sendTo(peer: P, message: SearchMessage<R>): void {
    this.stats.sent++;
    this.o.send(peer, message);
  }
}
