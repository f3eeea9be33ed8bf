/**
 * One simulation scenario: a population of N nodes joins over a warm-up period, then for
 * `durationS` simulated seconds nodes leave and arrive (churn) while lookups of random
 * live names run at a steady rate; the result is a flat object of figures.
 *
 * - **Population**: `publicFraction` of the nodes are public (supernode candidates, each
 *   in its own /24); the rest sit behind home NATs of the four kinds (population.ts).
 * - **Roles** (stand-in node): the real election rule (election.ts) run by every node
 *   (sim-election.ts). Seeds are supernodes (`always`); every other honest node starts,
 *   and returns, in `auto` as a leaf, and each minute (random phase) a leaf may promote
 *   itself and a supernode may demote itself or move leaves elsewhere; the scenario
 *   carries a decision out by restarting the node in its new role (same spec, same
 *   departure schedule). The only roles not from the rule are the converged start's: it
 *   seats `election.startRatio` (default `supernodeRatio`) x the honest nodes, public ones
 *   in random order, as supernodes at t0, because it models a network that has been
 *   running (its sessions began up to an hour earlier, which counts as uptime).
 *   `supernodeRatio` is configuration, not a target: it sets the supernodes' capacity
 *   (`maxSessionsFor`: leaves refused beyond it, promotions when leaves see their
 *   supernodes above 80% of it), and the reported ratio is whatever the rule reaches.
 *   Modelling choices: reachability is taken from the topology (a public host) instead of
 *   a dial-back (OverlayNode's is tested on real network namespaces); a leaf learns its
 *   supernodes' loads from their attach answers and probe echoes, as OverlayNode does; a
 *   supernode's upstream is its host's sent bytes over the round against a budget of
 *   `election.budgetShare` (10%) of its uplink.
 *   With OverlayNode (`always`/`never`) the scenario still assigns roles: a public node
 *   that (re)joins becomes a supernode while supernodes are fewer than the ratio, and
 *   every minute, below 90% of it, the public leaves with the best uplink are promoted.
 * - **Churn**: session lengths are exponential with rate `churnPerHour` for leaves (a
 *   median of ln 2 / churn hours: 0.69 gives the 1 h median) and a quarter of it for
 *   public nodes; each departure is followed, after an exponential pause (mean 60 s),
 *   by an arrival: a node that was offline, returning with its identity, seq and host
 *   cache (70%), or a brand-new node that knows only the seeds (30%). A new session
 *   always gets a new address. Seeds and attackers do not churn.
 * - **Sybil** (`sybil: 0.2`): extra attacker supernodes, `sybil` of all supernodes, half
 *   with cheap IDs (no proof of work: refused by every verifier) and half paying the work
 *   cost; they answer with fake close contacts and drop stores (sim-peer.ts). Lookups
 *   and their targets are honest nodes.
 * - **Seed outage** (`seedOutage: true`): every seed goes down for good when the
 *   measurement starts; joining nodes must use their host caches (peer exchange keeps
 *   them fresh). New nodes, which know only the seeds, cannot join: counted.
 *
 * Traffic is counted per session from the later of (join + 120 s) and the start of the
 * measurement, so joining is excluded; idle leaves are leaves that started no lookup.
 * - **Split over threads** (`threads: N`): the nodes are dealt to N regions by index
 *   (`index % N`), each run by {@link runScenarioShare} on its own worker thread with its
 *   own clock, SimNet share and random streams for its nodes; the draws that decide the
 *   whole network (identities, the converged start's seating and placement) come from the
 *   same streams in every region, which acts only on its own nodes. Regions are
 *   `regionLatencyMs` (60 ms) apart one way, which is the lookahead of the swaps
 *   (sim-share.ts). What crosses besides datagrams: messages handed across as objects (as
 *   their real encoding), sessions starting and ending, new nodes, published names (lookup
 *   targets), warm-start stores, and a sum the regions agree on (lookups still out at the
 *   end). Each region issues every N-th lookup from its own nodes, to any published name;
 *   leaves try supernodes of their own region first. Differences from one thread, by
 *   design: lookups that cross regions take longer; a warm-start store at a member of
 *   another region counts as accepted if that member is honest and online. Figures are
 *   merged by {@link mergeReport}.
 * @module
 */
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { SMALL_EPOCH, VirtualClock } from '../../virtual-clock.ts';
import { SeededRandom } from '../../random.ts';
import { SimNet } from '../../net/sim.ts';
import type { Timer } from '../../clock.ts';
import { MessageRegistry } from '../../wire/messages.ts';
import type { HostCache } from '../host-cache.ts';
import { compareDistance, idEquals, toHex } from '../node-id.ts';
import { type PresenceRecord, recordKeys } from '../presence-record.ts';
import { DEFAULT_PEER_CONFIG, type NodeSpec, type PeerConfig, SIM_PORT, SimWorld } from './sim-world.ts';
import { Population } from './population.ts';
import { type SimLookupResult, SimPeer, type SimRole, type WarmStart } from './sim-peer.ts';
import { OverlayPeer } from './overlay-peer.ts';
import { SimKeyDirectory } from './overlay-links.ts';
import type { Contact } from '../contact.ts';
import type { SimHost } from '../../net/sim.ts';
import { percentile, round, snapshot, TrafficAccount, type TrafficSnapshot } from './metrics.ts';
import { type ElectionCounts, SimElection } from './sim-election.ts';
import { DEFAULT_ELECTION_POLICY, type ElectionPolicy } from '../election.ts';
import { flushShare, type ShareExchange, stepShare } from '../../net/share-stepper.ts';
import { ShareMailbox } from '../../net/share-mailbox.ts';
import { spawnWorker } from '../../spawn-worker.ts';
import type { Random } from '../../random.ts';

/** What the scenario needs of a node: the stand-in {@link SimPeer} or an {@link OverlayPeer}. */
export interface ScenarioPeer {
  readonly spec: NodeSpec;
  readonly role: SimRole;
  readonly host: SimHost;
  readonly hostCache: HostCache;
  readonly isSupernode: boolean;
  readonly ready: boolean;
  readonly lookups: number;
  readonly publishedAt: number | undefined;
  readonly supernodes: readonly unknown[];
  readonly serviceStats: { rateLimited: number } | undefined;
  start(seeds: readonly Contact[]): void;
  close(): void;
  lookup(name: string): Promise<SimLookupResult>;
  held(key: Uint8Array): number;
}

/** Scenario names. */
export type ScenarioName = 'baseline' | 'sybil' | 'seed-outage';

/** Options of {@link runScenario}. */
export interface ScenarioOptions {
  name?: ScenarioName;
  /** Nodes online at once (attackers included). */
  nodes: number;
  /** Measured simulated seconds (after the warm-up). */
  durationS: number;
  /** Sessions ending per leaf per hour (0: no churn). */
  churnPerHour: number;
  /** Lookups spread evenly over the measured period. */
  lookups: number;
  seed: number;
  /**
   * How the initial population comes online: `warm` (default for the stand-in node) starts
   * from a converged network (see module docs); `cold` has every node join from the seeds
   * during the warm-up, each with a full publish (the join storm; the only start of
   * OverlayNode, which has no warm-start hooks).
   */
  start?: 'warm' | 'cold';
  /** Warm-up simulated seconds before the measurement (default: warm 60; cold 60 + nodes/50, at most 300). */
  warmupS?: number;
  /** Share of public nodes (default 0.15). */
  publicFraction?: number;
  /**
   * Supernodes / live nodes the configuration aims at (default 0.1). With the stand-in it
   * sets the supernodes' capacity (see {@link maxSessionsFor}); the ratio reached is the
   * election's. With OverlayNode the scenario assigns roles to hold it.
   */
  supernodeRatio?: number;
  /** The stand-in's election (sim-election.ts). */
  election?: {
    /** Supernodes / nodes seated by the converged start (default `supernodeRatio`). */
    startRatio?: number;
    /** Overrides of the election policy (election.ts). */
    policy?: Partial<ElectionPolicy>;
    /** Round period (default 60 s). */
    electionMs?: number;
    /** A supernode's upstream budget as a share of its uplink (default 0.1). */
    budgetShare?: number;
    /** Leaves a supernode serves at most (default {@link maxSessionsFor}). */
    maxSessions?: number;
  };
  /** Seeds (default 8): the first supernodes. */
  seeds?: number;
  /** Attacker share of all supernodes (default 0). */
  sybil?: number;
  /** All seeds go down when the measurement starts. */
  seedOutage?: boolean;
  /**
   * Which node runs: `stand-in` (sim-peer.ts, default) or `overlay` (the real OverlayNode
   * on simulated links; not with `sybil`, whose attackers speak the stand-in's protocol).
   */
  node?: 'stand-in' | 'overlay';
  /** Overrides of the stand-in node's tunables. */
  peer?: Partial<PeerConfig>;
  /** Called about every simulated minute with progress figures. */
  onProgress?: (p: ScenarioProgress) => void;
  /**
   * Split the simulation over this many threads (default 1): each runs a share of the
   * nodes (dealt by index) as a region of the network, on its own clock and SimNet, and
   * the shares swap datagrams and bookkeeping every `regionLatencyMs` of virtual time
   * (sim-share.ts). Stand-in node only.
   */
  threads?: number;
  /** One-way core latency between regions when split (default 60 ms; 20 within a region). */
  regionLatencyMs?: number;
  /**
   * Windows per region latency when split (default 3): a region may run up to this many
   * less one windows ahead of the slowest (share-mailbox.ts), absorbing uneven windows.
   */
  swapDepth?: number;
}

/** A session's traffic counts from this long after it joined (joining is not idle traffic). */
export const TRAFFIC_SETTLE_MS = 120_000;

/** One share of a split run (see {@link ScenarioOptions.threads}). */
export interface ScenarioShare {
  index: number;
  count: number;
  exchange: ShareExchange;
}

/** What one share measured; {@link mergeReport} combines them. Plain data (crosses threads). */
export interface ScenarioPartial {
  supernodes: number;
  /** Per 10 s sample: honest supernodes, and honest live nodes. */
  snSamples: number[];
  liveSamples: number[];
  lookupsDone: number;
  lookupsFound: number;
  hops: number[];
  latencies: number[];
  traffic: Record<'leaf' | 'leafIdle' | 'supernode', { seconds: number; packets: number; bytes: number; nodes: number }>;
  departures: number;
  arrivals: number;
  promotions: number;
  freshArrivals: number;
  joinFailures: { returning: number; fresh: number };
  counts: ElectionCounts;
  promotionsByRound: [number, number][];
  datagrams: number;
  drops: number;
  simSeconds: number;
  heapMax: number;
  wireCheck: { checked: number; mismatches: number; firstMismatch: string | undefined } | undefined;
  /** A share's traffic with the others: datagrams and messages sent across, and wall time spent in swaps. */
  split: { datagrams: number; messages: number; swapMs: number } | undefined;
}

/** First bytes of the scenario's notes between shares. */
const STORE_NOTE = 0x60;
const PUBLISHED_NOTE = 0x61;
const COUNT_NOTE = 0x62;

/** Progress of a running scenario. */
export interface ScenarioProgress {
  scenario: ScenarioName;
  simSeconds: number;
  live: number;
  supernodes: number;
  lookupsDone: number;
  lookupsFound: number;
  wallSeconds: number;
}

/** Figures of one scenario (with the election's counts: promotions, demotions, reasons, leaves moved). */
export interface ScenarioReport extends ElectionCounts {
  scenario: ScenarioName;
  nodes: number;
  /** Mean live supernodes (honest) over the measurement. */
  supernodes: number;
  /** Sampled every 10 s of the measurement; `last` is the final sample. */
  supernodeRatio: { target: number; min: number; mean: number; max: number; last: number; band: [number, number]; within: boolean };
  attackers: number;
  lookups: number;
  lookupSuccess: number;
  hopsP50: number;
  hopsP95: number;
  hopsMax: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  /** All leaves: bytes per node per second (both directions, headers included). */
  leafBytesPerSec: number;
  /** Leaves that started no lookup (idle). */
  leafIdleBytesPerSec: number;
  traffic: {
    leaf: ReturnType<TrafficAccount['toJSON']>;
    leafIdle: ReturnType<TrafficAccount['toJSON']>;
    supernode: ReturnType<TrafficAccount['toJSON']>;
  };
  departures: number;
  arrivals: number;
  /** Stand-in election: the sessions cap (0 with OverlayNode). */
  maxSessions: number;
  /** Arrivals not attached/joined 60 s after arriving (new nodes in a seed outage, mostly). */
  joinFailures: { returning: number; fresh: number; freshArrivals: number };
  datagrams: number;
  drops: number;
  simSeconds: number;
  wallSeconds: number;
  heapMB: number;
  /** With `peer.wireCheck`: messages checked against the real encoding, and mismatches (sim-endpoint.ts). */
  wireCheck?: { checked: number; mismatches: number; firstMismatch: string | undefined };
  /**
   * A split run (`threads` > 1): threads, datagrams and messages that crossed between
   * shares, and the wall seconds each share spent in swaps (waiting for the slowest).
   */
  split?: { threads: number; datagramsCrossed: number; messagesCrossed: number; swapSeconds: number[] };
}

interface Live {
  peer: ScenarioPeer;
  spec: NodeSpec;
  /** Session start for the election's uptime (in the past for the converged start). */
  startedAt: number;
  start: TrafficSnapshot | undefined;
  settleAt: number;
  fresh: boolean;
  ended: boolean;
  departure: Timer | undefined;
}

/** The simulation's time step (ms): datagrams are delivered, and timers fire, in batches this long. */
const TIME_STEP_MS = 1;

/** Run one scenario to completion; see module docs. */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioReport> {
  const wall0 = performance.now();
  const threads = options.threads ?? 1;
  if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`threads must be a whole number >= 1, got ${options.threads}`);
  if (threads === 1) return mergeReport(options, [await runScenarioShare(options)], wall0);
  if (options.node === 'overlay') throw new Error('a split simulation (threads > 1) runs the stand-in node only');
  return mergeReport(options, await runSplit(options, threads), wall0);
}

/** Run `options` on `threads` worker threads, one share each; their partial figures. */
async function runSplit(options: ScenarioOptions, threads: number): Promise<ScenarioPartial[]> {
  const buffer = ShareMailbox.allocate(threads, 64 << 20, options.swapDepth ?? 3);
  const { onProgress, ...plain } = options;
  const progress = new Map<number, ScenarioProgress[]>();
  const workers: ReturnType<typeof spawnWorker>[] = [];
  try {
    return await Promise.all(Array.from({ length: threads }, (_, index) => new Promise<ScenarioPartial>((resolve, reject) => {
      const w = spawnWorker(new URL('./scenario-worker.ts', import.meta.url), { buffer, index, count: threads, options: plain });
      workers.push(w);
      w.on('message', (m: { progress?: ScenarioProgress; partial?: ScenarioPartial; error?: string }) => {
        if (m.progress) {
          // Progress once every share has reported the same simulated minute.
          const got = progress.get(m.progress.simSeconds) ?? [];
          got.push(m.progress);
          progress.set(m.progress.simSeconds, got);
          if (got.length === threads) {
            progress.delete(m.progress.simSeconds);
            const sum = (f: (p: ScenarioProgress) => number) => got.reduce((a, p) => a + f(p), 0);
            onProgress?.({ ...m.progress, live: sum((p) => p.live), supernodes: sum((p) => p.supernodes), lookupsDone: sum((p) => p.lookupsDone), lookupsFound: sum((p) => p.lookupsFound), wallSeconds: Math.max(...got.map((p) => p.wallSeconds)) });
          }
        } else if (m.partial) {
          resolve(m.partial);
        } else {
          reject(new Error(`share ${index}: ${m.error}`));
        }
      });
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`share ${index}'s thread exited (${code}) before it finished`)));
    })));
  } finally {
    for (const w of workers) void w.terminate();
  }
}

/**
 * Run the whole scenario (no `share`), or one share of a split run, and return what it
 * measured. A share runs its own nodes; every share makes the same global draws (who
 * the nodes are, who is seated as a supernode at a warm start) from the same streams.
 */
export async function runScenarioShare(options: ScenarioOptions, share?: ScenarioShare): Promise<ScenarioPartial> {
  const wall0 = performance.now();
  const { name, useOverlay, ratio, policy, maxSessions, attackers } = settingsOf(options);
  // Under attack a leaf publishes through two supernodes: one of them may be an attacker that drops it.
  // A stand-in supernode refuses leaves beyond its election capacity, as OverlayNode does.
  const config: PeerConfig = { ...DEFAULT_PEER_CONFIG, ...(options.sybil ? { publishVia: 2 } : {}), ...(useOverlay ? {} : { maxLeaves: maxSessions }), ...options.peer };
  const root = new SeededRandom(options.seed);
  // A share draws its own nodes' randomness from its own streams; the global draws come
  // from `root`'s, the same in every share.
  const local = share ? new SeededRandom(options.seed * 7919 + 101 * (share.index + 1)) : undefined;
  const netRandom = pick(root.fork(), local);
  const popRandom = root.fork();
  const churnRandom = pick(root.fork(), local);
  const workRandom = pick(root.fork(), local);
  const peerRandom = pick(root.fork(), local);
  const mintRandom = local ? local.fork() : popRandom;
  // Timers of one millisecond fire as a batch, as the network delivers its datagrams, and
  // on whole milliseconds from a small start: every timestamp the nodes keep (links, probes,
  // NAT mappings, timers) is then a small integer, stored unboxed (docs/BENCHMARKS.md).
  const clock = new VirtualClock(SMALL_EPOCH, { batchMs: TIME_STEP_MS, wholeMs: true });
  const net = new SimNet({
    clock, random: netRandom, latencyMs: 20, jitterMs: 2, loss: 0.001, timeResolutionMs: TIME_STEP_MS,
    ...(share ? { share: { index: share.index, count: share.count, latencyMs: options.regionLatencyMs ?? 60 } } : {}),
  });
  const world = new SimWorld(clock, net, config, new MessageRegistry());
  const keys = new SimKeyDirectory();
  if (useOverlay && options.sybil) throw new Error('the Sybil scenario runs on the stand-in node only');
  if (useOverlay && share) throw new Error('a split simulation runs the stand-in node only');
  const pop = new Population({ net, random: popRandom, powDifficulty: config.powDifficulty, ...(local ? { placeRandom: local.fork(), share: share!.index } : {}) });
  // The exchange, timed: how long this share waits for (and swaps with) the others.
  let swapMs = 0;
  const exchange: ShareExchange | undefined = share && {
    depth: share.exchange.depth,
    swap(outgoing) {
      const t = performance.now();
      const incoming = share.exchange.swap(outgoing);
      swapMs += performance.now() - t;
      return incoming;
    },
  };
  /** Swap with the other shares now (a window of no length: every share does it at the same time). */
  const swapNow = () => {
    if (exchange) flushShare({ clock, net }, exchange);
  };
  const isLocal = (spec: NodeSpec) => world.isLocal(spec.index);

  const N = options.nodes;
  const publicFraction = options.publicFraction ?? 0.15;
  const warmStart = (options.start ?? (useOverlay ? 'cold' : 'warm')) === 'warm';
  if (warmStart && useOverlay) throw new Error('OverlayNode has no warm start: use start: cold');
  const warmupMs = 1000 * (options.warmupS ?? (warmStart ? 60 : Math.min(300, 60 + Math.round(N / 50))));
  const durationMs = 1000 * options.durationS;
  const t0 = clock.now();
  const measureStart = t0 + warmupMs;
  const end = measureStart + durationMs;
  const honest = N - attackers;

  const live: Live[] = [];
  const liveByIndex = new Map<number, Live>();
  const offline: NodeSpec[] = [];
  const caches = new Map<number, HostCache>();
  /** Live sessions that published a record (lookup targets, checked when drawn). */
  const published: Live[] = [];
  const publishedSet = new Set<Live>();
  let supernodes = 0;
  let departures = 0, arrivals = 0, promotions = 0, freshArrivals = 0;
  const joinFailures = { returning: 0, fresh: 0 };
  const leafAll = new TrafficAccount();
  const leafIdle = new TrafficAccount();
  const snAll = new TrafficAccount();
  const snSamples: number[] = [];
  const liveSamples: number[] = [];
  let lookupsDone = 0, lookupsFound = 0, lookupsOutstanding = 0;
  const hops: number[] = [];
  const latencies: number[] = [];
  let heapMax = 0;

  /** Nodes of other shares whose record is published, with when (split runs). */
  const remotePublished = new Map<number, number>();
  /** The same as a list to draw from: index and time pairs, stale once the map says otherwise. */
  const remoteDrawn: number[] = [];
  const events = {
    published(peer: { readonly spec: NodeSpec }) {
      const l = liveByIndex.get(peer.spec.index);
      if (l && l.peer === peer && !publishedSet.has(l)) {
        published.push(l);
        publishedSet.add(l);
        if (share && l.peer.publishedAt !== undefined) {
          const note = new Uint8Array(13);
          note[0] = PUBLISHED_NOTE;
          new DataView(note.buffer).setUint32(1, l.spec.index);
          new DataView(note.buffer).setFloat64(5, l.peer.publishedAt);
          net.note(note);
        }
      }
    },
  };
  world.onRemoteSession = (index, online) => {
    if (!online) remotePublished.delete(index);
  };
  /** Values the shares sent with {@link agree}, by share. */
  const agreed = new Map<number, number>();
  world.onScenarioNote = (bytes) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes[0] === PUBLISHED_NOTE) {
      const index = view.getUint32(1), at = view.getFloat64(5);
      // A republish names the same session's first publish time: listed once.
      if (remotePublished.get(index) !== at) remoteDrawn.push(index, at);
      remotePublished.set(index, at);
    } else if (bytes[0] === STORE_NOTE) {
      const keyLength = bytes[1]!;
      const key = bytes.slice(2, 2 + keyLength);
      const count = view.getUint16(2 + keyLength);
      const at = 4 + keyLength;
      const record = JSON.parse(new TextDecoder().decode(bytes.subarray(at + 4 * count))) as PresenceRecord;
      for (let i = 0; i < count; i++) {
        const l = liveByIndex.get(view.getUint32(at + 4 * i));
        if (l && !l.ended) (l.peer as SimPeer).storeDirect(key, record);
      }
    } else if (bytes[0] === COUNT_NOTE) {
      agreed.set(view.getUint32(1), view.getFloat64(5));
    }
  };
  /** The sum of `value` over every share (all shares call it at the same virtual time). */
  const agree = (value: number): number => {
    if (!share) return value;
    const note = new Uint8Array(13);
    note[0] = COUNT_NOTE;
    new DataView(note.buffer).setUint32(1, share.index);
    new DataView(note.buffer).setFloat64(5, value);
    net.note(note);
    agreed.clear();
    swapNow();
    let sum = value;
    for (const v of agreed.values()) sum += v;
    return sum;
  };
  const electionRandom = useOverlay ? undefined : root.fork();
  const election = useOverlay ? undefined : new SimElection(clock, local ? local.fork() : electionRandom!, {
    maxSessions, policy,
    ...(options.election?.electionMs ? { electionMs: options.election.electionMs } : {}),
    ...(options.election?.budgetShare !== undefined ? { budgetShare: options.election.budgetShare } : {}),
  });

  // During the warm-up the population is still arriving: aim at the full size.
  const wantSupernodes = () => Math.round(ratio * (clock.now() < measureStart ? honest : live.length - attackersLive()));
  let attackersOnline = 0;
  const attackersLive = () => attackersOnline;

  function startSession(spec: NodeSpec, role: 'leaf' | 'supernode', fresh: boolean, start = true, startedAt = clock.now()): Live {
    const host = pop.place(spec);
    if (spec.isPublic) spec.contact = { id: spec.identity.idBytes, publicKey: spec.identity.publicKey, pow: spec.pow, address: { host: host.ip, port: SIM_PORT } };
    else spec.contact = undefined;
    const peer: ScenarioPeer = useOverlay
      ? new OverlayPeer(world, spec, role, host, peerRandom.fork(), events, caches.get(spec.index), keys, world.seedList)
      : new SimPeer(world, spec, role, host, peerRandom.fork(), events, caches.get(spec.index));
    caches.set(spec.index, peer.hostCache);
    world.announceSession(spec, true);
    const l: Live = { peer, spec, startedAt, start: undefined, settleAt: clock.now() + TRAFFIC_SETTLE_MS, fresh, ended: false, departure: undefined };
    live.push(l);
    liveByIndex.set(spec.index, l);
    if (election && !spec.attacker) enroll(l);
    if (role === 'supernode' && !spec.attacker) supernodes++;
    if (spec.attacker) {
      attackersOnline++;
      world.invalidate();
    }
    if (start) peer.start(world.seedContacts());
    return l;
  }

  function endSession(l: Live): void {
    if (l.ended) return;
    l.ended = true;
    l.departure?.cancel();
    const host = l.peer.host;
    if (l.start) {
      const to = snapshot(host, clock.now());
      if (l.peer.isSupernode) snAll.add(l.start, to);
      else {
        leafAll.add(l.start, to);
        if (l.peer.lookups === 0) leafIdle.add(l.start, to);
      }
    }
    if (l.peer.isSupernode && !l.spec.attacker) supernodes--;
    if (l.spec.attacker) {
      attackersOnline--;
      world.invalidate();
    }
    l.peer.close();
    pop.remove(l.spec);
    l.spec.host = undefined;
    world.announceSession(l.spec, false);
    const i = live.indexOf(l);
    if (i >= 0) {
      live[i] = live[live.length - 1]!;
      live.pop();
    }
    if (liveByIndex.get(l.spec.index) === l) liveByIndex.delete(l.spec.index);
    const j = publishedSet.delete(l) ? published.indexOf(l) : -1;
    if (j >= 0) {
      published[j] = published[published.length - 1]!;
      published.pop();
    }
  }

  const seedIndices = new Set<number>();
  function isSeed(spec: NodeSpec): boolean {
    return seedIndices.has(spec.index);
  }

  /**
   * The role a (re)joining node starts in. Stand-in: attackers and seeds are supernodes,
   * every other node starts in `auto` as a leaf and the election decides. OverlayNode
   * (which the scenario runs as `always` or `never`): public nodes join as supernodes
   * while they are fewer than the ratio, and the top-up below promotes more.
   */
  function roleFor(spec: NodeSpec): 'leaf' | 'supernode' {
    if (spec.attacker || isSeed(spec)) return 'supernode';
    if (election) return 'leaf';
    return spec.isPublic && supernodes < wantSupernodes() + 1 ? 'supernode' : 'leaf';
  }

  /** End `l`'s session and start its node again in `role`, keeping its departure schedule. */
  function restart(l: Live, role: 'leaf' | 'supernode'): void {
    const departure = l.departure;
    l.departure = undefined;
    endSession(l);
    const nl = startSession(l.spec, role, false);
    if (departure) {
      departure.cancel();
      scheduleDeparture(nl);
    }
  }

  function enroll(l: Live): void {
    const peer = l.peer as SimPeer;
    election!.enroll({
      node: {
        get isSupernode() {
          return peer.isSupernode;
        },
        host: peer.host,
        hostCache: peer.hostCache,
        attachedIds: () => peer.supernodes.map((i) => toHex(world.specs[i]!.identity.idBytes)),
        get areaLoads() {
          return peer.areaLoads;
        },
        get missingAttachments() {
          return peer.missingAttachments;
        },
        get leafCount() {
          return peer.leafCount;
        },
        shedLeaves: (n) => peer.shedLeaves(n),
      },
      isPublic: l.spec.isPublic,
      uplinkKbps: l.spec.uplinkKbps,
      startedAt: l.startedAt,
      seed: isSeed(l.spec),
      live: () => !l.ended,
      promote: () => restart(l, 'supernode'),
      demote: () => restart(l, 'leaf'),
    });
  }

  function scheduleDeparture(l: Live): void {
    const churn = options.churnPerHour;
    if (churn <= 0 || l.spec.attacker || isSeed(l.spec)) return;
    const rate = (l.spec.isPublic ? churn / 4 : churn) / 3600_000;
    const after = -Math.log(1 - churnRandom.float()) / rate;
    l.departure = clock.setTimeout(() => {
      if (l.ended) return;
      departures++;
      endSession(l);
      offline.push(l.spec);
      const pause = -Math.log(1 - churnRandom.float()) * 60_000;
      clock.setTimeout(arrive, pause);
    }, after);
  }

  function arrive(): void {
    if (clock.now() >= end) return;
    arrivals++;
    let spec: NodeSpec;
    let fresh = false;
    if (offline.length > 0 && churnRandom.float() < 0.7) {
      const i = churnRandom.int(offline.length);
      spec = offline[i]!;
      offline[i] = offline[offline.length - 1]!;
      offline.pop();
    } else {
      spec = pop.mint(nextFreshIndex(), churnRandom.float() < publicFraction, 'no', mintRandom);
      world.add(spec);
      world.announceSpec(spec);
      fresh = true;
      freshArrivals++;
    }
    const l = startSession(spec, roleFor(spec), fresh);
    scheduleDeparture(l);
    clock.setTimeout(() => {
      if (!l.ended && !l.peer.ready) {
        if (l.fresh) joinFailures.fresh++;
        else joinFailures.returning++;
      }
    }, 60_000);
  }

  /** Index of a new node: next after every index in use (a split run's shares take turns). */
  let freshCount = 0;
  function nextFreshIndex(): number {
    if (!share) return world.specs.length;
    // Indices this share owns (index % count === share) from N on.
    const first = N + ((share.index - (N % share.count) + share.count) % share.count);
    return first + share.count * freshCount++;
  }

  // --- initial population ------------------------------------------------------
  const specs: NodeSpec[] = [];
  for (let i = 0; i < honest; i++) {
    const spec = pop.mint(i, popRandom.float() < publicFraction);
    world.add(spec);
    specs.push(spec);
  }
  // Enough public nodes for the seeds and the supernode target, whatever the draw.
  const needPublic = Math.max(options.seeds ?? 8, Math.ceil(ratio * honest * 1.3));
  for (let i = 0, have = specs.filter((s) => s.isPublic).length; have < needPublic && i < specs.length; i++) {
    const s = specs[i]!;
    if (!s.isPublic) {
      const replacement = pop.mint(s.index, true);
      world.add(replacement);
      specs[i] = replacement;
      have++;
    }
  }
  for (let i = 0; i < attackers; i++) {
    const spec = pop.mint(honest + i, true, i % 2 === 0 ? 'paid' : 'cheap');
    world.add(spec);
    specs.push(spec);
  }
  const publics = specs.filter((s) => s.isPublic && !s.attacker).sort((a, b) => b.uplinkKbps - a.uplinkKbps);
  const seedCount = Math.min(options.seeds ?? 8, publics.length);
  // Seeds: online from the start (every node is configured with their addresses).
  const seedSpecs = publics.slice(0, seedCount);
  for (const spec of seedSpecs) seedIndices.add(spec.index);
  const seedSessions = seedSpecs.filter(isLocal).map((spec) => startSession(spec, 'supernode', false, false));
  const others = specs.filter((s) => !seedSpecs.includes(s));
  if (warmStart) startConverged(seedSpecs, others, root.fork());
  else startCold(seedSessions, others, share ? root.fork() : workRandom);

  function startCold(seedSessions: Live[], others: NodeSpec[], random: Random): void {
    swapNow(); // the seeds' addresses
    for (const spec of seedSpecs) world.addSeed(spec.index);
    for (const l of seedSessions) l.peer.start(world.seedContacts());
    // Everyone else joins during the warm-up: public nodes in the first 30%, the rest after.
    const publicFirst = others.filter((s) => s.isPublic);
    const leavesAfter = others.filter((s) => !s.isPublic);
    const spread = (list: NodeSpec[], from: number, to: number) => {
      list.forEach((spec, i) => {
        const at = from + ((to - from) * (i + random.float())) / Math.max(1, list.length);
        if (!isLocal(spec)) return;
        clock.setTimeout(() => {
          const l = startSession(spec, roleFor(spec), false);
          scheduleDeparture(l);
        }, at);
      });
    };
    spread(publicFirst, 1000, 0.3 * warmupMs);
    spread(leavesAfter, 0.3 * warmupMs, 0.9 * warmupMs);
  }

  /**
   * The converged start: every node is online at t0 in the role it would have (public
   * nodes first, in random order, take the supernode places). Supernodes are offered every
   * other supernode's contact through RoutingTable.add (verified; caps and full-bucket
   * pings apply), as their tables would have filled over time. Records are signed with an
   * issue time uniform over the last half-lifetime (so republishing spreads over the
   * measured hour, as in a running network) and stored through RecordStore.put at the k
   * closest DHT members by XOR of each key: where a converged publish puts them (paid
   * attackers among those closest drop theirs, as they drop stores). Leaves attach for
   * real from a host cache of 30 random supernodes (a returning node's cache), then their
   * record names the supernodes they got.
   */
  function startConverged(seedSpecs: NodeSpec[], others: NodeSpec[], random: SeededRandom): void {
    const shuffle = <T>(xs: T[]): T[] => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = random.int(i + 1);
        [xs[i], xs[j]] = [xs[j]!, xs[i]!];
      }
      return xs;
    };
    // Every node of the network, in the same order in every share; `live` for this share's.
    const sessions: { spec: NodeSpec; supernode: boolean; live: Live | undefined }[] = seedSpecs.map((spec) => ({ spec, supernode: true, live: liveByIndex.get(spec.index) }));
    // Seated at t0 (the stand-in's only roles not from the election): `startRatio` of
    // the honest nodes, public ones in random order. Sessions began up to an hour ago.
    const seat = Math.round((options.election?.startRatio ?? ratio) * honest);
    let seated = seedSpecs.length;
    const began = () => clock.now() - random.float() * 3600_000;
    for (const spec of shuffle(others.filter((x) => x.isPublic))) {
      const role = spec.attacker || (election ? seated < seat : roleFor(spec) === 'supernode') ? 'supernode' : 'leaf';
      if (role === 'supernode' && !spec.attacker) seated++;
      const at = began();
      sessions.push({ spec, supernode: role === 'supernode', live: isLocal(spec) ? startSession(spec, role, false, false, at) : undefined });
    }
    for (const spec of others.filter((x) => !x.isPublic)) {
      const at = began();
      sessions.push({ spec, supernode: false, live: isLocal(spec) ? startSession(spec, 'leaf', false, false, at) : undefined });
    }
    swapNow(); // every share's addresses and contacts
    for (const spec of seedSpecs) world.addSeed(spec.index);
    const sn = sessions.filter((l) => l.supernode);
    const contacts = sn.map((l) => l.spec.contact!);
    // Members a lookup can reach: supernodes whose IDs pass the contact check (not cheap Sybils).
    const members = sn.filter((l) => world.contacts.accepts(l.spec.contact!));
    const k = config.k;
    // XOR distance compared on the first 32 bits as a number, the whole ID only on a tie.
    const memberIds = members.map((m) => m.spec.contact!.id);
    const memberTop = Uint32Array.from(memberIds, top32);
    const closer = (key: Uint8Array, keyTop: number, i: number, j: number): boolean => {
      const di = (memberTop[i]! ^ keyTop) >>> 0;
      const dj = (memberTop[j]! ^ keyTop) >>> 0;
      return di !== dj ? di < dj : compareDistance(key, memberIds[i]!, memberIds[j]!) < 0;
    };
    const place = (record: PresenceRecord): boolean => {
      let ok = true;
      for (const key of recordKeys(record)) {
        // The k members closest to `key`, closest first.
        const keyTop = top32(key);
        const order: number[] = [];
        for (let m = 0; m < members.length; m++) {
          if (order.length === k && !closer(key, keyTop, m, order[k - 1]!)) continue;
          let i = order.length;
          while (i > 0 && closer(key, keyTop, m, order[i - 1]!)) i--;
          order.splice(i, 0, m);
          if (order.length > k) order.pop();
        }
        const best = order.map((i) => members[i]!);
        let accepted = 0;
        const remote: number[] = [];
        for (const m of best) {
          if (m.live) {
            if (!m.live.ended && (m.live.peer as SimPeer).storeDirect(key, record)) accepted++;
          } else if (world.publicIpOf(m.spec.index) !== undefined) {
            // A member on another share stores it at the next swap; honest ones accept it.
            remote.push(m.spec.index);
            if (!m.spec.attacker) accepted++;
          }
        }
        if (remote.length > 0) storeRemote(remote, key, record);
        if (accepted === 0) ok = false;
      }
      return ok;
    };
    const half = config.recordLifetimeMs / 2;
    const warm = (): WarmStart => ({ issuedAt: Math.floor(clock.now() - random.float() * half), place });
    for (const l of sessions) {
      const peer = l.live?.peer as SimPeer | undefined;
      if (l.supernode) {
        const known = shuffle(contacts.slice());
        const w = warm();
        peer?.startWarm(known, w);
      } else {
        const picks: Contact[] = [];
        for (let i = 0; i < 30 && contacts.length > 0; i++) picks.push(contacts[random.int(contacts.length)]!);
        const w = warm();
        if (peer) {
          for (const c of picks) peer.hostCache.recordSuccess(toHex(c.id), c.address);
          peer.startWarm([], w);
        }
      }
      if (l.live) scheduleDeparture(l.live);
    }
  }

  /** Have nodes `members` of other shares store `record` under `key` (a converged start's placement): one note per share. */
  function storeRemote(members: number[], key: Uint8Array, record: PresenceRecord): void {
    const json = new TextEncoder().encode(JSON.stringify(record));
    for (let sh = 0; sh < world.shareCount; sh++) {
      const mine = members.filter((i) => world.shareOf(i) === sh);
      if (mine.length === 0) continue;
      const note = new Uint8Array(4 + key.byteLength + 4 * mine.length + json.byteLength);
      const view = new DataView(note.buffer);
      note[0] = STORE_NOTE;
      note[1] = key.byteLength;
      note.set(key, 2);
      view.setUint16(2 + key.byteLength, mine.length);
      const at = 4 + key.byteLength;
      mine.forEach((index, i) => view.setUint32(at + 4 * i, index));
      note.set(json, at + 4 * mine.length);
      net.note(note, sh);
    }
  }

  // --- supernode top-up (OverlayNode only: the stand-in runs the election) -----------
  const electionTimer = clock.setInterval(() => {
    if (election) return;
    const want = wantSupernodes();
    if (supernodes >= 0.9 * want) return;
    const candidates = live.filter((l) => !l.peer.isSupernode && l.spec.isPublic && !l.spec.attacker).sort((a, b) => b.spec.uplinkKbps - a.spec.uplinkKbps);
    for (const l of candidates) {
      if (supernodes >= want) break;
      promotions++;
      const departure = l.departure;
      l.departure = undefined;
      endSession(l);
      const nl = startSession(l.spec, 'supernode', false);
      nl.departure = departure;
      if (departure) {
        departure.cancel();
        scheduleDeparture(nl);
      }
    }
  }, 60_000);

  // --- seed outage ----------------------------------------------------------------
  if (options.seedOutage) {
    clock.setTimeout(() => {
      for (const spec of seedSpecs) {
        const l = liveByIndex.get(spec.index);
        if (l) endSession(l);
      }
    }, warmupMs);
  }

  // --- measurement: traffic baselines, ratio samples, lookups ------------------------
  const sampler = clock.setInterval(() => {
    const now = clock.now();
    if (now < measureStart) return;
    for (const l of live) {
      if (!l.start && now >= l.settleAt) l.start = snapshot(l.peer.host, now);
    }
    snSamples.push(supernodes);
    liveSamples.push(live.length - attackersOnline);
    const heap = process.memoryUsage().heapUsed;
    if (heap > heapMax) heapMax = heap;
  }, 10_000);

  const honestReady = (l: Live) => !l.spec.attacker && !l.ended && l.peer.ready;
  let lookupTimer: Timer | undefined;
  if (options.lookups > 0) {
    const every = durationMs / options.lookups;
    let issued = 0;
    const issue = () => {
      if (issued >= options.lookups) return;
      issued++;
      // A split run's shares take turns, each from its own nodes.
      if (share && (issued - 1) % share.count !== share.index) return;
      let source: Live | undefined;
      for (let tries = 0; tries < 50 && !source; tries++) {
        const l = live[workRandom.int(live.length)];
        if (l && honestReady(l)) source = l;
      }
      if (!source) return;
      const target = drawTarget(source);
      if (target === undefined) return;
      const pk = target.spec.identity.publicKey;
      lookupsOutstanding++;
      void source.peer.lookup(target.spec.name).then((r) => {
        lookupsOutstanding--;
        lookupsDone++;
        const ok = r.records.some((rec) => idEquals(hexBytes(rec.publicKey), pk));
        if (ok) {
          lookupsFound++;
          if (r.hops >= 0) hops.push(r.hops); // -1: the node does not report hops
          latencies.push(r.latencyMs);
        }
      }, () => {
        lookupsOutstanding--;
        lookupsDone++;
      });
    };
    clock.setTimeout(() => {
      issue();
      lookupTimer = clock.setInterval(issue, every);
    }, warmupMs + every / 2);
  }

  /** A local session whose record has been out for 30 s, published by an honest node. */
  function targetReady(l: Live): boolean {
    return !l.spec.attacker && !l.ended && l.peer.publishedAt !== undefined && clock.now() - l.peer.publishedAt >= 30_000;
  }

  /** Another share's published node, its record out for 30 s (`at`: its first publish), of an honest node. */
  function remoteReady(index: number, at: number): boolean {
    return !world.specs[index]!.attacker && clock.now() - at >= 30_000;
  }

  /**
   * A lookup target, uniform over the published records out for 30 s (local or another
   * share's), other than `source`'s own when there is another: drawn and checked (the
   * remote list keeps sessions since gone), with a full scan when draws keep missing.
   */
  function drawTarget(source: Live): { spec: NodeSpec; live: Live | undefined } | undefined {
    const remote = remoteDrawn.length / 2;
    for (let tries = 0; tries < 64; tries++) {
      const i = workRandom.int(published.length + remote);
      if (i < published.length) {
        const l = published[i]!;
        if (l !== source && targetReady(l)) return { spec: l.spec, live: l };
      } else {
        const index = remoteDrawn[2 * (i - published.length)]!, at = remoteDrawn[2 * (i - published.length) + 1]!;
        if (remotePublished.get(index) === at && remoteReady(index, at)) return { spec: world.specs[index]!, live: undefined };
      }
    }
    const targets: { spec: NodeSpec; live: Live | undefined }[] = published.filter(targetReady).map((l) => ({ spec: l.spec, live: l }));
    for (const [index, at] of remotePublished) if (remoteReady(index, at)) targets.push({ spec: world.specs[index]!, live: undefined });
    if (targets.length === 0) return undefined;
    let t = workRandom.int(targets.length);
    if (targets[t]!.live === source && targets.length > 1) t = (t + 1) % targets.length;
    return targets[t];
  }

  // --- run ---------------------------------------------------------------------------
  let nextProgress = t0 + 60_000;
  const step = 1000;
  for (let t = t0 + step; t <= end; t += step) {
    if (share) await stepShare({ clock, net }, exchange!, t);
    else await clock.runUntil(t);
    if (t >= nextProgress) {
      nextProgress += 60_000;
      options.onProgress?.({
        scenario: name, simSeconds: Math.round((t - t0) / 1000), live: live.length, supernodes,
        lookupsDone, lookupsFound, wallSeconds: round((performance.now() - wall0) / 1000, 1),
      });
    }
  }
  lookupTimer?.cancel();
  // Let lookups in flight finish (they are bounded by their timeouts); the shares of a
  // split run agree on whether any has some.
  for (let i = 0; i < 60 && agree(lookupsOutstanding) > 0; i++) {
    if (share) await stepShare({ clock, net }, exchange!, clock.now() + 1000);
    else await clock.runUntil(clock.now() + 1000);
  }
  const finishedAt = clock.now();
  for (const l of [...live]) {
    if (!l.start) continue;
    const to = snapshot(l.peer.host, finishedAt);
    if (l.peer.isSupernode) {
      if (!l.spec.attacker) snAll.add(l.start, to);
    } else {
      leafAll.add(l.start, to);
      if (l.peer.lookups === 0) leafIdle.add(l.start, to);
    }
    l.start = undefined;
  }
  const stats = net.stats();
  const partial: ScenarioPartial = {
    supernodes,
    snSamples,
    liveSamples,
    lookupsDone,
    lookupsFound,
    hops,
    latencies,
    traffic: { leaf: { ...leafAll }, leafIdle: { ...leafIdle }, supernode: { ...snAll } },
    departures,
    arrivals,
    promotions,
    freshArrivals,
    joinFailures,
    counts: election?.counts ?? { promotions, demotions: 0, promotionReasons: {}, demotionReasons: {}, leavesShed: 0, maxPromotionsPerRound: 0 },
    promotionsByRound: election ? [...election.promotionsByRound] : [],
    datagrams: stats.deliveredPackets,
    drops: Object.values(stats.drops).reduce((a, b) => a + b, 0),
    simSeconds: Math.round((finishedAt - t0) / 1000),
    heapMax,
    wireCheck: world.wireCheck ? { checked: world.wireCheck.checked, mismatches: world.wireCheck.mismatches, firstMismatch: world.wireCheck.firstMismatch } : undefined,
    split: share ? { datagrams: stats.sharedOut, messages: world.post.shared.sent, swapMs: Math.round(swapMs) } : undefined,
  };
  sampler.cancel();
  electionTimer.cancel();
  election?.close();
  for (const l of [...live]) {
    l.ended = true;
    l.departure?.cancel();
    l.peer.close();
  }
  net.close();
  return partial;
}

/** Combine the shares' figures (one share when not split) into the scenario's report. */
export function mergeReport(options: ScenarioOptions, parts: readonly ScenarioPartial[], wall0: number): ScenarioReport {
  const { name, ratio, maxSessions, attackers } = settingsOf(options);
  const sum = (f: (p: ScenarioPartial) => number) => parts.reduce((a, p) => a + f(p), 0);
  const ratioSamples: number[] = [];
  const snSamples: number[] = [];
  const samples = Math.min(...parts.map((p) => p.snSamples.length));
  for (let i = 0; i < samples; i++) {
    const sn = sum((p) => p.snSamples[i]!);
    const n = sum((p) => p.liveSamples[i]!);
    if (n > 0) {
      ratioSamples.push(sn / n);
      snSamples.push(sn);
    }
  }
  const hops = parts.flatMap((p) => p.hops);
  const latencies = parts.flatMap((p) => p.latencies);
  const account = (k: 'leaf' | 'leafIdle' | 'supernode') => {
    const a = new TrafficAccount();
    for (const p of parts) a.absorb(p.traffic[k]);
    return a;
  };
  const leafAll = account('leaf');
  const leafIdle = account('leafIdle');
  const snAll = account('supernode');
  const lookupsDone = sum((p) => p.lookupsDone);
  const lookupsFound = sum((p) => p.lookupsFound);
  const meanRatio = ratioSamples.length ? ratioSamples.reduce((a, b) => a + b, 0) / ratioSamples.length : 0;
  const band: [number, number] = [round(ratio * 0.75, 4), round(ratio * 1.25, 4)];
  const minR = ratioSamples.length ? Math.min(...ratioSamples) : 0;
  const maxR = ratioSamples.length ? Math.max(...ratioSamples) : 0;
  const counts: ElectionCounts = { promotions: 0, demotions: 0, promotionReasons: {}, demotionReasons: {}, leavesShed: 0, maxPromotionsPerRound: 0 };
  const byRound = new Map<number, number>();
  for (const p of parts) {
    counts.promotions += p.counts.promotions;
    counts.demotions += p.counts.demotions;
    counts.leavesShed += p.counts.leavesShed;
    for (const [k, v] of Object.entries(p.counts.promotionReasons)) counts.promotionReasons[k] = (counts.promotionReasons[k] ?? 0) + v;
    for (const [k, v] of Object.entries(p.counts.demotionReasons)) counts.demotionReasons[k] = (counts.demotionReasons[k] ?? 0) + v;
    for (const [r, n] of p.promotionsByRound) byRound.set(r, (byRound.get(r) ?? 0) + n);
    counts.maxPromotionsPerRound = Math.max(counts.maxPromotionsPerRound, p.counts.maxPromotionsPerRound);
  }
  for (const n of byRound.values()) counts.maxPromotionsPerRound = Math.max(counts.maxPromotionsPerRound, n);
  const checks = parts.filter((p) => p.wireCheck !== undefined).map((p) => p.wireCheck!);
  return {
    scenario: name,
    nodes: options.nodes,
    supernodes: snSamples.length ? Math.round(snSamples.reduce((a, b) => a + b, 0) / snSamples.length) : sum((p) => p.supernodes),
    supernodeRatio: { target: ratio, min: round(minR, 4), mean: round(meanRatio, 4), max: round(maxR, 4), last: round(ratioSamples.at(-1) ?? 0, 4), band, within: minR >= band[0] && maxR <= band[1] },
    attackers,
    lookups: lookupsDone,
    lookupSuccess: lookupsDone ? round(lookupsFound / lookupsDone, 4) : 0,
    hopsP50: hops.length ? percentile(hops, 50) : -1,
    hopsP95: hops.length ? percentile(hops, 95) : -1,
    hopsMax: hops.length ? percentile(hops, 100) : -1,
    latencyP50Ms: Math.round(percentile(latencies, 50)),
    latencyP95Ms: Math.round(percentile(latencies, 95)),
    leafBytesPerSec: leafAll.bytesPerSec,
    leafIdleBytesPerSec: leafIdle.bytesPerSec,
    traffic: { leaf: leafAll.toJSON(), leafIdle: leafIdle.toJSON(), supernode: snAll.toJSON() },
    departures: sum((p) => p.departures),
    arrivals: sum((p) => p.arrivals),
    ...counts,
    maxSessions,
    joinFailures: { returning: sum((p) => p.joinFailures.returning), fresh: sum((p) => p.joinFailures.fresh), freshArrivals: sum((p) => p.freshArrivals) },
    datagrams: sum((p) => p.datagrams),
    drops: sum((p) => p.drops),
    simSeconds: parts[0]!.simSeconds,
    wallSeconds: round((performance.now() - wall0) / 1000, 1),
    heapMB: Math.round(sum((p) => p.heapMax) / 2 ** 20),
    ...(parts.length > 1 ? { split: { threads: parts.length, datagramsCrossed: sum((p) => p.split?.datagrams ?? 0), messagesCrossed: sum((p) => p.split?.messages ?? 0), swapSeconds: parts.map((p) => round((p.split?.swapMs ?? 0) / 1000, 1)) } } : {}),
    ...(checks.length ? { wireCheck: { checked: checks.reduce((a, c) => a + c.checked, 0), mismatches: checks.reduce((a, c) => a + c.mismatches, 0), firstMismatch: checks.find((c) => c.firstMismatch)?.firstMismatch } } : {}),
  };
}

/** What a scenario's options imply, for every share and for the merged report. */
function settingsOf(options: ScenarioOptions) {
  const name: ScenarioName = options.name ?? (options.sybil ? 'sybil' : options.seedOutage ? 'seed-outage' : 'baseline');
  const useOverlay = options.node === 'overlay';
  const ratio = options.supernodeRatio ?? 0.1;
  const policy: ElectionPolicy = { ...DEFAULT_ELECTION_POLICY, ...options.election?.policy };
  const attachments = options.peer?.attachments ?? DEFAULT_PEER_CONFIG.attachments;
  const maxSessions = useOverlay ? 0 : options.election?.maxSessions ?? maxSessionsFor(ratio, attachments, policy);
  const sybil = options.sybil ?? 0;
  const attackers = sybil > 0 ? Math.round((sybil / (1 - sybil)) * ratio * options.nodes) : 0;
  return { name, useOverlay, ratio, policy, attachments, maxSessions, sybil, attackers };
}

/** `shared` in a single run; a share's own stream (drawn from `local`) in a split run. */
function pick(shared: SeededRandom, local: SeededRandom | undefined): SeededRandom {
  return local ? local.fork() : shared;
}

/**
 * The stand-in supernodes' capacity for a configured ratio: `attachments / ratio` leaf
 * sessions per supernode (each node keeps `attachments`) is to be the load at which
 * leaves start promoting (`overloadedPct`): 0.1 gives 38. Promotions keep supernodes from
 * staying above it and churn takes the supernodes down, so the ratio settles near the
 * configured one: a little above, because leaves attach to their nearest supernodes
 * rather than evenly (the spare room of the less loaded ones is not seen), which the
 * leaf's own count (`1 - ratio` of the nodes are leaves) roughly offsets.
 */
export function maxSessionsFor(ratio: number, attachments: number, policy: ElectionPolicy = DEFAULT_ELECTION_POLICY): number {
  return Math.max(1, Math.round(attachments / (ratio * (policy.overloadedPct / 100))));
}

/** The first 32 bits of an ID as an unsigned number. */
function top32(id: Uint8Array): number {
  return ((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) >>> 0;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
