/**
 * A supernode's bounded store of presence records, keyed by DHT key (name hash or node
 * ID), several publishers per key.
 *
 * Rules, in the order they are checked by {@link RecordStore.put}:
 * 1. shape (bounded structural check) and key binding: the key must be the record's
 *    name key or its node ID, so a valid record cannot be planted under other keys, and
 *    the node ID must be SHA-256 of the public key;
 * 2. time: refused if already expired, issued in the future beyond the allowed clock
 *    skew, or expiring further ahead than `maxTtlMs` (a too-far expiry);
 * 3. freshness: per (key, publisher) the newest seq wins; an equal or older seq is
 *    refused (replay). The highest seq seen per publisher is remembered in a bounded
 *    table even after its record expires or is evicted, so old records cannot be
 *    replayed into an empty slot;
 * 4. signature: the injected `verify` (identity's signed-record check), run last
 *    because it is the expensive step;
 * 5. bounds: at most `maxPerKey` publishers per key (first come keeps its slot while it
 *    republishes), `maxPerPublisher` entries per publisher, `maxRecords` in total. When
 *    full, the entry whose key is farthest from this node (the one it is least
 *    responsible for) is evicted, but only for a closer key.
 *
 * Time comes from the injected clock; expired records are dropped lazily and by
 * {@link RecordStore.sweep}. {@link RecordStore.dueForReplication} tells the owner which
 * records to re-store on the current k closest nodes (Kademlia's hourly republish).
 *
 * @example
 * ```ts
 * const store = new RecordStore({ clock: env.clock, self: myId, verify: identity.verifyPresence });
 * const r = store.put(nameKey(record.name), record); // { ok: true, status: 'stored' } | { ok: false, error }
 * store.get(nameKey('alice'));                        // records, newest first
 * for (const { key, record } of store.dueForReplication(100)) replicate(key, record);
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { compareDistance, idKey, type NodeId, nodeIdFromHex, toHex } from './node-id.ts';
import { checkRecordShape, nameKey, type PresenceRecord } from './presence-record.ts';
import { memoString } from '../memo-string.ts';

/** Verdict of the injected signature check. */
export type RecordVerdict = { ok: true } | { ok: false; error: string };

/** Why a put was refused. */
export type PutError =
  | 'malformed'
  | 'wrong-key'
  | 'bad-node-id'
  | 'expired'
  | 'future'
  | 'too-far-expiry'
  | 'old-seq'
  | 'bad-signature'
  | 'key-full'
  | 'publisher-limit'
  | 'full';

/** Result of {@link RecordStore.put}. */
export type PutResult =
  | { ok: true; status: 'stored' | 'replaced' | 'unchanged' }
  | { ok: false; error: PutError; detail?: string };

/** Options for {@link RecordStore}. */
export interface RecordStoreOptions {
  clock: Clock;
  /** This node's ID (eviction keeps the keys closest to it). */
  self: NodeId;
  /** Signature check, e.g. identity's presence-record verifier. */
  verify: (record: PresenceRecord) => RecordVerdict;
  /** Total entries (default 10,000). */
  maxRecords?: number;
  /** Publishers per key (default 32). */
  maxPerKey?: number;
  /** Entries per publisher across keys (default 4: name key + node ID key, with slack for a rename). */
  maxPerPublisher?: number;
  /** Longest accepted lifetime from now (default 2 h). */
  maxTtlMs?: number;
  /** Accepted clock skew for `issuedAt` in the future (default 5 min). */
  maxSkewMs?: number;
  /** How often each held record is re-stored on the closest nodes (default 1 h). */
  replicateIntervalMs?: number;
}

interface Stored {
  key: string;
  keyBytes: NodeId;
  record: PresenceRecord;
  storedAt: number;
  /** Next time this node should replicate the record. */
  replicateAt: number;
}

/** See module docs. */
export class RecordStore {
  private readonly clock: Clock;
  private readonly self: NodeId;
  private readonly verify: (r: PresenceRecord) => RecordVerdict;
  readonly maxRecords: number;
  readonly maxPerKey: number;
  readonly maxPerPublisher: number;
  readonly maxTtlMs: number;
  readonly maxSkewMs: number;
  readonly replicateIntervalMs: number;
  /** key -> its entries: the entry itself while there is one (most keys), publisher -> entry beyond. */
  private readonly byKey = new Map<string, Slot>();
  /** publisher -> number of entries */
  private readonly perPublisher = new Map<string, number>();
  /** publisher -> highest seq ever accepted (bounded, oldest forgotten first) */
  /** Per publisher: highest seq accepted and the signature of that publication. */
  private readonly highestSeq = new Map<string, { seq: number; signature: string }>();
  private count = 0;
  /** No stored record expires before this (see sweep). */
  private nextExpiry = Infinity;
  /** Refusal counters by reason, for metrics. */
  readonly refused: Partial<Record<PutError, number>> = {};

  constructor(options: RecordStoreOptions) {
    this.clock = options.clock;
    this.self = options.self;
    this.verify = options.verify;
    this.maxRecords = options.maxRecords ?? 10_000;
    this.maxPerKey = options.maxPerKey ?? 32;
    this.maxPerPublisher = options.maxPerPublisher ?? 4;
    this.maxTtlMs = options.maxTtlMs ?? 2 * 3600_000;
    this.maxSkewMs = options.maxSkewMs ?? 5 * 60_000;
    this.replicateIntervalMs = options.replicateIntervalMs ?? 3600_000;
  }

  /** Number of stored entries (a record under two keys counts twice). */
  get size(): number {
    return this.count;
  }

  /** Validate and store `record` under `key`. See module docs for the rules. */
  put(key: NodeId, untrusted: unknown): PutResult {
    const r = this.check(key, untrusted);
    if (!r.ok) this.refused[r.error] = (this.refused[r.error] ?? 0) + 1;
    return r;
  }

  /** Records stored under `key` that have not expired, newest (`issuedAt`, then seq) first. */
  get(key: NodeId): PresenceRecord[] {
    const k = idKey(key);
    const slot = this.byKey.get(k);
    if (!slot) return [];
    const now = this.clock.now();
    const out: PresenceRecord[] = [];
    for (const s of entriesOf(slot)) {
      if (s.record.expiresAt <= now) this.removeEntry(k, s.record.publicKey);
      else out.push(s.record);
    }
    return out.sort((a, b) => b.issuedAt - a.issuedAt || b.seq - a.seq);
  }

  /** Drop every expired record; returns how many were dropped. */
  sweep(): number {
    const now = this.clock.now();
    // Nothing can have expired before the earliest expiry stored (a lower bound: entries
    // replaced or removed since may have held it, which only makes a sweep run early).
    if (now < this.nextExpiry) return 0;
    let n = 0;
    let next = Infinity;
    // Deleting the entry being visited is safe while iterating a Map.
    for (const [k, slot] of this.byKey) {
      for (const s of entriesOf(slot)) {
        if (s.record.expiresAt <= now) {
          this.removeEntry(k, s.record.publicKey);
          n++;
        } else if (s.record.expiresAt < next) next = s.record.expiresAt;
      }
    }
    this.nextExpiry = next;
    return n;
  }

  /**
   * Up to `limit` records whose replication time has come, marked as replicated now.
   * The owner re-stores each on the k nodes closest to its key. A record that another
   * node just re-stored here counts as replicated (Kademlia's optimisation).
   */
  dueForReplication(limit: number): { key: NodeId; record: PresenceRecord }[] {
    const now = this.clock.now();
    const out: { key: NodeId; record: PresenceRecord }[] = [];
    for (const slot of this.byKey.values()) {
      for (const s of entriesOf(slot)) {
        if (out.length >= limit) return out;
        if (s.record.expiresAt > now && s.replicateAt <= now) {
          s.replicateAt = now + this.replicateIntervalMs;
          out.push({ key: s.keyBytes, record: s.record });
        }
      }
    }
    return out;
  }

  /** Every key held (for handing records over to a closer node that joined). */
  *keys(): IterableIterator<NodeId> {
    for (const slot of this.byKey.values()) yield firstOf(slot).keyBytes;
  }

  // -- internals ---------------------------------------------------------------------

  private check(key: NodeId, untrusted: unknown): PutResult {
    const shape = checkRecordShape(untrusted);
    if (!shape.ok) return { ok: false, error: 'malformed', detail: shape.error };
    const record = shape.record;
    const k = idKey(key);
    if (k !== record.nodeId && k !== idKey(nameKey(record.name))) return { ok: false, error: 'wrong-key' };
    if (nodeIdOfKey(record.publicKey) !== record.nodeId) return { ok: false, error: 'bad-node-id' };
    const now = this.clock.now();
    if (record.expiresAt <= now) return { ok: false, error: 'expired' };
    if (record.issuedAt > now + this.maxSkewMs) return { ok: false, error: 'future' };
    if (record.expiresAt > now + this.maxTtlMs + this.maxSkewMs) return { ok: false, error: 'too-far-expiry' };

    const pub = record.publicKey;
    const slot = this.byKey.get(k);
    const existing = slot === undefined ? undefined : slot instanceof Map ? slot.get(pub) : slot.record.publicKey === pub ? slot : undefined;
    if (existing) {
      if (record.seq === existing.record.seq && record.signature === existing.record.signature) {
        existing.replicateAt = now + this.replicateIntervalMs;
        return { ok: true, status: 'unchanged' };
      }
      if (record.seq <= existing.record.seq) return { ok: false, error: 'old-seq' };
    }
    const highest = this.highestSeq.get(pub);
    if (highest !== undefined && record.seq < highest.seq) return { ok: false, error: 'old-seq' };
    // Same seq as the highest seen but not the stored copy: allowed only for another key
    // of the same publication (a record is stored under two keys), checked by signature.
    if (highest !== undefined && record.seq === highest.seq && existing && record.signature !== highest.signature) return { ok: false, error: 'old-seq' };

    if (!existing) {
      if (slot && (slot instanceof Map ? slot.size : 1) >= this.maxPerKey) return { ok: false, error: 'key-full' };
      if ((this.perPublisher.get(pub) ?? 0) >= this.maxPerPublisher) return { ok: false, error: 'publisher-limit' };
    }

    const verdict = this.safeVerify(record);
    if (!verdict.ok) return { ok: false, error: 'bad-signature', detail: verdict.error };

    if (!existing && this.count >= this.maxRecords) {
      this.sweep();
      if (this.count >= this.maxRecords && !this.evictFarther(key)) return { ok: false, error: 'full' };
    }

    const entry: Stored = { key: k, keyBytes: key, record, storedAt: now, replicateAt: now + this.replicateIntervalMs };
    if (record.expiresAt < this.nextExpiry) this.nextExpiry = record.expiresAt;
    this.rememberSeq(pub, record.seq, record.signature);
    if (existing) {
      // Replaced in place: a key's entries keep their order.
      if (slot instanceof Map) slot.set(pub, entry);
      else this.byKey.set(k, entry);
      return { ok: true, status: 'replaced' };
    }
    if (slot === undefined) this.byKey.set(k, entry);
    else if (slot instanceof Map) slot.set(pub, entry);
    else this.byKey.set(k, new Map([[slot.record.publicKey, slot], [pub, entry]]));
    this.count++;
    this.perPublisher.set(pub, (this.perPublisher.get(pub) ?? 0) + 1);
    return { ok: true, status: 'stored' };
  }

  private safeVerify(record: PresenceRecord): RecordVerdict {
    try {
      return this.verify(record);
    } catch (err) {
      return { ok: false, error: `verify threw: ${(err as Error)?.message ?? String(err)}` };
    }
  }

  private rememberSeq(pub: string, seq: number, signature: string): void {
    this.highestSeq.delete(pub); // re-insert to keep most recently used last
    this.highestSeq.set(pub, { seq, signature });
    const cap = this.maxRecords * 2;
    while (this.highestSeq.size > cap) this.highestSeq.delete(this.highestSeq.keys().next().value!);
  }

  /** Evict one entry under the key farthest from self, if it is farther than `key`. */
  private evictFarther(key: NodeId): boolean {
    let worst: Stored | undefined;
    for (const slot of this.byKey.values()) {
      const first = firstOf(slot);
      if (!worst || compareDistance(this.self, first.keyBytes, worst.keyBytes) > 0) worst = first;
    }
    if (!worst || compareDistance(this.self, worst.keyBytes, key) <= 0) return false;
    this.removeEntry(worst.key, worst.record.publicKey);
    return true;
  }

  private removeEntry(k: string, pub: string): void {
    const slot = this.byKey.get(k);
    if (slot === undefined) return;
    if (slot instanceof Map) {
      if (!slot.delete(pub)) return;
      // Back to the single entry itself (in the key's place: the order of keys is kept).
      if (slot.size === 1) this.byKey.set(k, firstOf(slot));
    } else {
      if (slot.record.publicKey !== pub) return;
      this.byKey.delete(k);
    }
    this.count--;
    const n = (this.perPublisher.get(pub) ?? 1) - 1;
    if (n <= 0) this.perPublisher.delete(pub);
    else this.perPublisher.set(pub, n);
  }
}

/**
 * The entries under one key: the entry itself while it is alone (a Map costs a few
 * hundred bytes, and a supernode holds thousands of keys with one record each), else
 * publisher -> entry in the order stored. Never empty.
 */
type Slot = Stored | Map<string, Stored>;

/** A slot's entries in order (a copy: the caller may remove entries while iterating). */
function entriesOf(slot: Slot): Stored[] {
  return slot instanceof Map ? [...slot.values()] : [slot];
}

function firstOf(slot: Slot): Stored {
  return slot instanceof Map ? slot.values().next().value! : slot;
}

/** A publisher's node ID (hex) from its public key (hex), remembered for recent publishers (each record is stored 40 times). */
const nodeIdOfKey = memoString((publicKeyHex: string) => toHex(sha256(nodeIdFromHex(publicKeyHex))), 65_536);
