/**
 * The answering side of the DHT: what a supernode does with PING, FIND_NODE, FIND_VALUE
 * and STORE requests from other nodes. Transport-independent: the RPC layer decodes a
 * request, authenticates the sender (Noise session bound to its key), and calls
 * {@link DhtService.handle} with the sender's contact; it sends back the returned answer.
 *
 * Every request type is rate-limited per sender. A sender with a valid supernode ID is
 * offered to the routing table (it just proved liveness over an authenticated session:
 * the only way into the table). Answers are bounded: at most k contacts and
 * `maxRecordsPerAnswer` records.
 *
 * @example
 * ```ts
 * const service = new DhtService({ self: me, table, store, clock: env.clock });
 * rpcServer.on('dht', (session, body) => service.handle(session.peerContact, decode(body)));
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import type { Contact } from './contact.ts';
import { idEquals, idKey, isNodeId, type NodeId } from './node-id.ts';
import type { PresenceRecord } from './presence-record.ts';
import { RateLimiter, type RateSpec } from './rate-limit.ts';
import type { PutError, RecordStore } from './record-store.ts';
import type { RoutingTable } from './routing-table.ts';

/** A DHT request as decoded by the wire layer (IDs and keys as 32-byte arrays). */
export type DhtRequest =
  | { type: 'ping' }
  | { type: 'find_node'; target: NodeId }
  | { type: 'find_value'; key: NodeId }
  | { type: 'store'; key: NodeId; record: unknown };

/** The answer to a {@link DhtRequest}. */
export type DhtAnswer =
  | { type: 'pong' }
  | { type: 'nodes'; contacts: Contact[] }
  | { type: 'value'; records: PresenceRecord[]; contacts: Contact[] }
  | { type: 'stored'; status: 'stored' | 'replaced' | 'unchanged' }
  | { type: 'refused'; error: PutError }
  | { type: 'error'; error: 'rate-limited' | 'invalid' };

/** Request types, for per-type rate limits. */
export type DhtRequestType = DhtRequest['type'];

/** Default per-sender rates (requests/s and burst) by type. */
export const DEFAULT_DHT_RATES: Record<DhtRequestType, RateSpec> = {
  ping: { ratePerSec: 2, burst: 10 },
  find_node: { ratePerSec: 20, burst: 60 },
  find_value: { ratePerSec: 20, burst: 60 },
  store: { ratePerSec: 2, burst: 10 },
};

/** Options for {@link DhtService}. */
export interface DhtServiceOptions {
  /** This node's own contact. */
  self: Contact;
  table: RoutingTable;
  store: RecordStore;
  clock: Clock;
  /** Per-sender rates by request type (defaults {@link DEFAULT_DHT_RATES}). */
  rates?: Partial<Record<DhtRequestType, RateSpec>>;
  /** Senders tracked per request type (default 10,000). */
  maxPeers?: number;
  /** Contacts per answer (default the table's k). */
  k?: number;
  /** Records per FIND_VALUE answer (default 16). */
  maxRecordsPerAnswer?: number;
}

/** See module docs. */
export class DhtService {
  private readonly limiters: Record<DhtRequestType, RateLimiter<string>>;
  private readonly k: number;
  private readonly maxRecords: number;
  /** Requests handled and refused, by type and outcome. */
  readonly stats = { handled: 0, rateLimited: 0, invalid: 0 };

  constructor(private readonly options: DhtServiceOptions) {
    const rates = { ...DEFAULT_DHT_RATES, ...options.rates };
    const mk = (t: DhtRequestType) => new RateLimiter<string>({ clock: options.clock, ...rates[t], maxKeys: options.maxPeers ?? 10_000 });
    this.limiters = { ping: mk('ping'), find_node: mk('find_node'), find_value: mk('find_value'), store: mk('store') };
    this.k = options.k ?? options.table.k;
    this.maxRecords = options.maxRecordsPerAnswer ?? 16;
  }

  /**
   * Answer one request from the authenticated sender `from`. Never throws; malformed
   * requests get `{type: 'error', error: 'invalid'}`.
   */
  handle(from: Contact, request: unknown): DhtAnswer {
    if (typeof request !== 'object' || request === null) return this.invalid();
    const r = request as Record<string, unknown>;
    const type = r.type as DhtRequestType;
    if (!(type in this.limiters)) return this.invalid();
    if (!this.limiters[type].take(idKey(from.id))) {
      this.stats.rateLimited++;
      return { type: 'error', error: 'rate-limited' };
    }
    const { table, store } = this.options;
    let answer: DhtAnswer;
    switch (type) {
      case 'ping':
        answer = { type: 'pong' };
        break;
      case 'find_node':
        if (!isNodeId(r.target)) return this.invalid();
        answer = { type: 'nodes', contacts: this.closest(r.target, from) };
        break;
      case 'find_value': {
        if (!isNodeId(r.key)) return this.invalid();
        const records = store.get(r.key).slice(0, this.maxRecords);
        answer = { type: 'value', records, contacts: records.length > 0 ? [] : this.closest(r.key, from) };
        break;
      }
      case 'store': {
        if (!isNodeId(r.key)) return this.invalid();
        const put = store.put(r.key, r.record);
        answer = put.ok ? { type: 'stored', status: put.status } : { type: 'refused', error: put.error };
        break;
      }
    }
    this.stats.handled++;
    // The sender proved liveness over an authenticated session: offer it to the table
    // (refused there if it is a leaf without a valid supernode ID).
    if (!idEquals(from.id, this.options.self.id)) table.add(from);
    return answer;
  }

  private closest(target: NodeId, exclude: Contact): Contact[] {
    return this.options.table.closest(target, this.k, (c) => !idEquals(c.id, exclude.id));
  }

  private invalid(): DhtAnswer {
    this.stats.invalid++;
    return { type: 'error', error: 'invalid' };
  }
}
