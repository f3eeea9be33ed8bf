/**
 * The Kademlia routing table of one supernode: 256 k-buckets by XOR distance, each
 * ordered least-recently-seen first, with a bounded replacement cache per bucket.
 *
 * Defences built in (S/Kademlia and Skype-era lessons):
 * - contacts without a valid ID/proof of work are refused (`verify` callback);
 * - at most `maxPerPrefixPerBucket` entries of one /24 (IPv4) or /48 (IPv6) in a bucket
 *   and `maxPerPrefix` in the whole table, so an address block cannot fill it;
 * - old, live contacts are preferred: a full bucket pings its least-recently-seen entry
 *   and keeps it if it answers, parking the newcomer in the replacement cache. Long-lived
 *   nodes are more likely to stay, and an attacker cannot flush honest entries by
 *   flooding new IDs.
 *
 * Only add contacts that talked to you over an authenticated session (or answered your
 * request): hearsay from lookup answers should be queried first, which is what
 * {@link iterativeLookup}'s `onResponded` hook is for.
 *
 * @example
 * ```ts
 * const verifier = new ContactVerifier({ difficulty: 18 });
 * const table = new RoutingTable({
 *   self: myId, clock: env.clock,
 *   verify: (c) => verifier.accepts(c),
 *   ping: (c, signal) => rpc.ping(c, signal),
 * });
 * table.add(contact);             // 'added' | 'updated' | 'pending' | 'replacement' | 'rejected-…'
 * table.closest(targetId, 20);    // up to 20 contacts, closest first
 * table.close();                  // aborts liveness checks in flight
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import type { Random } from '../random.ts';
import type { Contact } from './contact.ts';
import { networkPrefix } from './ip-prefix.ts';
import { bucketIndex, compareDistance, ID_BITS, idKey, idEquals, type NodeId, randomIdInBucket } from './node-id.ts';

/** Kademlia's bucket size. */
export const DEFAULT_K = 20;

/** Options for {@link RoutingTable}. */
export interface RoutingTableOptions {
  /** This node's ID. */
  self: NodeId;
  /** Time source (last-seen stamps, bucket refresh). */
  clock: Clock;
  /** Accept a contact (ID derivation and proof of work); typically `ContactVerifier.accepts`. */
  verify: (contact: Contact) => boolean;
  /**
   * Liveness check of the least-recently-seen entry of a full bucket; resolves true if it
   * answered. Without it, a full bucket keeps its entries and newcomers wait in the
   * replacement cache until an entry fails ({@link RoutingTable.markFailed}).
   */
  ping?: (contact: Contact, signal: AbortSignal) => Promise<boolean>;
  /** Bucket size (default 20). */
  k?: number;
  /** Replacement cache size per bucket (default k). */
  replacementSize?: number;
  /** Entries of one /24 or /48 per bucket (default 2). */
  maxPerPrefixPerBucket?: number;
  /** Entries of one /24 or /48 in the whole table, replacements excluded (default 10). */
  maxPerPrefix?: number;
  /** Consecutive failures before an entry is dropped when no replacement exists (default 3). */
  maxFailures?: number;
  /** A liveness check not answered within this many ms counts as dead (default 2000). */
  pingTimeoutMs?: number;
  /**
   * A full bucket pings its least-recently-seen entry only if that entry has shown no sign
   * of life for this long; otherwise the newcomer just waits in the replacement cache
   * (BEP 5: only "questionable" nodes, not seen for 15 minutes, are pinged). Default 0:
   * always ping, as in the Kademlia paper. With full tables the paper's rule feeds on
   * itself: a ping received is a contact offered to the receiver's full bucket, which
   * pings its own oldest entry, and so on (over 1 ping/s per supernode, two thirds of all
   * RPCs, in a converged 2,000-node simulation). OverlayNode and the simulator's stand-in
   * use 15 minutes.
   */
  pingQuietMs?: number;
}

/** Outcome of {@link RoutingTable.add}. */
export type AddResult =
  | 'added' // inserted into its bucket
  | 'updated' // already present: refreshed (moved to most-recently-seen)
  | 'pending' // bucket full: parked in the replacement cache while the oldest entry is pinged
  | 'replacement' // bucket full: parked in the replacement cache
  | 'rejected-self'
  | 'rejected-invalid' // malformed, bad ID or insufficient proof of work
  | 'rejected-prefix'; // per-/24 (/48) cap reached

/** One routing table entry (read-only view). */
export interface RoutingEntry {
  readonly contact: Contact;
  /** Clock time of the last sign of life. */
  readonly lastSeen: number;
  /** Consecutive failed requests. */
  readonly failures: number;
}

interface Entry {
  contact: Contact;
  key: string;
  prefix: string;
  lastSeen: number;
  failures: number;
}

interface Bucket {
  /** Least-recently-seen first. */
  entries: Entry[];
  /** Most-recently-seen last. */
  replacements: Entry[];
  pinging: boolean;
  /** Last time a lookup touched this bucket's range (for refresh). */
  lastActivity: number;
}

/** See module docs. */
export class RoutingTable {
  readonly self: NodeId;
  readonly k: number;
  private readonly clock: Clock;
  private readonly verify: (c: Contact) => boolean;
  private readonly ping?: (c: Contact, signal: AbortSignal) => Promise<boolean>;
  private readonly replacementSize: number;
  private readonly maxPerPrefixPerBucket: number;
  private readonly maxPerPrefix: number;
  private readonly maxFailures: number;
  private readonly pingTimeoutMs: number;
  private readonly pingQuietMs: number;
  private readonly buckets: (Bucket | undefined)[] = new Array(ID_BITS);
  private readonly index = new Map<string, Entry>();
  private readonly prefixCount = new Map<string, number>();
  private readonly abort = new AbortController();
  /** Counters for metrics and tests. */
  readonly stats = { rejectedInvalid: 0, rejectedPrefix: 0, evicted: 0, pings: 0 };

  constructor(options: RoutingTableOptions) {
    this.self = options.self;
    this.clock = options.clock;
    this.verify = options.verify;
    this.ping = options.ping;
    this.k = options.k ?? DEFAULT_K;
    this.replacementSize = options.replacementSize ?? this.k;
    this.maxPerPrefixPerBucket = options.maxPerPrefixPerBucket ?? 2;
    this.maxPerPrefix = options.maxPerPrefix ?? 10;
    this.maxFailures = options.maxFailures ?? 3;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 2000;
    this.pingQuietMs = options.pingQuietMs ?? 0;
  }

  /** Number of entries (replacement caches excluded). */
  get size(): number {
    return this.index.size;
  }

  /** True if `id` is an entry (not just a replacement). */
  has(id: NodeId): boolean {
    return this.index.has(idKey(id));
  }

  /** The entry for `id`, if any. */
  get(id: NodeId): RoutingEntry | undefined {
    return this.index.get(idKey(id));
  }

  /**
   * Offer a contact that has just shown signs of life (it sent us an authenticated
   * message or answered a request). See {@link AddResult}.
   */
  add(contact: Contact): AddResult {
    if (idEquals(contact.id, this.self)) return 'rejected-self';
    const key = idKey(contact.id);
    const now = this.clock.now();
    const existing = this.index.get(key);
    if (existing) {
      // A changed address must come with the same, valid key: never let a bare ID move an entry.
      const moved = contact.address.host !== existing.contact.address.host || contact.address.port !== existing.contact.address.port;
      if (moved && idEquals(contact.publicKey, existing.contact.publicKey) && this.verify(contact)) this.refreshAddress(existing, contact);
      existing.lastSeen = now;
      existing.failures = 0;
      const b = this.bucketFor(contact.id);
      moveToTail(b.entries, existing);
      return 'updated';
    }
    if (!this.verify(contact)) {
      this.stats.rejectedInvalid++;
      return 'rejected-invalid';
    }
    const prefix = networkPrefix(contact.address.host);
    if (prefix === undefined) {
      this.stats.rejectedInvalid++;
      return 'rejected-invalid';
    }
    const b = this.bucketFor(contact.id);
    const entry: Entry = { contact, key, prefix, lastSeen: now, failures: 0 };
    if (b.entries.length < this.k) {
      if (!this.prefixAllowed(b, prefix)) {
        this.stats.rejectedPrefix++;
        return 'rejected-prefix';
      }
      this.insert(b, entry);
      return 'added';
    }
    if (!this.cacheReplacement(b, entry)) {
      this.stats.rejectedPrefix++;
      return 'rejected-prefix';
    }
    if (this.ping && !b.pinging && now - b.entries[0]!.lastSeen >= this.pingQuietMs) {
      this.checkOldest(b);
      return 'pending';
    }
    return 'replacement';
  }

  /** Record that `id` answered a request: refresh it (no-op for unknown IDs). */
  markSeen(id: NodeId): void {
    const e = this.index.get(idKey(id));
    if (!e) return;
    e.lastSeen = this.clock.now();
    e.failures = 0;
    moveToTail(this.bucketFor(id).entries, e);
  }

  /**
   * Record that a request to `id` failed (timeout, bad answer). The entry is replaced at
   * once if its bucket has a replacement waiting, otherwise dropped after `maxFailures`
   * consecutive failures.
   */
  markFailed(id: NodeId): void {
    const key = idKey(id);
    const e = this.index.get(key);
    const b = this.bucketFor(id);
    if (!e) {
      const i = b.replacements.findIndex((r) => r.key === key);
      if (i >= 0) b.replacements.splice(i, 1);
      return;
    }
    e.failures++;
    if (e.failures >= this.maxFailures || b.replacements.length > 0) {
      this.removeEntry(b, e);
      this.stats.evicted++;
      this.promoteReplacement(b);
    }
  }

  /** Remove `id` (entry or replacement). Returns true if something was removed. */
  remove(id: NodeId): boolean {
    const key = idKey(id);
    const b = this.bucketFor(id);
    const e = this.index.get(key);
    if (e) {
      this.removeEntry(b, e);
      this.promoteReplacement(b);
      return true;
    }
    const i = b.replacements.findIndex((r) => r.key === key);
    if (i >= 0) {
      b.replacements.splice(i, 1);
      return true;
    }
    return false;
  }

  /**
   * Up to `n` entries closest to `target` by XOR distance, closest first.
   * `filter` can exclude contacts (e.g. ones already known to be down).
   */
  closest(target: NodeId, n: number = this.k, filter?: (c: Contact) => boolean): Contact[] {
    // Buckets are ranges of distance from self, so they come in a known order of distance
    // from the target: with b = bucketIndex(self, target), bucket b's entries are the
    // closest (< 2^b), then every bucket below b together ([2^b, 2^(b+1))), then buckets
    // b+1, b+2, ... ([2^i, 2^(i+1))). Only those groups are sorted, and only until n are
    // taken: the same result as sorting the whole table, at a fraction of the cost.
    const out: Contact[] = [];
    if (n <= 0) return out;
    const group: Contact[] = [];
    const cmp = (x: Contact, y: Contact) => compareDistance(target, x.id, y.id);
    const gather = (i: number) => {
      const b = this.buckets[i];
      if (b) for (const e of b.entries) if (!filter || filter(e.contact)) group.push(e.contact);
    };
    const flush = () => {
      if (group.length > 1) group.sort(cmp);
      for (const c of group) {
        if (out.length >= n) break;
        out.push(c);
      }
      group.length = 0;
    };
    const b = bucketIndex(this.self, target);
    let from = 0;
    if (b >= 0) {
      gather(b);
      flush();
      for (let i = 0; i < b && out.length < n; i++) gather(i);
      flush();
      from = b + 1;
    }
    for (let i = from; i < ID_BITS && out.length < n; i++) {
      gather(i);
      flush();
    }
    return out;
  }

  /** Every entry, bucket by bucket (closest buckets first), least-recently-seen first within a bucket. */
  *entries(): IterableIterator<RoutingEntry> {
    for (const b of this.buckets) if (b) yield* b.entries;
  }

  /** Sizes of non-empty buckets, for diagnostics: `[index, entries, replacements]`. */
  bucketSizes(): [number, number, number][] {
    const out: [number, number, number][] = [];
    this.buckets.forEach((b, i) => {
      if (b && (b.entries.length || b.replacements.length)) out.push([i, b.entries.length, b.replacements.length]);
    });
    return out;
  }

  /** Replacement-cache contacts of the bucket `id` falls in (most recent last). */
  replacementsFor(id: NodeId): Contact[] {
    return this.bucketFor(id).replacements.map((e) => e.contact);
  }

  /** Note that a lookup for `target` just ran, so its bucket does not need a refresh. */
  touch(target: NodeId): void {
    const i = bucketIndex(this.self, target);
    if (i >= 0) this.bucketAt(i).lastActivity = this.clock.now();
  }

  /**
   * Random lookup targets for buckets idle for `idleMs` (Kademlia's hourly bucket
   * refresh), at most `max` of them, from the closest bucket up to the farthest
   * non-empty one.
   */
  refreshTargets(idleMs: number, random: Random, max = 8): NodeId[] {
    const now = this.clock.now();
    let far = -1;
    for (let i = ID_BITS - 1; i >= 0; i--) if (this.buckets[i]?.entries.length) { far = i; break; }
    const out: NodeId[] = [];
    for (let i = 0; i <= far && out.length < max; i++) {
      const b = this.buckets[i];
      if (!b || b.entries.length === 0) continue;
      if (now - b.lastActivity >= idleMs) {
        out.push(randomIdInBucket(this.self, i, random));
        b.lastActivity = now;
      }
    }
    return out;
  }

  /** Abort liveness checks in flight (and their timers); the table stays usable for reads. Idempotent. */
  close(): void {
    this.abort.abort(new Error('routing table closed'));
  }

  // -- internals ---------------------------------------------------------------------

  private bucketAt(i: number): Bucket {
    let b = this.buckets[i];
    if (!b) {
      b = { entries: [], replacements: [], pinging: false, lastActivity: this.clock.now() };
      this.buckets[i] = b;
    }
    return b;
  }

  private bucketFor(id: NodeId): Bucket {
    return this.bucketAt(Math.max(0, bucketIndex(this.self, id)));
  }

  private prefixAllowed(b: Bucket, prefix: string, except?: Entry): boolean {
    if ((this.prefixCount.get(prefix) ?? 0) - (except?.prefix === prefix ? 1 : 0) >= this.maxPerPrefix) return false;
    let inBucket = 0;
    for (const e of b.entries) if (e.prefix === prefix && e !== except) inBucket++;
    return inBucket < this.maxPerPrefixPerBucket;
  }

  private insert(b: Bucket, e: Entry): void {
    const r = b.replacements.findIndex((x) => x.key === e.key);
    if (r >= 0) b.replacements.splice(r, 1);
    b.entries.push(e);
    this.index.set(e.key, e);
    this.prefixCount.set(e.prefix, (this.prefixCount.get(e.prefix) ?? 0) + 1);
  }

  private removeEntry(b: Bucket, e: Entry): void {
    const i = b.entries.indexOf(e);
    if (i >= 0) b.entries.splice(i, 1);
    this.index.delete(e.key);
    const n = (this.prefixCount.get(e.prefix) ?? 1) - 1;
    if (n <= 0) this.prefixCount.delete(e.prefix);
    else this.prefixCount.set(e.prefix, n);
  }

  private refreshAddress(e: Entry, c: Contact): void {
    if (c.address.host === e.contact.address.host && c.address.port === e.contact.address.port) return;
    const prefix = networkPrefix(c.address.host);
    if (prefix === undefined) return;
    if (prefix !== e.prefix && !this.prefixAllowed(this.bucketFor(c.id), prefix, e)) return;
    const n = (this.prefixCount.get(e.prefix) ?? 1) - 1;
    if (n <= 0) this.prefixCount.delete(e.prefix);
    else this.prefixCount.set(e.prefix, n);
    this.prefixCount.set(prefix, (this.prefixCount.get(prefix) ?? 0) + 1);
    e.prefix = prefix;
    e.contact = { ...e.contact, address: c.address };
  }

  /** Park `e` in the replacement cache (newest last, bounded, per-prefix capped). */
  private cacheReplacement(b: Bucket, e: Entry): boolean {
    const i = b.replacements.findIndex((r) => r.key === e.key);
    if (i >= 0) b.replacements.splice(i, 1);
    let samePrefix = 0;
    for (const r of b.replacements) if (r.prefix === e.prefix) samePrefix++;
    if (samePrefix >= this.maxPerPrefixPerBucket) return false;
    b.replacements.push(e);
    if (b.replacements.length > this.replacementSize) b.replacements.shift();
    return true;
  }

  /** Move the most recent eligible replacement into the bucket. */
  private promoteReplacement(b: Bucket): void {
    while (b.entries.length < this.k && b.replacements.length > 0) {
      let chosen = -1;
      for (let i = b.replacements.length - 1; i >= 0; i--) {
        if (this.prefixAllowed(b, b.replacements[i]!.prefix)) { chosen = i; break; }
      }
      if (chosen < 0) return;
      const [r] = b.replacements.splice(chosen, 1);
      r!.failures = 0;
      this.insert(b, r!);
    }
  }

  /** Kademlia's rule: ping the least-recently-seen entry; keep it if alive, else replace it. */
  private checkOldest(b: Bucket): void {
    const oldest = b.entries[0];
    if (!oldest || !this.ping) return;
    b.pinging = true;
    this.stats.pings++;
    // Each ping gets its own signal: aborted by its timeout or by close().
    const ac = new AbortController();
    const onClose = () => ac.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', onClose, { once: true });
    const timer = this.clock.setTimeout(() => ac.abort(new Error('ping timed out')), this.pingTimeoutMs);
    let settled = false;
    const settle = (alive: boolean) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      this.abort.signal.removeEventListener('abort', onClose);
      this.afterPing(b, oldest, alive);
    };
    ac.signal.addEventListener('abort', () => settle(false), { once: true });
    this.ping(oldest.contact, ac.signal).then(
      (alive) => settle(alive === true),
      () => settle(false),
    );
  }

  private afterPing(b: Bucket, oldest: Entry, alive: boolean): void {
    b.pinging = false;
    if (this.abort.signal.aborted) return;
    if (!b.entries.includes(oldest)) {
      this.promoteReplacement(b);
      return;
    }
    if (alive) {
      oldest.lastSeen = this.clock.now();
      oldest.failures = 0;
      moveToTail(b.entries, oldest);
      return;
    }
    this.removeEntry(b, oldest);
    this.stats.evicted++;
    this.promoteReplacement(b);
  }
}

function moveToTail<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0 && i !== list.length - 1) {
    list.splice(i, 1);
    list.push(item);
  }
}
