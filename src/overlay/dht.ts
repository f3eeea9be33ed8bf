/**
 * The asking side of the DHT: join, look up, publish, refresh and replicate, built on
 * {@link iterativeLookup}, the routing table and the record store, over one injected
 * function that sends a {@link DhtRequest} to a contact and returns its
 * {@link DhtAnswer} (the network layer's only job; see {@link dhtRpc}).
 *
 * @example
 * ```ts
 * const rpc = dhtRpc((to, request, signal) => rpcClient.call(to, 'dht', request, signal));
 * const dht = new Dht({ self: me, table, store, rpc, clock: env.clock, verifyContact, verifyRecord });
 * await dht.bootstrap(seedContacts);
 * await dht.publish(myRecord);                         // stored on the k closest, both keys
 * const { records } = await dht.findRecords(nameKey('alice'));  // newest first, one per publisher
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import type { Random } from '../random.ts';
import type { Contact } from './contact.ts';
import type { DhtAnswer, DhtRequest } from './dht-service.ts';
import { iterativeLookup, type LookupOptions, type LookupResult, type OverlayRpc } from './lookup.ts';
import { compareDistance, idEquals, idKey, type NodeId } from './node-id.ts';
import { checkRecordShape, nameKey, type PresenceRecord, recordKeys } from './presence-record.ts';
import type { RecordStore, RecordVerdict } from './record-store.ts';
import type { RoutingTable } from './routing-table.ts';

/** Send one DHT request to `to` and resolve with its answer; reject on timeout/abort/error. */
export type DhtSend = (to: Contact, request: DhtRequest, signal: AbortSignal) => Promise<DhtAnswer>;

/** The RPCs the DHT client uses: the lookup's two plus PING and STORE. */
export interface DhtRpc extends OverlayRpc<PresenceRecord> {
  /** True if `to` answered. */
  ping(to: Contact, signal: AbortSignal): Promise<boolean>;
  /** The store's verdict for `record` under `key` at `to`. */
  store(to: Contact, key: NodeId, record: PresenceRecord, signal: AbortSignal): Promise<DhtAnswer>;
}

/**
 * Adapt a request/answer transport to {@link DhtRpc}. Unexpected answers become
 * rejections, which lookups count as failures.
 */
export function dhtRpc(send: DhtSend): DhtRpc {
  return {
    async findNode(to, target, signal) {
      const a = await send(to, { type: 'find_node', target }, signal);
      if (a.type !== 'nodes') throw new Error(`unexpected answer ${a.type} to find_node`);
      return a.contacts;
    },
    async findValue(to, key, signal) {
      const a = await send(to, { type: 'find_value', key }, signal);
      if (a.type !== 'value') throw new Error(`unexpected answer ${a.type} to find_value`);
      return a.records.length > 0 ? { records: a.records, contacts: a.contacts } : { contacts: a.contacts };
    },
    async ping(to, signal) {
      try {
        return (await send(to, { type: 'ping' }, signal)).type === 'pong';
      } catch {
        return false;
      }
    },
    store(to, key, record, signal) {
      return send(to, { type: 'store', key, record }, signal);
    },
  };
}

/** Options for {@link Dht}. */
export interface DhtOptions {
  self: Contact;
  table: RoutingTable;
  store: RecordStore;
  rpc: DhtRpc;
  clock: Clock;
  /** Contact check (ID and proof of work), e.g. `ContactVerifier.accepts`. */
  verifyContact: (c: Contact) => boolean;
  /** Record signature check (identity); the same one the store uses. */
  verifyRecord: (r: PresenceRecord) => RecordVerdict;
  k?: number;
  alpha?: number;
  /** Disjoint paths per lookup (default 3). */
  paths?: number;
  /** Per-request timeout (default 2 s). */
  timeoutMs?: number;
}

/** Outcome of {@link Dht.findRecords}. */
export interface FindRecordsResult {
  /** Newest first; one record per publisher (its highest seq). */
  records: PresenceRecord[];
  /** Hops of the lookup (0 when answered from the local store). */
  hops: number;
  rpcs: number;
}

/** Outcome of {@link Dht.publish}: how many nodes accepted the record under each key. */
export interface PublishResult {
  stored: { key: NodeId; accepted: number; refused: number }[];
}

/** See module docs. */
export class Dht {
  readonly k: number;
  private readonly o: DhtOptions;

  constructor(options: DhtOptions) {
    this.o = options;
    this.k = options.k ?? options.table.k;
  }

  /**
   * Join: ping the seeds (those that answer enter the routing table), look up our own ID
   * to meet our neighbours, then refresh every bucket. Returns the table size.
   */
  async bootstrap(seeds: readonly Contact[], signal?: AbortSignal): Promise<number> {
    const { table, rpc } = this.o;
    await Promise.all(seeds.filter((s) => !idEquals(s.id, this.o.self.id)).map(async (s) => {
      if (await this.withTimeout((sig) => rpc.ping(s, sig), signal)) table.add(s);
    }));
    await this.lookupNode(this.o.self.id, signal);
    return table.size;
  }

  /** Ping `to` within the request timeout; true if it answered. */
  ping(to: Contact, signal?: AbortSignal): Promise<boolean> {
    return this.withTimeout((sig) => this.o.rpc.ping(to, sig), signal);
  }

  /** Find the k nodes closest to `target` (feeds the routing table on the way). */
  lookupNode(target: NodeId, signal?: AbortSignal): Promise<LookupResult<PresenceRecord>> {
    return iterativeLookup(this.lookupOptions(target, 'node', signal));
  }

  /**
   * Records under `key` (a name key or node ID): from the local store if present,
   * otherwise by a value lookup. Every record is verified; per publisher only the highest
   * seq is kept; newest first.
   */
  async findRecords(key: NodeId, signal?: AbortSignal): Promise<FindRecordsResult> {
    const local = this.o.store.get(key);
    if (local.length > 0) return { records: local, hops: 0, rpcs: 0 };
    const r = await iterativeLookup(this.lookupOptions(key, 'value', signal));
    return { records: newestPerPublisher(r.records), hops: r.hops, rpcs: r.rpcs };
  }

  /** Store `record` under both its keys on the k closest nodes (and here, if we are among them). */
  async publish(record: PresenceRecord, signal?: AbortSignal): Promise<PublishResult> {
    const out: PublishResult = { stored: [] };
    for (const key of recordKeys(record)) out.stored.push(await this.storeAtClosest(key, record, signal));
    return out;
  }

  /** Lookups for random IDs in buckets idle for `idleMs` (Kademlia's hourly refresh). */
  async refresh(idleMs: number, random: Random, signal?: AbortSignal): Promise<number> {
    const targets = this.o.table.refreshTargets(idleMs, random);
    for (const t of targets) await this.lookupNode(t, signal);
    return targets.length;
  }

  /** Re-store up to `limit` held records whose replication time has come. */
  async replicate(limit = 100, signal?: AbortSignal): Promise<number> {
    const due = this.o.store.dueForReplication(limit);
    for (const { key, record } of due) await this.storeAtClosest(key, record, signal);
    return due.length;
  }

  private async storeAtClosest(key: NodeId, record: PresenceRecord, signal?: AbortSignal): Promise<{ key: NodeId; accepted: number; refused: number }> {
    const { closest } = await this.lookupNode(key, signal);
    let accepted = 0, refused = 0;
    // We hold it too if we are closer than the k-th closest node found.
    const last = closest[closest.length - 1];
    if (closest.length < this.k || (last && compareDistance(key, this.o.self.id, last.id) < 0)) {
      if (this.o.store.put(key, record).ok) accepted++;
      else refused++;
    }
    await Promise.all(closest.map(async (c) => {
      try {
        const a = await this.withTimeout((sig) => this.o.rpc.store(c, key, record, sig), signal);
        if (a?.type === 'stored') accepted++;
        else refused++;
      } catch {
        refused++;
      }
    }));
    return { key, accepted, refused };
  }

  private lookupOptions(target: NodeId, mode: 'node' | 'value', signal?: AbortSignal): LookupOptions<PresenceRecord> {
    const { table } = this.o;
    table.touch(target);
    const now = this.o.clock.now();
    const tk = idKey(target);
    return {
      target, mode, signal,
      seeds: table.closest(target, this.k),
      rpc: this.o.rpc,
      clock: this.o.clock,
      self: this.o.self.id,
      k: this.k,
      alpha: this.o.alpha,
      paths: this.o.paths ?? 3,
      timeoutMs: this.o.timeoutMs,
      verifyContact: this.o.verifyContact,
      acceptRecord: (r) => {
        const shape = checkRecordShape(r);
        if (!shape.ok || r.expiresAt <= now) return false;
        if (r.nodeId !== tk && idKey(nameKey(r.name)) !== tk) return false;
        return this.o.verifyRecord(r).ok;
      },
      onResponded: (c) => table.add(c),
      onFailed: (c) => table.markFailed(c.id),
    };
  }

  private withTimeout<T>(fn: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal): Promise<T> {
    const ac = new AbortController();
    const timer = this.o.clock.setTimeout(() => ac.abort(new Error('request timed out')), this.o.timeoutMs ?? 2000);
    const onAbort = () => ac.abort(outer!.reason);
    outer?.addEventListener('abort', onAbort, { once: true });
    return fn(ac.signal).finally(() => {
      timer.cancel();
      outer?.removeEventListener('abort', onAbort);
    });
  }
}

/** One record per publisher (highest seq), newest first. */
export function newestPerPublisher(records: readonly PresenceRecord[]): PresenceRecord[] {
  const best = new Map<string, PresenceRecord>();
  for (const r of records) {
    const cur = best.get(r.publicKey);
    if (!cur || r.seq > cur.seq) best.set(r.publicKey, r);
  }
  return [...best.values()].sort((a, b) => b.issuedAt - a.issuedAt || b.seq - a.seq);
}
