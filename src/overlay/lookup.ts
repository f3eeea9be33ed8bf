/**
 * Iterative Kademlia lookup with S/Kademlia disjoint paths, over an abstract RPC.
 *
 * A lookup starts from the closest contacts the local routing table knows, asks `alpha`
 * of them in parallel for contacts closer to the target, and keeps asking the closest
 * unqueried ones until the `k` closest it has heard of have all answered (or failed),
 * or, for a value lookup, until a valid record turns up.
 *
 * With `paths = d > 1` the seeds are dealt round-robin into `d` lookups (paths)
 * that never query the same node: each node is claimed by the first path that queries
 * it. An attacker who captures one path (by answering with its own, closer-looking
 * Sybil contacts) cannot steer the others, so one honest path is enough to find a
 * signed record (S/Kademlia, Baumgart & Mies 2007).
 *
 * A node lookup with several paths counts "the k closest" over the whole lookup: a path
 * does not ask a candidate while k nodes closer than it have answered or are being
 * asked on any path, since it could not enter the result (if one of those fails, the
 * paths look again). Otherwise each path would run to its own k answers (k x d
 * requests for a store) for the same result, the k closest of their union. Value
 * lookups keep their paths independent: attackers whose IDs sit next to the key must
 * not be able to stop the honest paths early.
 *
 * Work is bounded: at most `maxRpcs` requests per lookup (split evenly across paths),
 * at most `k` contacts taken from any one answer, a bounded shortlist per path, and a
 * per-request timeout on the injected clock. Every contact is checked with
 * `verifyContact` (ID derivation, proof of work) before it is used.
 *
 * Hops: a seed queried directly is at hop 1; a contact learned from a node at hop `h`
 * is at hop `h + 1`. `hops` reports the hop of the node that produced the value (value
 * lookups) or of the closest node found (node lookups).
 *
 * @example
 * ```ts
 * const result = await iterativeLookup({
 *   target: nameKey('alice'), mode: 'value',
 *   seeds: table.closest(nameKey('alice'), 20),
 *   rpc, clock: env.clock, paths: 3,
 *   verifyContact: (c) => verifier.accepts(c),
 *   acceptRecord: (r) => store.check(r).ok,
 *   onResponded: (c) => table.add(c),
 *   onFailed: (c) => table.markFailed(c.id),
 * });
 * if (result.found) console.log(result.records, 'in', result.hops, 'hops');
 * ```
 * @module
 */
import type { Clock, Timer } from '../clock.ts';
import { type Contact, isWellFormedContact } from './contact.ts';
import { compareDistance, idEquals, idKey, type NodeId } from './node-id.ts';

/** Answer to a FIND_VALUE request: the records the node holds for the key, or closer contacts. */
export type FindValueAnswer<R> = { records: R[]; contacts?: Contact[] } | { records?: undefined; contacts: Contact[] };

/**
 * The requests a lookup needs from the network layer. Implementations send them over
 * an authenticated session to `to`, validate the answer's schema, and reject (or
 * resolve empty) on error. They must stop and reject promptly when `signal` aborts
 * (the lookup aborts on its per-request timeout and when it finishes).
 */
export interface OverlayRpc<R> {
  /** FIND_NODE: up to k contacts `to` knows closest to `target`. */
  findNode(to: Contact, target: NodeId, signal: AbortSignal): Promise<Contact[]>;
  /** FIND_VALUE: the records `to` stores under `key`, or, failing that, closer contacts. */
  findValue(to: Contact, key: NodeId, signal: AbortSignal): Promise<FindValueAnswer<R>>;
}

/** Options for {@link iterativeLookup}. */
export interface LookupOptions<R> {
  /** The ID or key to look up. */
  target: NodeId;
  /** 'node' finds the k closest nodes; 'value' stops when records are found. */
  mode: 'node' | 'value';
  /** Starting contacts, e.g. `table.closest(target, k)`. */
  seeds: readonly Contact[];
  rpc: OverlayRpc<R>;
  clock: Clock;
  /** Check a contact before using it (ID = hash of key, proof of work). */
  verifyContact: (c: Contact) => boolean;
  /** Check a record (signature, key, expiry); records failing it are ignored. Default: accept all. */
  acceptRecord?: (r: R) => boolean;
  /** The local node's ID, never queried. */
  self?: NodeId;
  /** Result size and "closest set" size (default 20). */
  k?: number;
  /** Parallel requests per path (default 3). */
  alpha?: number;
  /** Disjoint paths (default 1; S/Kademlia suggests 4-8 under attack). */
  paths?: number;
  /** Per-request timeout in ms (default 2000). */
  timeoutMs?: number;
  /** Maximum requests for the whole lookup (default 60 per path). */
  maxRpcs?: number;
  /** Value lookups: paths that must find records before the lookup ends (default 1). */
  valueQuorum?: number;
  /** Abort the whole lookup (the promise then resolves with what was found so far). */
  signal?: AbortSignal;
  /** Called for each contact that answered (feed it to the routing table). */
  onResponded?: (c: Contact) => void;
  /** Called for each contact that failed or timed out. */
  onFailed?: (c: Contact) => void;
}

/** Per-path outcome. */
export interface PathResult {
  rpcs: number;
  failures: number;
  found: boolean;
  /** Hop at which this path found the value, or of its closest answering node. */
  hops: number;
}

/** Outcome of {@link iterativeLookup}. */
export interface LookupResult<R> {
  /** Up to k nodes that answered, closest to the target first. */
  closest: Contact[];
  /** Accepted records (value lookups), in the order received, duplicates from several nodes included. */
  records: R[];
  /** True when at least one accepted record was found (value) or any node answered (node). */
  found: boolean;
  /** See module docs; 0 when nothing was found. */
  hops: number;
  rpcs: number;
  failures: number;
  timeouts: number;
  /** True when the request budget ran out before the lookup converged. */
  exhausted: boolean;
  paths: PathResult[];
}

/** Default per-request timeout. */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 2000;

const enum State {
  New,
  InFlight,
  Answered,
  Failed,
}

interface Candidate {
  contact: Contact;
  key: string;
  hop: number;
  state: State;
}

interface Path<R> {
  index: number;
  shortlist: Candidate[];
  known: Set<string>;
  inFlight: number;
  rpcs: number;
  budget: number;
  failures: number;
  found: boolean;
  foundHop: number;
  done: boolean;
  records: R[];
}

/**
 * Run one iterative lookup. Never rejects for network reasons: failures are counted in
 * the result. Resolves when every path has converged, found its value, exhausted its
 * budget, or the signal aborted.
 */
export function iterativeLookup<R>(options: LookupOptions<R>): Promise<LookupResult<R>> {
  const k = options.k ?? 20;
  const alpha = Math.max(1, options.alpha ?? 3);
  const d = Math.max(1, Math.min(options.paths ?? 1, Math.max(1, options.seeds.length)));
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
  const maxRpcs = options.maxRpcs ?? 60 * d;
  const quorum = Math.min(d, Math.max(1, options.valueQuorum ?? 1));
  const shortlistMax = Math.max(3 * k, 2 * alpha);
  const { target, rpc, clock } = options;
  const accept = options.acceptRecord ?? (() => true);
  const selfKey = options.self ? idKey(options.self) : undefined;

  const claimed = new Map<string, number>(); // node -> path that queried it (disjointness)
  // Node lookups only (value lookups leave it empty, so it holds no path back): nodes
  // answered or being asked, on any path, closest first.
  const asked: Candidate[] = [];
  const controllers = new Set<AbortController>();
  const timers = new Set<Timer>();
  let timeouts = 0;
  let finished = false;

  const paths: Path<R>[] = [];
  for (let i = 0; i < d; i++) {
    paths.push({
      index: i, shortlist: [], known: new Set(), inFlight: 0, rpcs: 0,
      budget: Math.floor(maxRpcs / d) + (i < maxRpcs % d ? 1 : 0),
      failures: 0, found: false, foundHop: 0, done: false, records: [],
    });
  }
  // Deal verified seeds, closest first, round-robin over the paths.
  const seeds = options.seeds
    .filter((c) => isWellFormedContact(c) && !(selfKey && idKey(c.id) === selfKey) && options.verifyContact(c))
    .slice()
    .sort((a, b) => compareDistance(target, a.id, b.id));
  const seen = new Set<string>();
  let next = 0;
  for (const c of seeds) {
    const key = idKey(c.id);
    if (seen.has(key)) continue;
    seen.add(key);
    addCandidate(paths[next % d]!, c, 1);
    next++;
  }

  return new Promise<LookupResult<R>>((resolve) => {
    const onAbort = () => finish();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) return finish();
    for (const p of paths) pump(p);
    checkDone();

    function finish(): void {
      if (finished) return;
      finished = true;
      options.signal?.removeEventListener('abort', onAbort);
      for (const t of timers) t.cancel();
      timers.clear();
      for (const c of controllers) c.abort(new Error('lookup finished'));
      controllers.clear();
      resolve(result());
    }

    function checkDone(): void {
      if (finished) return;
      if (options.mode === 'value' && paths.filter((p) => p.found).length >= quorum) return finish();
      if (paths.every((p) => p.done)) finish();
    }

    function pump(p: Path<R>): void {
      if (finished || p.done) return;
      while (p.inFlight < alpha && p.rpcs < p.budget) {
        const c = nextCandidate(p);
        if (!c) break;
        query(p, c);
      }
      if (p.inFlight === 0 && (p.rpcs >= p.budget || !nextCandidate(p))) p.done = true;
    }

    function query(p: Path<R>, cand: Candidate): void {
      cand.state = State.InFlight;
      claimed.set(cand.key, p.index);
      if (options.mode === 'node') noteAsked(cand);
      p.inFlight++;
      p.rpcs++;
      const ac = new AbortController();
      controllers.add(ac);
      let settled = false;
      const timer = clock.setTimeout(() => {
        if (settled) return;
        timeouts++;
        ac.abort(new Error('request timed out'));
        settle(false, undefined);
      }, timeoutMs);
      timers.add(timer);
      let request: Promise<FindValueAnswer<R> | Contact[]>;
      try {
        request = Promise.resolve(
          options.mode === 'value' ? rpc.findValue(cand.contact, target, ac.signal) : rpc.findNode(cand.contact, target, ac.signal),
        );
      } catch (err) {
        request = Promise.reject(err); // an RPC that throws synchronously is just a failed request
      }
      request.then(
        (answer) => settle(true, answer),
        () => settle(false, undefined),
      );

      function settle(ok: boolean, answer: FindValueAnswer<R> | Contact[] | undefined): void {
        if (settled) return;
        settled = true;
        timer.cancel();
        timers.delete(timer);
        controllers.delete(ac);
        if (finished) return;
        p.inFlight--;
        if (ok && answer !== undefined && handleAnswer(p, cand, answer)) {
          cand.state = State.Answered;
          options.onResponded?.(cand.contact);
        } else {
          cand.state = State.Failed;
          p.failures++;
          options.onFailed?.(cand.contact);
          // One fewer node ahead: candidates the other paths held back may count again.
          if (forgetAsked(cand)) {
            for (const q of paths) {
              if (q !== p && q.done) {
                q.done = false;
                pump(q);
              }
            }
          }
        }
        if (options.mode === 'value' && p.found) p.done = true;
        pump(p);
        checkDone();
      }
    }
  });

  /** Apply an answer; false when it is malformed (counted as a failure). */
  function handleAnswer(p: Path<R>, from: Candidate, answer: FindValueAnswer<R> | Contact[]): boolean {
    let contacts: unknown;
    if (options.mode === 'node') {
      if (!Array.isArray(answer)) return false;
      contacts = answer;
    } else {
      if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return false;
      const { records } = answer as { records?: unknown };
      contacts = (answer as { contacts?: unknown }).contacts;
      if (records !== undefined && !Array.isArray(records)) return false;
      if (contacts !== undefined && !Array.isArray(contacts)) return false;
      if (records === undefined && contacts === undefined) return false;
      if (Array.isArray(records) && records.length > 0) {
        let any = false;
        for (const r of records.slice(0, 4 * k) as R[]) {
          if (safeAccept(r)) {
            p.records.push(r);
            any = true;
          }
        }
        if (any && !p.found) {
          p.found = true;
          p.foundHop = from.hop;
        }
      }
    }
    if (!Array.isArray(contacts)) return true;
    let taken = 0;
    for (const c of contacts) {
      if (taken >= k) break; // never let one answer flood the shortlist
      if (!isWellFormedContact(c)) continue;
      taken++;
      addCandidate(p, c, from.hop + 1);
    }
    return true;
  }

  function safeAccept(r: R): boolean {
    try {
      return accept(r) === true;
    } catch {
      return false;
    }
  }

  function addCandidate(p: Path<R>, c: Contact, hop: number): void {
    const key = idKey(c.id);
    if (key === selfKey || p.known.has(key)) return;
    const owner = claimed.get(key);
    if (owner !== undefined && owner !== p.index) return;
    if (!options.verifyContact(c)) return;
    p.known.add(key);
    const cand: Candidate = { contact: c, key, hop, state: State.New };
    // Insert in distance order (shortlists are short; linear insertion keeps it simple).
    const list = p.shortlist;
    let i = list.length;
    while (i > 0 && compareDistance(target, list[i - 1]!.contact.id, c.id) > 0) i--;
    list.splice(i, 0, cand);
    if (list.length > shortlistMax) {
      // Drop the farthest candidate that is not in flight.
      for (let j = list.length - 1; j >= 0; j--) {
        if (list[j]!.state !== State.InFlight) {
          list.splice(j, 1);
          break;
        }
      }
    }
  }

  /** `cand` is being asked: add it to {@link asked} in distance order (at most the request budget). */
  function noteAsked(cand: Candidate): void {
    let i = asked.length;
    while (i > 0 && compareDistance(target, asked[i - 1]!.contact.id, cand.contact.id) > 0) i--;
    asked.splice(i, 0, cand);
  }

  /** `cand` failed: take it out of {@link asked}; true when it was among the k closest there. */
  function forgetAsked(cand: Candidate): boolean {
    const i = asked.indexOf(cand);
    if (i < 0) return false;
    asked.splice(i, 1);
    return i < k;
  }

  /**
   * The closest unqueried candidate among the k closest non-failed ones, if any, and
   * only while fewer than k closer nodes have answered or are being asked.
   */
  function nextCandidate(p: Path<R>): Candidate | undefined {
    let live = 0;
    for (const c of p.shortlist) {
      if (c.state === State.Failed) continue;
      if (live >= k) return undefined;
      live++;
      if (c.state === State.New) {
        const owner = claimed.get(c.key);
        if (owner !== undefined && owner !== p.index) {
          c.state = State.Failed; // another path took it: skip without counting a failure
          live--;
          continue;
        }
        // The shortlist is in distance order: the rest are no closer.
        if (asked.length >= k && compareDistance(target, c.contact.id, asked[k - 1]!.contact.id) > 0) return undefined;
        return c;
      }
    }
    return undefined;
  }

  function result(): LookupResult<R> {
    const merged: Candidate[] = [];
    const keys = new Set<string>();
    for (const p of paths) {
      for (const c of p.shortlist) {
        if (c.state === State.Answered && !keys.has(c.key)) {
          keys.add(c.key);
          merged.push(c);
        }
      }
    }
    merged.sort((a, b) => compareDistance(target, a.contact.id, b.contact.id));
    const closest = merged.slice(0, k).map((c) => c.contact);
    const records = paths.flatMap((p) => p.records);
    const foundPaths = paths.filter((p) => p.found);
    const pathResults: PathResult[] = paths.map((p) => {
      const best = p.shortlist.find((c) => c.state === State.Answered);
      return { rpcs: p.rpcs, failures: p.failures, found: p.found, hops: p.found ? p.foundHop : (best?.hop ?? 0) };
    });
    let hops = 0;
    let found: boolean;
    if (options.mode === 'value') {
      found = foundPaths.length > 0;
      hops = found ? Math.min(...foundPaths.map((p) => p.foundHop)) : 0;
    } else {
      found = merged.length > 0;
      hops = found ? merged[0]!.hop : 0;
    }
    const rpcs = paths.reduce((s, p) => s + p.rpcs, 0);
    return {
      closest, records, found, hops, rpcs,
      failures: paths.reduce((s, p) => s + p.failures, 0),
      timeouts,
      exhausted: paths.some((p) => p.rpcs >= p.budget && !p.found),
      paths: pathResults,
    };
  }
}

/** True when `a` and `b` contain the same node IDs in the same order. */
export function sameContacts(a: readonly Contact[], b: readonly Contact[]): boolean {
  return a.length === b.length && a.every((c, i) => idEquals(c.id, b[i]!.id));
}
