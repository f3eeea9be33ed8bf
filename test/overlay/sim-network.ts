/**
 * Test helper: an in-memory overlay of thousands of nodes built from real
 * RoutingTables, with a fake OverlayRpc whose answers arrive after a random latency on a
 * VirtualClock. Dead nodes never answer (the lookup's timeout fires). Attacker nodes
 * answer every request with the colony of Sybil contacts closest to the target
 * (real attacker nodes plus IDs they minted near the target) and never with a record.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { type Contact, ContactVerifier } from '../../src/overlay/contact.ts';
import { mintProofOfWork } from '../../src/overlay/proof-of-work.ts';
import { RoutingTable } from '../../src/overlay/routing-table.ts';
import { compareDistance, compareIds, idKey, type NodeId } from '../../src/overlay/node-id.ts';
import { type FindValueAnswer, iterativeLookup, type LookupOptions, type LookupResult, type OverlayRpc } from '../../src/overlay/lookup.ts';

/** A record in the fake network: just the key it belongs to and who stored it. */
export interface FakeRecord {
  key: string;
  value: string;
  forged?: boolean;
}

export interface SimNode {
  contact: Contact;
  table: RoutingTable;
  records: Map<string, FakeRecord[]>;
  attacker: boolean;
  alive: boolean;
}

let hostCounter = 0;
/** A contact with a fresh random key, valid ID and PoW, and its own /24. */
export function makeContact(random: SeededRandom, difficulty: number): Contact {
  const publicKey = random.bytes(32);
  const n = hostCounter++;
  return {
    id: sha256(publicKey),
    publicKey,
    pow: mintProofOfWork(publicKey, difficulty),
    address: { host: `10.${(n >> 8) & 0xff}.${n & 0xff}.${1 + random.int(250)}`, port: 4000 + random.int(1000) },
  };
}

export interface SimOptions {
  nodes: number;
  seed?: number;
  difficulty?: number;
  k?: number;
  /** Fraction of nodes that are attackers (they are in honest routing tables too). */
  attackerFraction?: number;
  /** Fraction of honest nodes that are dead (in tables, never answer). */
  deadFraction?: number;
  /** One-way latency range in ms (default 10..60). */
  latency?: [number, number];
}

export class SimNetwork {
  readonly clock = new VirtualClock();
  readonly random: SeededRandom;
  readonly verifier: ContactVerifier;
  readonly nodes: SimNode[] = [];
  readonly byKey = new Map<string, SimNode>();
  readonly k: number;
  readonly difficulty: number;
  /** Extra Sybil contacts per target that attackers hand out (minted near the target). */
  private readonly colonies = new Map<string, Contact[]>();
  private readonly latency: [number, number];
  rpcCount = 0;

  constructor(options: SimOptions) {
    this.random = new SeededRandom(options.seed ?? 1);
    this.difficulty = options.difficulty ?? 4;
    this.k = options.k ?? 20;
    this.latency = options.latency ?? [10, 60];
    this.verifier = new ContactVerifier({ difficulty: this.difficulty });
    for (let i = 0; i < options.nodes; i++) {
      const contact = makeContact(this.random, this.difficulty);
      const node: SimNode = {
        contact, records: new Map(), attacker: false, alive: true,
        table: new RoutingTable({ self: contact.id, clock: this.clock, k: this.k, verify: (c) => this.verifier.accepts(c) }),
      };
      this.nodes.push(node);
      this.byKey.set(idKey(contact.id), node);
    }
    const attackers = Math.round((options.attackerFraction ?? 0) * options.nodes);
    const dead = Math.round((options.deadFraction ?? 0) * options.nodes);
    const order = this.shuffled(this.nodes.length);
    for (let i = 0; i < attackers; i++) this.nodes[order[i]!]!.attacker = true;
    for (let i = attackers; i < attackers + dead; i++) this.nodes[order[i]!]!.alive = false;
    this.fillTables();
  }

  get honest(): SimNode[] {
    return this.nodes.filter((n) => !n.attacker);
  }

  private shuffled(n: number): number[] {
    const a = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.random.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /**
   * Fill each node's buckets the way a converged Kademlia network would: for each
   * common-prefix length, up to k random nodes of that subtree. In the ID-sorted order
   * each subtree is a contiguous range, found by binary search.
   */
  private fillTables(): void {
    const sorted = this.nodes.slice().sort((a, b) => compareIds(a.contact.id, b.contact.id));
    const ids = sorted.map((n) => n.contact.id);
    /** First index whose id is >= x (strict: > x). */
    const search = (x: Uint8Array, strict: boolean) => {
      let lo = 0, hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const c = compareIds(ids[mid]!, x);
        if (c < 0 || (strict && c === 0)) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    /** The first `bits` bits of `self` (bit `bits` flipped if `flip`), the rest all `fill`. */
    const bound = (self: NodeId, bits: number, flip: boolean, fill: 0 | 0xff) => {
      const x = new Uint8Array(32);
      for (let i = 0; i < 32; i++) {
        const keep = Math.max(0, Math.min(8, bits - 8 * i));
        const mask = (0xff << (8 - keep)) & 0xff;
        x[i] = (self[i]! & mask) | (fill & ~mask & 0xff);
      }
      if (flip) {
        const bit = 0x80 >> (bits & 7);
        x[bits >> 3] = (x[bits >> 3]! & ~bit) | (~self[bits >> 3]! & bit);
      }
      return x;
    };
    const count = (self: NodeId, bits: number, flip: boolean): [number, number] => {
      const start = search(bound(self, bits, flip, 0), false);
      const end = search(bound(self, bits, flip, 0xff), true);
      return [start, end - start];
    };
    for (const node of this.nodes) {
      const self = node.contact.id;
      for (let cpl = 0; cpl < 255; cpl++) {
        const [start, n] = count(self, cpl, true); // the subtree that differs at bit `cpl`
        if (n > 0) {
          const picks = n <= this.k ? Array.from({ length: n }, (_, i) => start + i) : this.sample(start, n, this.k);
          for (const i of picks) node.table.add(sorted[i]!.contact);
        }
        if (count(self, cpl + 1, false)[1] <= 1) break; // nobody else shares cpl+1 bits
      }
    }
  }

  private sample(start: number, count: number, n: number): number[] {
    const chosen = new Set<number>();
    while (chosen.size < n) chosen.add(start + this.random.int(count));
    return [...chosen];
  }

  /** The true `n` closest nodes to `target` among `pool` (one pass keeping a sorted top-n). */
  trueClosest(target: NodeId, n: number, pool: SimNode[] = this.nodes): SimNode[] {
    const top: SimNode[] = [];
    for (const node of pool) {
      if (top.length === n && compareDistance(target, node.contact.id, top[n - 1]!.contact.id) >= 0) continue;
      let i = top.length;
      while (i > 0 && compareDistance(target, top[i - 1]!.contact.id, node.contact.id) > 0) i--;
      top.splice(i, 0, node);
      if (top.length > n) top.length = n;
    }
    return top;
  }

  /** Mark a random `fraction` of the honest nodes dead (they stay in everyone's tables). */
  kill(fraction: number): void {
    const honest = this.nodes.filter((x) => !x.attacker && x.alive);
    const count = Math.round(fraction * this.nodes.length);
    for (let i = 0; i < count && honest.length > 0; i++) honest.splice(this.random.int(honest.length), 1)[0]!.alive = false;
  }

  /** Store a record under `key` at the k closest live honest nodes (what a healthy publish achieves). */
  publish(key: NodeId, value: string): void {
    const live = this.nodes.filter((n) => !n.attacker && n.alive);
    for (const n of this.trueClosest(key, this.k, live)) {
      const list = n.records.get(idKey(key)) ?? [];
      list.push({ key: idKey(key), value });
      n.records.set(idKey(key), list);
    }
  }

  /**
   * Give the attackers `count` Sybil IDs minted close to `target`: they grind keys and
   * keep the ones nearest the target (the classic eclipse preparation). With `payWork`
   * false the IDs carry no proof of work (a cheap Sybil flood).
   */
  prepareEclipse(target: NodeId, count: number, grind: number, payWork = true): void {
    const attackers = this.nodes.filter((n) => n.attacker);
    if (attackers.length === 0) return;
    const best: Contact[] = [];
    for (let i = 0; i < grind; i++) {
      const pk = this.random.bytes(32);
      const id = sha256(pk);
      if (best.length < count || compareDistance(target, id, best[best.length - 1]!.id) < 0) {
        const host = attackers[i % attackers.length]!.contact.address;
        best.push({ id, publicKey: pk, pow: new Uint8Array(8), address: host });
        best.sort((a, b) => compareDistance(target, a.id, b.id));
        if (best.length > count) best.length = count;
      }
    }
    // Pay the (low) proof of work only for the keepers, so they pass verification.
    const colony = payWork ? best.map((c) => ({ ...c, pow: mintProofOfWork(c.publicKey, this.difficulty) })) : best;
    for (const c of colony) {
      const owner = attackers[this.random.int(attackers.length)]!;
      this.byKey.set(idKey(c.id), { ...owner, contact: c });
    }
    this.colonies.set(idKey(target), colony);
  }

  private attackerAnswer(target: NodeId): Contact[] {
    const colony = this.colonies.get(idKey(target)) ?? [];
    const realAttackers = this.nodes.filter((n) => n.attacker).map((n) => n.contact);
    return [...colony, ...realAttackers].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, this.k);
  }

  private delay<T>(signal: AbortSignal, answer: (() => T) | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      let timer: { cancel(): void } | undefined;
      const onAbort = () => {
        timer?.cancel();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (!answer) return; // a dead node: only the abort (timeout) ends this request
      const [lo, hi] = this.latency;
      const rtt = 2 * (lo + this.random.int(hi - lo + 1));
      timer = this.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(answer());
      }, rtt);
    });
  }

  readonly rpc: OverlayRpc<FakeRecord> = {
    findNode: (to, target, signal) => {
      this.rpcCount++;
      const node = this.byKey.get(idKey(to.id));
      if (!node || !node.alive) return this.delay(signal, undefined);
      if (node.attacker) return this.delay(signal, () => this.attackerAnswer(target));
      return this.delay(signal, () => node.table.closest(target, this.k));
    },
    findValue: (to, key, signal) => {
      this.rpcCount++;
      const node = this.byKey.get(idKey(to.id));
      if (!node || !node.alive) return this.delay<FindValueAnswer<FakeRecord>>(signal, undefined);
      if (node.attacker) {
        // A forged record (fails verification) plus Sybil contacts.
        return this.delay<FindValueAnswer<FakeRecord>>(signal, () => ({ records: [{ key: idKey(key), value: 'forged', forged: true }], contacts: this.attackerAnswer(key) }));
      }
      const records = node.records.get(idKey(key));
      return this.delay<FindValueAnswer<FakeRecord>>(signal, () => (records?.length ? { records } : { contacts: node.table.closest(key, this.k) }));
    },
  };

  /** Run a lookup from `from` to completion on the virtual clock. */
  async lookup(from: SimNode, options: Partial<LookupOptions<FakeRecord>> & Pick<LookupOptions<FakeRecord>, 'target' | 'mode'>): Promise<LookupResult<FakeRecord>> {
    let result: LookupResult<FakeRecord> | undefined;
    const p = iterativeLookup<FakeRecord>({
      seeds: from.table.closest(options.target, this.k),
      rpc: this.rpc,
      clock: this.clock,
      self: from.contact.id,
      verifyContact: (c) => this.verifier.accepts(c),
      acceptRecord: (r) => !r.forged && r.key === idKey(options.target),
      timeoutMs: 1000,
      ...options,
    }).then((r) => (result = r));
    while (!result) await this.clock.advance(25);
    await p;
    return result;
  }
}

/** p-th percentile (0..100) of numbers, nearest-rank. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
