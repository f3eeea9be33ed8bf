/**
 * A running overlay node: bootstrap (seeds, host cache, mDNS, peer exchange), election
 * (always / never / auto with dial-back, score and hysteresis), leaf attachment to 3
 * supernodes watched by their heartbeats and liveness probes (a dead one is replaced and the presence record
 * republished within about 5 s; liveness.ts), the DHT directory among supernodes, presence publishing
 * through supernodes, flooded search, and the signal relay for calls.
 *
 * Everything comes in through components (clock, random, net, log, identity) and the
 * optional `links` factory (default: Noise sessions), so the same node runs on UDP and
 * on SimNet with a virtual clock; the simulator swaps the links for cheap ones and turns
 * off mDNS and the host-cache file.
 *
 * Keys: the user `identity` signs presence records and is who calls are addressed to.
 * The node's *link key* (its overlay node ID, the one that carries a proof of work when
 * it is a supernode) is derived from the identity, the device name and a per-run salt,
 * so several devices of one identity are distinct nodes; a leaf proves to its supernode which
 * identity it speaks for by signing its link key with the identity key.
 *
 * @example
 * ```ts
 * const node = new OverlayNode({ ...env, identity }, { listen: { host: '0.0.0.0', port: 4000 }, seeds, role: 'auto', name: 'alice' });
 * await node.start(signal);
 * const records = await node.lookup('bob');
 * node.snapshot(); // { role, score, roleReason, supernodes, sessions, counters, ... }
 * await node.close();
 * ```
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { Timer } from '../clock.ts';
import type { Logger } from '../log.ts';
import { type Address, type DatagramSocket, formatAddress, sameAddress } from '../net/net.ts';
import { Demux } from '../wire/demux.ts';
import { FragmentedChannel } from '../wire/fragment-channel.ts';
import { MessageEndpoint } from '../wire/message-endpoint.ts';
import { MessageRegistry } from '../wire/messages.ts';
import { RpcPeer } from '../wire/rpc.ts';
import { Identity } from '../identity/identity.ts';
import { fingerprint } from '../identity/fingerprint.ts';
import { type Contact, ContactVerifier, contactFromWire, contactToWire } from './contact.ts';
import { DhtService } from './dht-service.ts';
import { Dht, dhtRpc, newestPerPublisher } from './dht.ts';
import { dhtSendOverRpc, registerDhtHandlers } from './dht-wire.ts';
import { AreaLoad } from './area-load.ts';
import { HostCache, loadHostCacheFile, saveHostCacheFile } from './host-cache.ts';
import { networkPrefix } from './ip-prefix.ts';
import { TypedEvents } from '../typed-events.ts';
import { b64, deriveLinkIdentity, deviceProofMessage, unb64 } from './link-identity.ts';
import { compareDistance, nodeIdFromHex, toHex } from './node-id.ts';
import { mintProofOfWorkAsync } from './proof-of-work.ts';
import { MAX_RECORD_SUPERNODES, nameKey, normalizeName, type PresenceRecord, recordKeys, republishAt, type SupernodeRef } from './presence-record.ts';
import { RouteCache } from './route-cache.ts';
import { hedged } from './hedged.ts';
import { presenceVerifier, signPresence } from './presence-signing.ts';
import { RecordStore } from './record-store.ts';
import { DISTRUST_MS, HoldList, holdsOwnRecord, MAX_DISTRUSTED, oldEnoughToCheck } from './record-check.ts';
import { RoutingTable } from './routing-table.ts';
import { RateLimiter } from './rate-limit.ts';
import { FloodSearch, type SearchMessage } from './search-flood.ts';
import { type OverlayLink, type OverlayLinks, sessionLinks } from './links.ts';
import { areaViewOf, DEFAULT_ELECTION_POLICY, DemotionTracker, type ElectionPolicy, electionScore, leavesToShed, PromotionGate, promotionReason } from './election.ts';
import { byLoadAboveFloor } from './attach-choice.ts';
import { answerTimeoutMs, DEFAULT_LIVENESS, encodeEcho, encodeHeartbeat, leafSilentMs, nextBeatInMs, LivenessProbe, LivenessWatch, type LinkProbe, type LivenessOptions, PROBE_BYTE, probeChannel, stillBeating } from './liveness.ts';
import { encodeDialback, encodeHailAnswer, encodeHailRequest, isProbeByte, parseProbe } from './probes.ts';
import {
  BW_PROBE_BYTES, MAX_SEALED_BYTES, MAX_SEARCH_RESULTS, OVERLAY_MESSAGES, OvAttach, OvBandwidth, OvDeliver, OvDialback, OvFlood, OvHello,
  OvDetach, OvLookup, OvMove, OvPeers, OvPing, OvPublish, OvRelay, OvSearch, OvSignal, OvTurn,
} from './overlay-messages.ts';

export { deriveLinkIdentity } from './link-identity.ts';
export type { OverlayRole, RoleMode, OverlayComponents, Seed, LanDiscovery, ElectionProbes, TurnCredentials, OverlayInit, OverlayCounters, OverlaySnapshot, LookupEntry, OverlayEvents, OverlayEnvelope } from './overlay-types.ts';
import type { OverlayRole, RoleMode, OverlayComponents, Seed, LanDiscovery, ElectionProbes, TurnCredentials, OverlayInit, OverlayCounters, OverlaySnapshot, LookupEntry, OverlayEvents, OverlayEnvelope } from './overlay-types.ts';

interface PeerState {
  link: OverlayLink;
  rpc: RpcPeer;
  endpoint: MessageEndpoint;
  hello: Promise<void> | undefined;
  role: OverlayRole | undefined;
  pow: string | undefined;
  contact: Contact | undefined;
  /** Leaf peers: the user identity and device they proved. */
  user: string | undefined;
  device: string | undefined;
  dhtServed: boolean;
  /** We (a leaf) are attached to this supernode. */
  attachedTo: boolean;
  /** This leaf is attached to us. */
  attachedHere: boolean;
  rttMs: number | undefined;
  load: number | undefined;
  /** The supernode's estimate of its area's load (attach answer, echoes; area-load.ts). */
  area: number | undefined;
  lastPing: number;
  /** Leaves: liveness probes to this supernode while attached. */
  probe: LivenessProbe | undefined;
  /** Supernodes: when we last echoed a probe of this peer. */
  lastEcho: number;
  /** Leaves: until when this supernode is suspect (it did not answer {@link OverlayNode.answeringSupernodes}); signals try it last. */
  suspectUntil: number;
  /** Supernodes: the DHT publish of this leaf's record under way. */
  storing: Promise<void> | undefined;
  /** Leaves: this supernode found our own record since we attached (record-check.ts). */
  verified: boolean;
}

interface SearchResult {
  name: string;
  key: string;
}

/**
 * How long a supernode our probes found dead is not a candidate: long enough for the
 * re-attachment right after, short enough that one dropped by mistake (probes lost under
 * load) is taken back at the next attachment round when there is no other.
 */
const DEAD_HOLD_MS = 12_000;

/** How long an attach round waits for more answers once enough supernodes accepted (ms). */
const ATTACH_GRACE_MS = 300;

/** A supernode that accepted us, not yet kept: the RTT of its answer and the loads it reported. */
interface AttachOffer {
  p: PeerState;
  rtt: number;
  load: number;
  area: number | undefined;
}

/** A leaf's signal not confirmed by its first supernode within this long also goes through the next. */
const SIGNAL_HEDGE_MS = 700;

/** How long a recipient's supernodes from a lookup are used for signals without looking again. */
const ROUTE_TTL_MS = 60_000;

/** {@link OverlayNode.answeringSupernodes} repeats its probe this often (ms). */
const REPROBE_MS = 150;

/** A supernode that did not answer {@link OverlayNode.answeringSupernodes} is tried last for signals this long (ms). */
const SUSPECT_MS = 10_000;

const PROBE = new Uint8Array([PROBE_BYTE]);

let registry: MessageRegistry | undefined;
/** One registry for every node of the process (it is immutable once built). */
function sharedRegistry(): MessageRegistry {
  return (registry ??= new MessageRegistry(OVERLAY_MESSAGES));
}

function isSeedWithId(s: Seed): s is { address: Address; id: string } {
  return typeof (s as { id?: unknown }).id === 'string';
}

/** See module docs. */
export class OverlayNode {
  /** The link identity (its ID is the overlay node ID); a new one at every role change. */
  link: Identity;
  /** Overlay node ID (hex) of the current link identity. */
  id: string;
  readonly mode: RoleMode;
  readonly device: string;
  private readonly c: OverlayComponents;
  private readonly o: Required<Pick<OverlayInit, 'budgetKbps' | 'maxSessions' | 'powDifficulty' | 'attachments' | 'keepaliveMs' | 'recordLifetimeMs' | 'maintenanceMs' | 'electionMs' | 'dhtTimeoutMs' | 'searchWindowMs'>> & OverlayInit;
  private readonly log: Logger;
  private readonly policy: ElectionPolicy;
  private readonly registry = sharedRegistry();
  private readonly verifier: ContactVerifier;
  private readonly verifyRecord: (r: PresenceRecord) => { ok: true } | { ok: false; error: string };
  private socket: DatagramSocket | undefined;
  private probeSocket: DatagramSocket | undefined;
  /** Leaves: one timer for the checks of every attached supernode (liveness.ts). */
  private readonly watch: LivenessWatch;
  private demux: Demux | undefined;
  private links: OverlayLinks | undefined;
  hostCache: HostCache;
  private readonly peers = new Map<string, PeerState>();
  private readonly hails = new Map<string, (key: Uint8Array) => void>();
  private readonly dialbacks = new Map<string, () => void>();
  private role: OverlayRole = 'leaf';
  private roleReason = 'starting';
  private score = 0;
  private reachable: boolean | undefined;
  private pow: Uint8Array | undefined;
  private startedAt = 0;
  private started = false;
  private closed = false;
  private readonly ac = new AbortController();
  private timers: Timer[] = [];
  private keepTimer: Timer | undefined;
  // supernode state
  private table: RoutingTable | undefined;
  /** Supernode: the loads other supernodes reported in their DHT answers. */
  private area: AreaLoad | undefined;
  private store: RecordStore | undefined;
  private service: DhtService | undefined;
  private dht: Dht | undefined;
  private search: FloodSearch<string, SearchResult> | undefined;
  private readonly searchWaiters = new Map<string, SearchResult[]>();
  /** Collects the local answers `FloodSearch.search` reports before it returns the query ID. */
  private syncResults: SearchResult[] | undefined;
  private readonly leafRecords = new Map<string, PresenceRecord>();
  private readonly leavesByUser = new Map<string, Set<string>>();
  private readonly signalLimiter: RateLimiter<string>;
  private readonly demotion: DemotionTracker;
  private readonly promotionGate: PromotionGate;
  private lastSentBytes = 0;
  private lastSentAt = 0;
  // leaf state
  private attaching: Promise<void> | undefined;
  private record: PresenceRecord | undefined;
  private seq = 0;
  private publishing: Promise<void> | undefined;
  private publishAgain = false;
  private publishedAt = 0;
  private republishWanted = false;
  /**
   * Leaf: supernodes that are not candidates for a while: found dead or moved us lately
   * (for {@link DEAD_HOLD_MS}), or could not find our own record (record-check.ts).
   */
  private readonly heldOut = new HoldList<string>(MAX_DISTRUSTED);
  /** Leaf: supernodes a supernode that moved us named, tried first at the next attach round. */
  private moveHints: { id: string; address: Address }[] = [];
  /** Recipients' supernodes from recent lookups (signals of one call look up once). */
  private readonly routes: RouteCache;
  private maintainRounds = 0;
  private lastDetach: OverlaySnapshot['lastDetach'];
  private readonly backgroundWork = new Set<AbortController>();
  /** When our identity's records were last looked up before a publish, and whether another device's showed. */
  private devicesCheckedAt = -Infinity;
  private otherDevices = true;
  private missingAttachments = 0;
  private electionRounds = 0;
  private readonly envelopeHandlers = new Set<(e: OverlayEnvelope) => void>();
  private readonly eventHub = new TypedEvents<OverlayEvents>((err) => this.log.debug({ err: String(err) }, 'event handler failed'));
  readonly counters: OverlayCounters = {
    attaches: 0, attachFailures: 0, reattaches: 0, publishes: 0, lookups: 0, searches: 0, signalsSent: 0, signalsRelayed: 0,
    signalsDelivered: 0, signalsRefused: 0, promotions: 0, demotions: 0, dialbacks: 0, leavesAccepted: 0, leavesRefused: 0, supernodesDistrusted: 0,
  };

  constructor(components: OverlayComponents, init: OverlayInit) {
    this.c = components;
    this.watch = new LivenessWatch(components.clock);
    this.o = {
      budgetKbps: 1000, maxSessions: 100, powDifficulty: 18, attachments: 3, keepaliveMs: [15_000, 25_000],
      recordLifetimeMs: 3600_000, maintenanceMs: 30_000, electionMs: 60_000, dhtTimeoutMs: 2000, searchWindowMs: 1500,
      ...init,
    };
    this.mode = init.role ?? 'auto';
    this.device = init.device ?? 'default';
    this.routes = new RouteCache({ clock: components.clock }, { ttlMs: ROUTE_TTL_MS, maxEntries: 256 });
    this.link = deriveLinkIdentity(components.identity, this.device, components.random.bytes(16));
    this.id = this.link.id;
    this.log = components.log.child({ component: 'overlay', node: this.id.slice(0, 8) });
    this.policy = { ...DEFAULT_ELECTION_POLICY, ...init.election };
    this.verifier = init.contactVerifier ?? new ContactVerifier({ difficulty: this.o.powDifficulty });
    this.verifyRecord = init.verifyRecord ?? presenceVerifier({ clock: components.clock, maxLifetimeMs: this.o.recordLifetimeMs * 2 });
    this.hostCache = init.hostCache ?? new HostCache({ clock: components.clock, maxPerPrefix: init.hostCachePerPrefix });
    this.signalLimiter = new RateLimiter<string>({ clock: components.clock, ratePerSec: 10, burst: 30, maxKeys: 10_000 });
    this.demotion = new DemotionTracker(this.policy);
    this.promotionGate = new PromotionGate(this.policy);
  }

  // --- public API ----------------------------------------------------------------

  /** Current role. */
  get currentRole(): OverlayRole {
    return this.role;
  }

  /** The bound address (after start). */
  get address(): Address | undefined {
    return this.socket?.address;
  }

  /** Our contact (supernodes, after start). */
  get contact(): Contact | undefined {
    if (!this.socket || !this.pow) return undefined;
    return { id: this.link.idBytes, publicKey: this.link.publicKey, pow: this.pow, address: this.socket.address };
  }

  /** Subscribe to an event; returns an unsubscribe function. */
  on<K extends keyof OverlayEvents>(event: K, handler: (e: OverlayEvents[K]) => void): () => void {
    return this.eventHub.on(event, handler);
  }

  /** Bind, bootstrap, and take the configured role. Resolves once the first join attempt finished. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.started) throw new Error('overlay node already started');
    this.started = true;
    signal?.addEventListener('abort', () => void this.close(), { once: true });
    const { clock, random, net, log } = this.c;
    this.startedAt = clock.now();
    this.seq = Math.floor(clock.now());
    if (this.o.hostCachePath) {
      const loaded = await loadHostCacheFile(this.o.hostCachePath, { clock, maxPerPrefix: this.o.hostCachePerPrefix });
      if (loaded.warning) this.log.warn({ warning: loaded.warning }, 'host cache ignored');
      this.hostCache = loaded.cache;
    }
    const socket = await net.bind(this.o.listen);
    this.socket = socket;
    this.demux = new Demux(socket, (err) => this.log.debug({ err: String(err) }, 'overlay handler failed'));
    this.openLinks();
    for (const [cls, h] of Object.entries(this.o.datagramHandlers ?? {})) if (h) this.demux.on(cls as 'stun' | 'turn-channel', h);
    this.demux.on('overlay', (d, from) => {
      if (isProbeByte(d[0])) this.onProbe(d, from);
      else this.links!.receive(d, from);
    });
    this.o.lan?.start((address) => void this.onLanSupernode(address));
    if (this.mode === 'always') {
      await this.promote('configured: --supernode always');
    } else {
      this.setRole('leaf', this.mode === 'never' ? 'configured: --supernode never' : 'auto: starting as leaf', 0);
      await this.attach();
      if (this.o.name && this.attachedCount() > 0) await this.publish();
    }
    this.scheduleKeepalive();
    this.timers.push(clock.setInterval(() => this.maintain(), this.o.maintenanceMs));
    if (this.mode === 'auto') this.timers.push(clock.setInterval(() => void this.electionRound(), this.o.electionMs));
    // Heartbeats on the multiples of the period (liveness.ts).
    const period = this.liveness().periodMs;
    this.timers.push(clock.setTimeout(() => {
      if (!this.closed) this.timers.push(clock.setInterval(() => this.heartbeat(), period));
      this.heartbeat();
    }, nextBeatInMs(clock.now(), this.liveness())));
  }

  /** (Re)build the link layer for the current link identity. */
  private openLinks(): void {
    const { clock, random, log } = this.c;
    const socket = this.socket!;
    const factory = this.o.links ?? sessionLinks();
    const links = factory({
      identity: this.link, clock, random, log,
      send: (d, to) => socket.send(d, to),
      localAddress: socket.address,
      authorize: () => this.peers.size < this.o.maxSessions + 64,
      maxLinks: this.o.maxSessions + 64,
    });
    links.onLink((link) => {
      if (this.links === links) this.adopt(link);
    });
    this.links = links;
  }

  /**
   * A role change makes us a new node on the network: a fresh link identity (and links),
   * so peers never mistake the new role's sessions for the old ones.
   */
  private renewLinkIdentity(reason: string): void {
    for (const p of [...this.peers.values()]) {
      if (p.attachedTo) p.rpc.request(OvDetach, null, { timeoutMs: 2000, retries: 1 }).catch(() => {});
      this.stopProbe(p);
      p.rpc.close(reason);
    }
    this.peers.clear();
    const old = this.links;
    // Let the detach notices leave before the sessions go.
    if (old) this.c.clock.setTimeout(() => old.close(), 1000);
    this.link = deriveLinkIdentity(this.c.identity, this.device, this.c.random.bytes(16));
    this.id = this.link.id;
    this.pow = undefined;
    this.openLinks();
  }

  /** Leave: tell our leaves to move (supernode), save the host cache, close everything. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.role === 'supernode') this.tellLeavesToMove('supernode leaving');
    // Leaves say goodbye (one datagram, unacknowledged) so supernodes free the slot now.
    for (const p of this.attachedPeers()) p.rpc.request(OvDetach, null, { timeoutMs: 1000, retries: 0 }).catch(() => {});
    this.ac.abort(new Error('overlay node closed'));
    for (const ac of this.backgroundWork) ac.abort(new Error('overlay node closed'));
    this.backgroundWork.clear();
    for (const t of this.timers) t.cancel();
    this.keepTimer?.cancel();
    this.o.lan?.close();
    if (this.o.hostCachePath) {
      try {
        await saveHostCacheFile(this.o.hostCachePath, this.hostCache, this.c.random);
      } catch (err) {
        this.log.warn({ err: String(err) }, 'could not save the host cache');
      }
    }
    for (const p of this.peers.values()) {
      this.stopProbe(p);
      p.rpc.close('node closed');
    }
    this.peers.clear();
    this.watch.clear();
    this.links?.close();
    this.table?.close();
    this.demux?.close();
    this.probeSocket?.close();
    this.socket?.close();
  }

  /** Ask a supernode to step down (its leaves move first); `auto` may be re-elected later. */
  async stepDown(reason = 'asked to stop'): Promise<void> {
    if (this.role === 'supernode') await this.demote(reason);
  }

  /** A status view. */
  snapshot(): OverlaySnapshot {
    const attached = [...this.peers.values()].filter((p) => p.attachedTo);
    return {
      id: this.id,
      userKey: this.c.identity.publicKeyHex,
      address: this.socket?.address,
      role: this.role,
      mode: this.mode,
      score: this.score,
      roleReason: this.roleReason,
      reachable: this.reachable,
      supernodes: attached.map((p) => ({ id: p.link.peerId, address: p.link.address, rttMs: p.rttMs, loadPct: p.load, areaLoadPct: p.area })),
      ...(this.role === 'supernode' ? { loadPct: Math.round(this.loadPct()), areaLoadPct: Math.round(this.areaLoadPct()) } : {}),
      leaves: [...this.peers.values()].filter((p) => p.attachedHere).length,
      tableSize: this.table?.size ?? 0,
      storedRecords: this.store?.size ?? 0,
      sessions: this.links?.size ?? 0,
      hostCache: this.hostCache.size,
      published: this.record ? { seq: this.record.seq, expiresAt: this.record.expiresAt, at: this.publishedAt, supernodes: this.record.supernodes.map((s) => s.id) } : undefined,
      lastDetach: this.lastDetach,
      counters: { ...this.counters },
      ...(this.o.lan?.stats ? { lan: this.o.lan.stats() } : {}),
    };
  }

  /** Records stored here (supernodes; for tests and diagnostics) under `key`. */
  storedRecords(key: Uint8Array): PresenceRecord[] {
    return this.store?.get(key) ?? [];
  }

  /** The records for display name `name`, newest first (one per publisher). */
  async lookup(name: string, signal?: AbortSignal): Promise<PresenceRecord[]> {
    return (await this.lookupDetailed(name, signal)).records;
  }

  /**
   * {@link lookup} with the overlay hops it took: the DHT lookup's hops (0 when the
   * supernode that looked held the records itself), plus one for a leaf's request to its
   * supernode. -1 when no supernode answered.
   */
  async lookupDetailed(name: string, signal?: AbortSignal): Promise<{ records: PresenceRecord[]; hops: number }> {
    this.counters.lookups++;
    const found = await this.findRecordsDetailed(nameKey(name), signal);
    // A call usually follows a lookup by name: its signals reuse these routes.
    this.routes.remember(found.records);
    return found;
  }

  /** The records of the identity with public key `userKey` (hex). */
  async lookupKey(userKey: string, signal?: AbortSignal): Promise<PresenceRecord[]> {
    const records = await this.findRecords(sha256(hexToBytes(userKey)), signal);
    this.routes.remember(records);
    return records;
  }

  /** Partial-name search across the supernodes (flooded); unique (name, key) pairs. */
  async searchNames(text: string, signal?: AbortSignal): Promise<SearchResult[]> {
    this.counters.searches++;
    if (this.role === 'supernode') return this.runSearch(text);
    for (const p of this.attachedPeers()) {
      try {
        const a = await p.rpc.request(OvSearch, { text }, { timeoutMs: this.o.searchWindowMs + 5000, signal });
        return a.results;
      } catch {
        // the next supernode
      }
    }
    throw new Error('no supernode answered the search');
  }

  /** Display form of records (`tincan lookup --json`). */
  static describe(records: readonly PresenceRecord[]): LookupEntry[] {
    return records.map((r) => ({
      name: r.name,
      id: r.nodeId,
      publicKey: r.publicKey,
      fingerprint: fingerprint(hexToBytes(r.publicKey)),
      supernodes: r.supernodes.map((s) => formatAddress(s.address)),
      seq: r.seq,
      expires: new Date(r.expiresAt).toISOString(),
    }));
  }

  /** Send a datagram from our UDP port (for the `datagramHandlers`, e.g. TURN replies). */
  sendDatagram(data: Uint8Array, to: Address): void {
    if (!this.closed) this.socket?.send(data, to);
  }

  /** TURN credentials from one of our supernodes (leaves); undefined if none offers them. */
  async turnCredentials(signal?: AbortSignal): Promise<TurnCredentials | undefined> {
    for (const p of this.attachedPeers()) {
      try {
        const a = await p.rpc.request(OvTurn, null, { timeoutMs: 5000, signal });
        if (a.ok && a.username && a.password) return { username: a.username, password: a.password, ttlSec: a.ttlSec ?? 0, urls: a.urls ?? [] };
      } catch {
        // next
      }
    }
    return undefined;
  }

  /**
   * TURN credentials from every attached supernode that offers them (asked in parallel),
   * so a call can fail over to another supernode's relay when the relaying one dies.
   */
  async turnCredentialsAll(signal?: AbortSignal): Promise<TurnCredentials[]> {
    const answers = await Promise.all(
      this.attachedPeers().map((p) =>
        p.rpc.request(OvTurn, null, { timeoutMs: 5000, signal }).then(
          (a) => (a.ok && a.username && a.password ? { username: a.username, password: a.password, ttlSec: a.ttlSec ?? 0, urls: a.urls ?? [] } : undefined),
          () => undefined,
        ),
      ),
    );
    return answers.filter((c): c is TurnCredentials => c !== undefined);
  }

  /**
   * The addresses of the attached supernodes that answer a liveness probe within
   * `timeoutMs` (default: as a liveness probe's answer timeout, 3 RTTs within 350-700 ms).
   * A call whose media path just died asks before it restarts ICE: the relay that died
   * with the path may not have missed enough regular probes yet, and a restart must not
   * gather from it. The probe is repeated every {@link REPROBE_MS} (a supernode echoes a
   * peer at most every 100 ms, and a probe may be lost); resolves once all have answered.
   * Those that did not are tried last for signals for a while (the restart offer
   * follows at once).
   */
  async answeringSupernodes(timeoutMs?: number): Promise<Address[]> {
    const { clock } = this.c;
    const since = clock.now();
    const peers = this.attachedPeers();
    const slowest = peers.some((p) => p.rttMs === undefined) ? undefined : Math.max(0, ...peers.map((p) => p.rttMs!));
    const deadline = since + (timeoutMs ?? answerTimeoutMs(slowest));
    // ">=": on loopback the echo can come within the millisecond of the probe.
    const answered = (p: PeerState) => !p.link.isClosed && p.link.lastReceivedAt() >= since;
    let nextProbe = since;
    for (;;) {
      const waiting = peers.filter((p) => !answered(p));
      if (waiting.length === 0 || clock.now() >= deadline || this.closed) break;
      if (clock.now() >= nextProbe) {
        for (const p of waiting) p.link.send(PROBE);
        nextProbe = clock.now() + REPROBE_MS;
      }
      await clock.sleep(10);
    }
    for (const p of peers) if (!answered(p)) p.suspectUntil = clock.now() + SUSPECT_MS;
    return peers.filter(answered).map((p) => p.link.address);
  }

  /**
   * The call layer's SignalTransport: `send` routes leaf -> own supernode -> the
   * callee's supernodes -> the callee's devices; envelopes for us arrive at `onEnvelope`.
   */
  signalTransport(): { send(e: OverlayEnvelope): Promise<void>; onEnvelope(h: (e: OverlayEnvelope) => void): () => void } {
    return {
      send: (e) => this.sendEnvelope(e),
      onEnvelope: (h) => {
        this.envelopeHandlers.add(h);
        return () => this.envelopeHandlers.delete(h);
      },
    };
  }

  // --- events, roles -------------------------------------------------------------

  private emit<K extends keyof OverlayEvents>(event: K, e: OverlayEvents[K]): void {
    this.eventHub.emit(event, e);
  }

  private setRole(role: OverlayRole, reason: string, score: number): void {
    this.role = role;
    this.roleReason = reason;
    this.score = score;
    this.log.info({ role, reason, score }, `role: ${role}`);
    this.emit('role', { role, reason, score });
  }

  private async promote(reason: string): Promise<void> {
    if (this.closed || this.role === 'supernode' && this.dht) return;
    const { clock, random } = this.c;
    // Leave our supernodes as a leaf; we meet them again as a peer, under a new link key.
    const previous = this.attachedPeers().map((p) => p.contact).filter((c): c is Contact => c !== undefined);
    if (this.peers.size > 0) this.renewLinkIdentity('role change');
    this.pow = await mintProofOfWorkAsync(this.link.publicKey, this.o.powDifficulty, { signal: this.ac.signal, yieldFn: () => clock.sleep(0) });
    if (this.closed) return;
    const self = this.contact!;
    const area = (this.area = new AreaLoad({ clock }));
    const send = dhtSendOverRpc(async (to, signal) => (await this.peerFor(to.address, toHex(to.id), signal)).rpc, {
      timeoutMs: this.o.dhtTimeoutMs,
      onLoad: (from, load) => area.note(toHex(from.id), load),
    });
    const rpc = dhtRpc(send);
    const verify = (c: Contact) => this.verifier.accepts(c);
    // A full bucket pings its oldest entry only after 15 quiet minutes (BEP 5's "questionable"; see RoutingTable pingQuietMs).
    this.table = new RoutingTable({ self: self.id, clock, verify, ping: (c, signal) => rpc.ping(c, signal), pingQuietMs: 15 * 60_000, ...(this.o.maxPerPrefix ? { maxPerPrefix: this.o.maxPerPrefix, maxPerPrefixPerBucket: this.o.maxPerPrefix } : {}) });
    this.store = new RecordStore({ clock, self: self.id, verify: this.verifyRecord, maxTtlMs: this.o.recordLifetimeMs * 2, replicateIntervalMs: Math.min(3600_000, this.o.recordLifetimeMs / 2) });
    this.service = new DhtService({ self, table: this.table, store: this.store, clock, rates: { store: { ratePerSec: 20, burst: 200 }, ping: { ratePerSec: 5, burst: 20 }, ...this.o.dhtRates } });
    this.dht = new Dht({ self, table: this.table, store: this.store, rpc, clock, verifyContact: verify, verifyRecord: this.verifyRecord, timeoutMs: this.o.dhtTimeoutMs });
    this.search = new FloodSearch<string, SearchResult>({
      clock, random,
      peers: () => this.table!.closest(self.id, 32).map((c) => toHex(c.id)),
      send: (peer, m) => void this.sendFlood(peer, m),
      answer: (text, limit) => this.answerSearch(text, limit),
      onResults: (qid, results) => (this.searchWaiters.get(qid) ?? this.syncResults)?.push(...results),
      resultKey: (r) => `${r.key}/${r.name}`,
    });
    if (!this.probeSocket) {
      try {
        this.probeSocket = await this.c.net.bind({ host: this.socket!.address.host, port: 0 });
      } catch (err) {
        this.log.warn({ err: String(err) }, 'no second socket for dial-backs');
      }
    }
    this.lastSentBytes = this.socket!.stats().sentBytes;
    this.lastSentAt = clock.now();
    this.counters.promotions++;
    this.setRole('supernode', reason, this.score);
    this.o.lan?.announce(this.socket!.address);
    await this.joinDht(previous);
  }

  private async demote(reason: string): Promise<void> {
    if (this.role !== 'supernode') return;
    this.tellLeavesToMove(reason);
    this.counters.demotions++;
    this.o.lan?.announce(undefined);
    // Give the move notices a moment, then drop supernode state and links.
    await this.c.clock.sleep(500).catch(() => {});
    const known = this.table?.closest(this.link.idBytes, 20) ?? [];
    for (const c of known) this.hostCache.recordSuccess(toHex(c.id), c.address);
    this.hostCache.remove(this.id);
    this.renewLinkIdentity('role change');
    this.table?.close();
    this.table = this.store = this.service = this.dht = this.search = undefined;
    this.leafRecords.clear();
    this.leavesByUser.clear();
    this.setRole('leaf', `demoted: ${reason}`, this.score);
    if (!this.closed) {
      await this.attach();
      if (this.o.name) await this.publish();
    }
  }

  /** Tell `count` of our leaves (default all) to attach elsewhere. */
  private tellLeavesToMove(reason: string, count = Infinity): void {
    if (count <= 0) return;
    const peers = (this.table?.closest(this.link.idBytes, 10) ?? []).map(contactToWire);
    for (const p of this.peers.values()) {
      if (!p.attachedHere) continue;
      if (count-- <= 0) break;
      try {
        p.endpoint.send({ type: 'ov.move', reason: reason.slice(0, 64), peers });
      } catch {
        // closed
      }
      // It no longer counts here (the next round would move more leaves otherwise).
      this.forgetLeaf(p);
    }
  }

  // --- links and peers -----------------------------------------------------------

  private adopt(link: OverlayLink): PeerState {
    const existing = this.peers.get(link.peerId);
    if (existing && existing.link === link) return existing;
    if (existing) existing.rpc.close('replaced');
    const { clock, random } = this.c;
    // Probes and echoes (liveness.ts) bypass the message stack.
    const channel = probeChannel(link, (m) => this.onLinkProbe(p, m));
    const endpoint = new MessageEndpoint(new FragmentedChannel(channel, { clock }), this.registry);
    const rpc = new RpcPeer(endpoint, { clock, random, defaults: { timeoutMs: 5000 } });
    const p: PeerState = {
      link, rpc, endpoint, hello: undefined, role: undefined, pow: undefined, contact: undefined, user: undefined, device: undefined,
      dhtServed: false, attachedTo: false, attachedHere: false, rttMs: undefined, load: undefined, area: undefined, lastPing: 0, probe: undefined, lastEcho: -Infinity, suspectUntil: 0, storing: undefined, verified: false,
    };
    this.peers.set(link.peerId, p);
    link.onClose((reason) => this.dropped(p, reason));
    this.serve(p);
    return p;
  }

  private dropped(p: PeerState, reason: string): void {
    if (this.peers.get(p.link.peerId) !== p) return;
    this.peers.delete(p.link.peerId);
    p.rpc.close('link closed');
    if (p.attachedHere) this.forgetLeaf(p);
    this.detachFrom(p, reason);
  }

  /**
   * A signal for background work that close() aborts (one controller each, rather than
   * many listeners on one signal).
   */
  private background(): { signal: AbortSignal; done: () => void } {
    const ac = new AbortController();
    if (this.closed) ac.abort(new Error('overlay node closed'));
    this.backgroundWork.add(ac);
    return { signal: ac.signal, done: () => void this.backgroundWork.delete(ac) };
  }

  /** Liveness timing (liveness.ts) with this node's options. */
  private liveness(): LivenessOptions {
    return {
      ...DEFAULT_LIVENESS,
      ...(this.o.probeMs !== undefined ? { periodMs: this.o.probeMs } : {}),
      ...(this.o.probeMisses !== undefined ? { misses: this.o.probeMisses } : {}),
    };
  }

  /** Supernodes: a heartbeat to every attached leaf heard from lately (liveness.ts). */
  private heartbeat(): void {
    if (this.role !== 'supernode' || this.closed) return;
    const now = this.c.clock.now();
    const silent = leafSilentMs(this.liveness());
    let beat: Uint8Array | undefined;
    for (const p of this.peers.values()) {
      if (!p.attachedHere || p.link.isClosed || !stillBeating(now, p.link.lastReceivedAt(), silent)) continue;
      beat ??= encodeHeartbeat(this.loadPct(), this.areaLoadPct());
      p.link.send(beat);
    }
  }

  /** A probe, echo or heartbeat arrived on `p`'s link. */
  private onLinkProbe(p: PeerState, m: LinkProbe): void {
    if (this.closed) return;
    if (m.type === 'echo') {
      p.probe?.onEcho(m.attached, m.load, m.area);
      return;
    }
    if (m.type === 'heartbeat') {
      p.probe?.onHeartbeat(m.load, m.area);
      return;
    }
    // Echo at most 10 per second per peer: an echo is no bigger than the probe.
    const now = this.c.clock.now();
    if (now - p.lastEcho < 100) return;
    p.lastEcho = now;
    p.link.send(encodeEcho(p.attachedHere, this.loadPct(), this.areaLoadPct()));
  }

  private startProbe(p: PeerState): void {
    this.stopProbe(p);
    const probe = new LivenessProbe(this.c.clock, this.c.random, p.link, this.liveness(), {
      echo: (rttMs, attached, load, area) => {
        p.rttMs = rttMs;
        p.load = load;
        if (area !== undefined) p.area = area;
        p.lastPing = this.c.clock.now();
        if (!attached) this.detachFrom(p, 'supernode forgot us', false);
      },
      dead: (reason) => {
        this.log.info({ supernode: p.link.peerId.slice(0, 8), reason }, 'supernode silent');
        this.detachFrom(p, `supernode silent: ${reason}`);
      },
    }, p.rttMs, this.watch);
    p.probe = probe;
    probe.start();
  }

  private stopProbe(p: PeerState): void {
    p.probe?.stop();
    p.probe = undefined;
  }

  /**
   * Stop using supernode `p` and replace it: attach to another (host cache first), and
   * republish naming the new set once it is attached (or after a second with the ones we
   * still have, if none is found by then). The link is left to idle out rather than closed:
   * a session closed on one side only would be taken, on reconnection from the same run,
   * for a rekey of the old one by the other side (a restarted peer gets a fresh session).
   */
  private detachFrom(p: PeerState, reason: string, failed = true): void {
    if (!p.attachedTo || this.closed) return;
    p.attachedTo = false;
    this.stopProbe(p);
    this.counters.reattaches++;
    if (failed) {
      this.hostCache.recordFailure(p.link.peerId);
      this.heldOut.hold(p.link.peerId, this.c.clock.now() + DEAD_HOLD_MS);
    }
    this.lastDetach = { supernode: p.link.peerId, reason, at: this.c.clock.now() };
    this.emit('detached', { supernode: p.link.peerId, reason, count: this.attachedCount() });
    this.republishWanted = true;
    const attached = this.attach();
    void attached.then(() => (this.republishWanted ? this.publish() : undefined));
    if (!this.hasSpareSupernode()) {
      // Nothing in the host cache to replace it with (only seeds to hail, if anything):
      // republish now naming the ones we still have.
      void this.publish();
      return;
    }
    const bg = this.background();
    const soon = Promise.race([attached, this.c.clock.sleep(1000, bg.signal).catch(() => {})]).finally(bg.done);
    void soon.then(() => (this.republishWanted ? this.publish() : undefined));
  }

  /** Open (or reuse) the link to `peerId` and complete the hello. */
  private async peerFor(address: Address, peerId: string, signal?: AbortSignal): Promise<PeerState> {
    if (this.closed) throw new Error('overlay node closed');
    let p = this.peers.get(peerId);
    if (!p || p.link.isClosed) {
      let timer: Timer | undefined;
      if (!signal) {
        const ac = new AbortController();
        timer = this.c.clock.setTimeout(() => ac.abort(new Error('handshake timed out')), 5000);
        signal = ac.signal;
      }
      try {
        const link = await this.links!.connect(address, peerId, signal);
        p = this.peers.get(peerId) ?? this.adopt(link);
        if (p.link !== link) p = this.adopt(link);
      } finally {
        timer?.cancel();
      }
    }
    if (!p.hello) p.hello = this.sayHello(p);
    await p.hello;
    return p;
  }

  private async sayHello(p: PeerState): Promise<void> {
    const leaf = this.role === 'leaf';
    const user = leaf ? {
      key: this.c.identity.publicKeyHex,
      device: this.device,
      proof: toHex(this.c.identity.sign(deviceProofMessage(this.link.publicKey, this.device))),
    } : undefined;
    try {
      const a = await p.rpc.request(OvHello, { v: 1, role: this.role, ...(this.pow && !leaf ? { pow: toHex(this.pow) } : {}), ...(user ? { user } : {}) }, { timeoutMs: 5000 });
      this.learnPeer(p, a.role, a.pow);
    } catch (err) {
      p.hello = undefined;
      throw err;
    }
  }

  private learnPeer(p: PeerState, role: OverlayRole, pow: string | undefined): void {
    p.role = role;
    p.pow = pow;
    if (role === 'supernode' && pow) {
      const c: Contact = { id: nodeIdFromHex(p.link.peerId), publicKey: p.link.peerKey, pow: hexToBytes(pow), address: p.link.address };
      if (this.verifier.accepts(c)) {
        p.contact = c;
        this.hostCache.recordSuccess(p.link.peerId, c.address);
        if (this.table) this.table.add(c);
        this.serveDht(p);
      }
    }
  }

  private serveDht(p: PeerState): void {
    if (p.dhtServed || !this.service || !p.contact) return;
    p.dhtServed = true;
    registerDhtHandlers(p.rpc, this.service, p.contact, () => Math.min(100, this.loadPct()));
  }

  private attachedPeers(): PeerState[] {
    return [...this.peers.values()].filter((p) => p.attachedTo && !p.link.isClosed);
  }

  private attachedCount(): number {
    return this.attachedPeers().length;
  }

  /** Handlers every link gets; they check our role at call time. */
  private serve(p: PeerState): void {
    const { rpc, endpoint, link } = p;
    rpc.handle(OvHello, (h) => {
      if (h.user) {
        const ok = (() => {
          try {
            return ed25519.verify(hexToBytes(h.user!.proof), deviceProofMessage(link.peerKey, h.user!.device), hexToBytes(h.user!.key));
          } catch {
            return false;
          }
        })();
        if (ok) {
          p.user = h.user.key;
          p.device = h.user.device;
        }
      }
      this.learnPeer(p, h.role, h.pow);
      p.hello ??= Promise.resolve();
      return { v: 1 as const, role: this.role, ...(this.pow && this.role === 'supernode' ? { pow: toHex(this.pow) } : {}), observed: { host: link.address.host, port: link.address.port } };
    });
    rpc.handle(OvPing, () => ({ attached: p.attachedHere, load: Math.min(100, this.loadPct()) }));
    rpc.handle(OvPeers, () => ({ peers: this.exchangePeers(p) }));
    rpc.handle(OvAttach, () => {
      if (this.role !== 'supernode' || this.closed) return { accepted: false, reason: 'not a supernode', peers: this.exchangePeers(p) };
      if (!p.user) return { accepted: false, reason: 'no identity', peers: [] };
      if (!p.attachedHere && this.leafCount() >= this.o.maxSessions) {
        this.counters.leavesRefused++;
        return { accepted: false, reason: 'full', peers: this.exchangePeers(p) };
      }
      if (!p.attachedHere) {
        p.attachedHere = true;
        this.counters.leavesAccepted++;
        let set = this.leavesByUser.get(p.user);
        if (!set) this.leavesByUser.set(p.user, (set = new Set()));
        set.add(link.peerId);
      }
      return { accepted: true, peers: this.exchangePeers(p), load: Math.min(100, this.loadPct()), area: Math.round(this.areaLoadPct()) };
    });
    rpc.handle(OvDetach, () => {
      if (p.attachedHere) this.forgetLeaf(p);
      return null;
    });
    rpc.handle(OvPublish, async ({ record }, ctx) => {
      const r = record as PresenceRecord;
      if (!this.dht || !p.attachedHere || r.publicKey !== p.user) return { accepted: 0, refused: 1, error: 'not attached' };
      const v = this.verifyRecord(r);
      if (!v.ok) return { accepted: 0, refused: 1, error: v.error.slice(0, 64) };
      this.leafRecords.set(link.peerId, r);
      // The DHT stores may wait on a dead node's timeout (right after a supernode crash, when
      // its leaves republish): answer after at most 250 ms and let them finish. The record is
      // then taken on (counted as accepted once) and held here at once if our table says we
      // are among its k closest nodes, so lookups through us find it meanwhile.
      let local = 0;
      for (const key of recordKeys(r)) {
        const kth = this.table!.closest(key, 20)[19];
        if ((!kth || compareDistance(key, this.link.idBytes, kth.id) < 0) && this.store!.put(key, r).ok) local++;
      }
      // One DHT publish per leaf at a time: further requests wait in their handlers (as many
      // as the RPC layer runs at once per peer), so a leaf cannot pile up background work.
      while (p.storing) await p.storing;
      if (!this.dht || this.closed) return { accepted: 0, refused: 1, error: 'not a supernode' };
      const bg = this.background();
      const publishing = this.dht.publish(r, bg.signal).catch(() => undefined).finally(bg.done);
      const storing = publishing.then(() => {
        if (p.storing === storing) p.storing = undefined;
      });
      p.storing = storing;
      const out = await Promise.race([publishing, this.c.clock.sleep(250, ctx.signal).then(() => undefined, () => undefined)]);
      if (!out) return { accepted: Math.max(local, 1), refused: 0 };
      let accepted = 0, refused = 0;
      for (const s of out.stored) {
        accepted += s.accepted;
        refused += s.refused;
      }
      return { accepted: Math.min(Math.max(accepted, local), 1000), refused: Math.min(refused, 1000) };
    });
    rpc.handle(OvLookup, async ({ key }, ctx) => {
      if (!this.dht || !p.attachedHere) return { records: [], hops: 0 };
      const r = await this.dht.findRecords(nodeIdFromHex(key), ctx.signal);
      return { records: r.records.slice(0, 16), hops: Math.min(r.hops, 1000) };
    });
    rpc.handle(OvSearch, async ({ text }) => {
      if (!this.search || !p.attachedHere) return { results: [] };
      try {
        return { results: (await this.runSearch(text)).slice(0, MAX_SEARCH_RESULTS) };
      } catch {
        return { results: [] };
      }
    });
    rpc.handle(OvSignal, async ({ env, via }) => {
      if (this.role !== 'supernode' || !p.attachedHere || env.from !== p.user) return { delivered: 0, error: 'not attached' };
      if (!this.signalLimiter.take(link.peerId)) {
        this.counters.signalsRefused++;
        return { delivered: 0, error: 'rate-limited' };
      }
      return this.routeEnvelope(env, via);
    });
    rpc.handle(OvRelay, ({ env }) => {
      if (this.role !== 'supernode' || p.role !== 'supernode') return { delivered: 0, error: 'not a supernode' };
      if (!this.signalLimiter.take(link.peerId)) {
        this.counters.signalsRefused++;
        return { delivered: 0, error: 'rate-limited' };
      }
      return this.deliverToLeaves(env);
    });
    rpc.handle(OvDeliver, ({ env }) => {
      if (!p.attachedTo) return null;
      this.counters.signalsDelivered++;
      const e: OverlayEnvelope = { from: env.from, to: env.to, callId: env.callId };
      if (env.fromDevice !== undefined) e.fromDevice = env.fromDevice;
      if (env.toDevice !== undefined) e.toDevice = env.toDevice;
      if (env.notice !== undefined) e.notice = env.notice;
      if (env.sealed !== undefined) e.sealed = unb64(env.sealed);
      for (const h of this.envelopeHandlers) {
        try {
          h(e);
        } catch (err) {
          this.log.debug({ err: String(err) }, 'envelope handler failed');
        }
      }
      return null;
    });
    rpc.handle(OvDialback, ({ nonce }) => {
      if (this.role !== 'supernode' || !this.probeSocket || !this.signalLimiter.take(`db:${link.peerId}`)) return { sent: false };
      this.counters.dialbacks++;
      this.probeSocket.send(encodeDialback(hexToBytes(nonce)), link.address);
      return { sent: true };
    });
    rpc.handle(OvBandwidth, ({ pad }) => ({ n: pad.length }));
    rpc.handle(OvTurn, () => {
      if (this.role !== 'supernode' || !p.attachedHere || !p.user || !this.o.issueTurnCredentials) return { ok: false };
      const cred = this.o.issueTurnCredentials(p.user);
      if (!cred) return { ok: false };
      return { ok: true, username: cred.username, password: cred.password, ttlSec: cred.ttlSec, urls: cred.urls.slice(0, 4).map((a) => ({ host: a.host, port: a.port })) };
    });
    endpoint.on(OvFlood, (m) => {
      if (this.search && p.role === 'supernode') this.search.handle(link.peerId, m.m);
    });
    endpoint.on(OvMove, (m) => {
      if (!p.attachedTo) return;
      this.mergePeers(m.peers);
      this.log.info({ supernode: link.peerId.slice(0, 8), reason: m.reason }, 'supernode asked us to move');
      // The supernodes it named are tried first; it stays in the host cache (a good
      // supernode, only busy now) but is not asked again at once.
      this.moveHints = this.verifiedPeers(m.peers);
      this.heldOut.hold(link.peerId, this.c.clock.now() + DEAD_HOLD_MS);
      this.detachFrom(p, `moved: ${m.reason}`, false);
    });
  }

  private leafCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.attachedHere) n++;
    return n;
  }

  private loadPct(): number {
    return this.role === 'supernode' ? (100 * this.leafCount()) / this.o.maxSessions : 0;
  }

  /** Our estimate of the load of the supernodes around us (what our leaves promote by). */
  private areaLoadPct(): number {
    const own = Math.min(100, this.loadPct());
    return this.area?.estimate(own) ?? own;
  }

  private forgetLeaf(p: PeerState): void {
    p.attachedHere = false;
    this.leafRecords.delete(p.link.peerId);
    if (p.user) {
      const set = this.leavesByUser.get(p.user);
      set?.delete(p.link.peerId);
      if (set && set.size === 0) this.leavesByUser.delete(p.user);
    }
  }

  private exchangePeers(p: PeerState): ReturnType<typeof contactToWire>[] {
    const out: Contact[] = [];
    if (this.table) out.push(...this.table.closest(p.contact?.id ?? nodeIdFromHex(p.link.peerId), 10));
    if (this.contact) out.push(this.contact);
    return out.slice(0, 20).map(contactToWire);
  }

  private mergePeers(wire: readonly unknown[]): void {
    this.hostCache.mergeExchange(this.verifiedPeers(wire).map((c) => ({ ...c, lastSeen: 0, rtt: null, failures: 0 })));
  }

  /** The supernode contacts in `wire` whose ID and proof of work check out (not us). */
  private verifiedPeers(wire: readonly unknown[]): { id: string; address: Address }[] {
    const out = [];
    for (const w of wire) {
      const c = contactFromWire(w);
      if (!c || !this.verifier.accepts(c) || toHex(c.id) === this.id) continue;
      out.push({ id: toHex(c.id), address: c.address });
    }
    return out;
  }

  // --- probes (hail, dial-back) --------------------------------------------------

  private onProbe(d: Uint8Array, from: Address): void {
    const p = parseProbe(d);
    if (!p) return;
    if (p.type === 'hail-request') {
      if (this.role === 'supernode' && this.signalLimiter.take(`hail:${from.host}`)) this.socket!.send(encodeHailAnswer(p.nonce, this.link.publicKey), from);
    } else if (p.type === 'hail-answer') {
      this.hails.get(toHex(p.nonce))?.(p.key);
    } else {
      this.dialbacks.get(toHex(p.nonce))?.();
    }
  }

  /** The link-key ID of the supernode at `address` (a hail), or undefined after `timeoutMs`. */
  private hail(address: Address, timeoutMs = 2000): Promise<string | undefined> {
    const nonce = this.c.random.bytes(8);
    const key = toHex(nonce);
    return new Promise((resolve) => {
      let tries = 0;
      let timer: Timer | undefined;
      const finish = (id: string | undefined) => {
        timer?.cancel();
        this.hails.delete(key);
        resolve(id);
      };
      this.hails.set(key, (pub) => finish(toHex(sha256(pub))));
      const send = () => {
        if (this.closed || tries++ >= 4) return finish(undefined);
        this.socket!.send(encodeHailRequest(nonce), address);
        timer = this.c.clock.setTimeout(send, timeoutMs / 4);
      };
      send();
    });
  }

  private async onLanSupernode(address: Address): Promise<void> {
    if (this.closed || (this.socket && sameAddress(address, this.socket.address))) return;
    const id = await this.hail(address);
    if (!id || id === this.id) return;
    this.hostCache.recordSuccess(id, address);
    // A leaf short of supernodes (e.g. no seeds, empty cache) attaches now, not next round.
    if (this.role === 'leaf' && this.attachedCount() < this.o.attachments) void this.keepalive();
  }

  // --- bootstrap and attachment (leaf) -------------------------------------------

  /** Whether the host cache knows a supernode we are not attached to and did not find dead lately. */
  private hasSpareSupernode(): boolean {
    const now = this.c.clock.now();
    const busy = new Set(this.attachedPeers().map((p) => p.link.peerId));
    return this.hostCache.best(30).some((e) => e.id !== this.id && !busy.has(e.id) && !this.heldOut.isHeld(e.id, now));
  }

  /** Supernode candidates: host cache first (best, diverse), then the seeds (hailed). */
  private async candidates(tried: Set<string> = new Set()): Promise<{ id: string; address: Address }[]> {
    const out: { id: string; address: Address }[] = [];
    const seen = new Set<string>([this.id, ...tried]);
    for (const p of this.attachedPeers()) seen.add(p.link.peerId);
    const now = this.c.clock.now();
    for (const e of this.hostCache.best(30)) {
      if (seen.has(e.id) || this.heldOut.isHeld(e.id, now)) continue;
      seen.add(e.id);
      out.push({ id: e.id, address: e.address });
    }
    // Re-attaching (we still have some): the host cache is enough if it has a spare; a dead
    // seed's hail would only hold up the round.
    const have = this.attachedCount();
    if (out.length < (have > 0 ? this.o.attachments - have + 1 : this.o.attachments + 2)) {
      const fresh = (this.o.seeds ?? []).filter((s) => !tried.has(formatAddress(isSeedWithId(s) ? s.address : s)));
      for (const s of fresh) tried.add(formatAddress(isSeedWithId(s) ? s.address : s));
      const hailed = await Promise.all(fresh.map(async (s) => isSeedWithId(s) ? s : { id: await this.hail(s), address: s }));
      for (const s of hailed) {
        if (!s.id || seen.has(s.id) || this.heldOut.isHeld(s.id, now)) continue;
        seen.add(s.id);
        out.push({ id: s.id, address: s.address });
      }
    }
    return out;
  }

  /** Attach until we have `attachments` supernodes (or run out of candidates). */
  private attach(): Promise<void> {
    if (this.role !== 'leaf' || this.closed) return Promise.resolve();
    this.attaching ??= this.attachRounds().finally(() => {
      this.attaching = undefined;
    });
    return this.attaching;
  }

  private async attachRounds(): Promise<void> {
    const want = this.o.attachments;
    const tried = new Set<string>();
    for (let round = 0; round < 3 && this.attachedCount() < want && !this.closed && this.role === 'leaf'; round++) {
      const list = await this.candidates(tried);
      if (list.length === 0) break;
      // Light shuffle spreads leaves over supernodes; then try a few more than we need at
      // once and keep the least loaded that accept (see keepLeastLoaded). Prefer prefixes
      // we do not have yet.
      for (let i = list.length - 1; i > 0; i--) {
        const j = this.c.random.int(i + 1);
        [list[i], list[j]] = [list[j]!, list[i]!];
      }
      const have = new Set(this.attachedPeers().map((p) => networkPrefix(p.link.address.host)));
      list.sort((a, b) => Number(have.has(networkPrefix(a.address.host))) - Number(have.has(networkPrefix(b.address.host))));
      // A supernode that moved us named others: those first.
      const now = this.c.clock.now();
      const named = this.moveHints.splice(0).filter((c) => !tried.has(c.id) && !this.peers.get(c.id)?.attachedTo && !this.heldOut.isHeld(c.id, now));
      const rest = list.filter((c) => !named.some((x) => x.id === c.id));
      const tries = [...named, ...rest].slice(0, want - this.attachedCount() + 2);
      for (const c of tries) tried.add(c.id);
      // The round ends when every try finished, or a short while after enough accepted: a
      // dead candidate's handshake timeout must not hold up a re-attachment.
      const offers: AttachOffer[] = [];
      await new Promise<void>((resolve) => {
        let left = tries.length;
        let grace: Timer | undefined;
        let over = false;
        const done = () => {
          grace?.cancel();
          over = true;
          resolve();
        };
        for (const c of tries) {
          void this.tryAttach(c.id, c.address).then((o) => {
            // Answered after its round ended: kept only if still needed.
            if (o && over) this.keepLeastLoaded([o]);
            else if (o) offers.push(o);
          }).finally(() => {
            if (--left === 0) done();
            else if (offers.length >= want - this.attachedCount() && !grace) grace = this.c.clock.setTimeout(done, ATTACH_GRACE_MS);
          });
        }
      });
      this.keepLeastLoaded(offers);
    }
    this.missingAttachments = Math.max(0, want - this.attachedCount());
  }

  /**
   * Of the supernodes that accepted us in one round, keep the least loaded (by the load
   * their answers report: the power of choices, so leaves even out the load as they
   * come and few need moving later; loads below attach-choice.ts's floor count as one, so
   * a supernode claiming to be idle gains nothing) and detach from the others, and from
   * any that answers after the round.
   */
  private keepLeastLoaded(offers: AttachOffer[]): void {
    offers.sort(byLoadAboveFloor);
    for (const { p, rtt, load, area } of offers) {
      if (p.attachedTo || p.link.isClosed) continue;
      if (this.attachedCount() >= this.o.attachments || this.role !== 'leaf' || this.closed) {
        p.rpc.request(OvDetach, null, { timeoutMs: 3000 }).catch(() => {});
        continue;
      }
      p.attachedTo = true;
      p.verified = false;
      p.rttMs = rtt;
      p.load = load;
      p.area = area;
      p.lastPing = this.c.clock.now();
      this.startProbe(p);
      this.counters.attaches++;
      this.republishWanted = true;
      this.emit('attached', { supernode: p.link.peerId, count: this.attachedCount() });
    }
  }

  /** Ask the supernode at `address` to serve us: its offer if it accepted (not yet kept; see keepLeastLoaded). */
  private async tryAttach(id: string, address: Address): Promise<AttachOffer | undefined> {
    const { clock } = this.c;
    const t0 = clock.now();
    let p: PeerState;
    // A dead candidate must not hold up the round: bound the handshake too.
    const ac = new AbortController();
    const timer = clock.setTimeout(() => ac.abort(new Error('attach timed out')), 3000);
    try {
      p = await this.peerFor(address, id, ac.signal);
      timer.cancel();
      // Seeds, the host cache, mDNS and peer exchange give only addresses: attach only to a
      // supernode whose ID carries a valid proof of work (checked by sayHello).
      if (!p.contact) throw new Error(p.role === 'supernode' ? 'supernode ID without a valid proof of work' : `not a supernode (${p.role ?? 'no answer'})`);
      const a = await p.rpc.request(OvAttach, null, { timeoutMs: 3000, initialRtoMs: 500 });
      if (this.closed) return;
      const rtt = clock.now() - t0;
      this.mergePeers(a.peers);
      if (!a.accepted) return undefined;
      this.hostCache.recordSuccess(id, address, rtt);
      return { p, rtt, load: a.load ?? 100, area: a.area };
    } catch (err) {
      timer.cancel();
      this.counters.attachFailures++;
      this.hostCache.recordFailure(id);
      this.log.debug({ supernode: id.slice(0, 8), err: String(err) }, 'attach failed');
    }
  }

  private keepalivePeriod(): number {
    const [lo, hi] = this.o.keepaliveMs;
    return lo + this.c.random.float() * (hi - lo);
  }

  private scheduleKeepalive(): void {
    if (this.closed) return;
    this.keepTimer = this.c.clock.setTimeout(() => {
      void this.keepalive();
      this.scheduleKeepalive();
    }, this.keepalivePeriod());
  }

  /** The leaf's attachment round: liveness is the probes' job (they also keep NAT bindings open). */
  private async keepalive(): Promise<void> {
    if (this.closed || this.role !== 'leaf') return;
    const { clock } = this.c;
    if (this.attachedCount() < this.o.attachments) await this.attach();
    if (this.o.name && (this.republishWanted || (this.record && clock.now() >= republishAt(this.record)))) await this.publish();
  }

  // --- directory (leaf side) -----------------------------------------------------

  /** Sign and publish our presence record through our supernodes. */
  publish(): Promise<void> {
    if (!this.o.name || this.closed) return Promise.resolve();
    if (this.role === 'supernode') return this.publishOwn();
    if (this.publishing) {
      // The set changed while a publish was under way: publish again when it is done.
      this.publishAgain = true;
      return this.publishing;
    }
    this.publishing = (async () => {
      for (let i = 0; i < 3; i++) {
        this.publishAgain = false;
        await this.publishViaSupernodes();
        if (!this.publishAgain || this.closed || this.role !== 'leaf') break;
      }
    })().finally(() => {
      this.publishing = undefined;
    });
    return this.publishing;
  }

  private async draft(own: SupernodeRef[]): Promise<PresenceRecord> {
    // Other devices of our identity: keep their supernodes in our record, so callers reach
    // every device (bounded; they republish their own).
    let refs = own;
    let seq = Math.max(this.seq + 1, Math.floor(this.c.clock.now()));
    // A republish within 10 minutes of a look that found no other device skips the lookup
    // (a re-attachment republishes at once).
    const now = this.c.clock.now();
    if (this.record && !this.otherDevices && now - this.devicesCheckedAt < 600_000) {
      this.seq = seq;
      return signPresence(this.c.identity, { name: this.o.name!, supernodes: refs, addresses: this.o.recordAddresses?.() ?? [], seq, lifetimeMs: this.o.recordLifetimeMs }, this.c.clock);
    }
    try {
      const newest = (await this.lookupKey(this.c.identity.publicKeyHex))[0];
      this.devicesCheckedAt = now;
      this.otherDevices = false;
      if (newest) {
        if (newest.seq >= seq) seq = newest.seq + 1;
        if (newest.seq !== this.record?.seq) {
          const ids = new Set(own.map((s) => s.id));
          refs = [...own, ...newest.supernodes.filter((s) => !ids.has(s.id))].slice(0, MAX_RECORD_SUPERNODES);
          this.otherDevices = this.record !== undefined;
        }
      }
    } catch {
      // publish what we know
    }
    this.seq = seq;
    return signPresence(this.c.identity, { name: this.o.name!, supernodes: refs, addresses: this.o.recordAddresses?.() ?? [], seq, lifetimeMs: this.o.recordLifetimeMs }, this.c.clock);
  }

  private async publishViaSupernodes(): Promise<void> {
    const attached = this.attachedPeers();
    if (attached.length === 0) return;
    this.republishWanted = false;
    const record = await this.draft(attached.map((p) => ({ id: p.link.peerId, address: p.link.address })));
    // Published once the first supernode took it (the others' answers may come later).
    let accepted = 0;
    await new Promise<void>((resolve) => {
      let left = attached.length;
      for (const p of attached) {
        p.rpc.request(OvPublish, { record }, { timeoutMs: 20_000, initialRtoMs: 2000 }).then((a) => {
          accepted += a.accepted;
          if (accepted > 0) resolve();
        }, () => {
          // others may succeed
        }).finally(() => {
          if (--left === 0) resolve();
        });
      }
    });
    if (accepted > 0) {
      this.record = record;
      this.publishedAt = this.c.clock.now();
      this.counters.publishes++;
      this.emit('published', { seq: record.seq, accepted, supernodes: record.supernodes.map((s) => s.id) });
    } else {
      this.republishWanted = true;
    }
  }

  private async publishOwn(): Promise<void> {
    if (!this.dht || !this.o.name) return;
    const record = await this.draft([{ id: this.id, address: this.socket!.address }]);
    const out = await this.dht.publish(record, this.ac.signal);
    const accepted = out.stored.reduce((n, s) => n + s.accepted, 0);
    if (accepted > 0) {
      this.record = record;
      this.publishedAt = this.c.clock.now();
      this.counters.publishes++;
      this.emit('published', { seq: record.seq, accepted, supernodes: record.supernodes.map((s) => s.id) });
    }
  }

  private async findRecords(key: Uint8Array, signal?: AbortSignal): Promise<PresenceRecord[]> {
    return (await this.findRecordsDetailed(key, signal)).records;
  }

  private async findRecordsDetailed(key: Uint8Array, signal?: AbortSignal): Promise<{ records: PresenceRecord[]; hops: number }> {
    if (this.dht) {
      const r = await this.dht.findRecords(key, signal);
      return { records: r.records, hops: r.hops };
    }
    const found: PresenceRecord[] = [];
    let hops = -1;
    const asked = new Set<PeerState>();
    for (let round = 0; round < 2 && found.length === 0 && !this.closed; round++) {
      const empty: PeerState[] = [];
      for (const p of this.attachedPeers()) {
        if (asked.has(p)) continue;
        asked.add(p);
        try {
          const a = await p.rpc.request(OvLookup, { key: toHex(key) }, { timeoutMs: 10_000, initialRtoMs: 1500, signal });
          hops = a.hops + 1;
          for (const r of a.records as PresenceRecord[]) if (this.verifyRecord(r).ok) found.push(r);
          if (found.length > 0) break;
          empty.push(p);
        } catch {
          // next supernode
        }
      }
      // None found it: one we have not verified may be dropping our lookups. Those that
      // cannot find our own record are replaced (record-check.ts), and the new ones asked.
      if (found.length > 0 || empty.length === 0 || (await this.checkRecord(empty, signal)) === 0) break;
      const wait = new AbortController();
      await Promise.race([this.attach(), this.c.clock.sleep(10_000, wait.signal).catch(() => {})]);
      wait.abort();
      signal?.throwIfAborted();
    }
    return { records: newestPerPublisher(found), hops };
  }

  /**
   * Ask each of `supernodes` (attached, not yet verified) to find our own record as last
   * published; discredit those that answer without it: detach, and hold them out of our
   * candidates for {@link DISTRUST_MS} (record-check.ts). Resolves to the number discredited.
   */
  private async checkRecord(supernodes: readonly PeerState[], signal?: AbortSignal): Promise<number> {
    const record = this.record;
    if (!record || !this.o.name || this.role !== 'leaf' || !oldEnoughToCheck(this.publishedAt, this.c.clock.now())) return 0;
    const key = toHex(nameKey(this.o.name));
    let discredited = 0;
    await Promise.all(supernodes.filter((p) => p.attachedTo && !p.verified).map(async (p) => {
      let found: boolean;
      try {
        const a = await p.rpc.request(OvLookup, { key }, { timeoutMs: 10_000, initialRtoMs: 1500, signal });
        found = holdsOwnRecord((a.records as PresenceRecord[]).filter((r) => this.verifyRecord(r).ok), record.nodeId, record.seq);
      } catch {
        return; // silent: liveness decides
      }
      if (this.closed || !p.attachedTo) return;
      if (found) {
        p.verified = true;
        return;
      }
      discredited++;
      this.counters.supernodesDistrusted++;
      this.heldOut.hold(p.link.peerId, this.c.clock.now() + DISTRUST_MS);
      this.log.warn({ supernode: p.link.peerId.slice(0, 8) }, 'supernode cannot find our own record: dropped');
      p.rpc.request(OvDetach, null, { timeoutMs: 3000 }).catch(() => {});
      this.detachFrom(p, 'supernode cannot find our own record');
    }));
    return discredited;
  }

  // --- supernode: DHT, maintenance, search ---------------------------------------

  private async joinDht(extra: readonly Contact[]): Promise<void> {
    if (!this.dht) return;
    const contacts: Contact[] = [...extra];
    const targets: { id: string; address: Address }[] = [];
    for (const e of this.hostCache.best(16)) targets.push({ id: e.id, address: e.address });
    for (const s of this.o.seeds ?? []) {
      if (isSeedWithId(s)) targets.push(s);
      else {
        const id = await this.hail(s);
        if (id) targets.push({ id, address: s });
      }
    }
    await Promise.all(targets.filter((t) => t.id !== this.id).map(async (t) => {
      try {
        const p = await this.peerFor(t.address, t.id);
        if (p.contact) contacts.push(p.contact);
      } catch {
        this.hostCache.recordFailure(t.id);
      }
    }));
    try {
      await this.dht.bootstrap(contacts, this.ac.signal);
    } catch (err) {
      this.log.debug({ err: String(err) }, 'DHT bootstrap failed');
    }
    for (const c of this.table?.closest(this.link.idBytes, 50) ?? []) this.hostCache.recordSuccess(toHex(c.id), c.address);
    this.log.info({ table: this.table?.size ?? 0 }, 'joined the DHT');
    if (this.o.name) await this.publishOwn().catch(() => {});
  }

  private maintain(): void {
    if (this.closed) return;
    if (this.role === 'supernode' && this.dht) {
      this.store!.sweep();
      void this.dht.replicate(50).catch(() => {});
      if (this.table!.size === 0) void this.joinDht([]);
      // Leaves publish through us: keep their records fresh in the DHT for search too.
      for (const [id, r] of this.leafRecords) if (r.expiresAt <= this.c.clock.now()) this.leafRecords.delete(id);
      if (this.o.name && this.record && this.c.clock.now() >= republishAt(this.record)) void this.publishOwn().catch(() => {});
      // Peer exchange keeps the host cache fresh.
      for (const c of this.table!.closest(this.c.random.bytes(32), 5)) this.hostCache.recordSuccess(toHex(c.id), c.address);
      // Where supernodes talk little, ask a few for their load (area-load.ts).
      const ask = this.area!.toRefresh(this.table!.closest(this.c.random.bytes(32), 16), (c) => toHex(c.id));
      for (const c of ask) void this.dht.ping(c, this.ac.signal);
    } else if (this.role === 'leaf') {
      // Peer exchange (about 2 KB): every 10th round, or each round while the cache is thin.
      const p = this.attachedPeers()[0];
      if (p && (this.maintainRounds % 10 === 0 || this.hostCache.size <= this.o.attachments)) {
        void p.rpc.request(OvPeers, null, { timeoutMs: 5000 }).then((a) => this.mergePeers(a.peers), () => {});
      }
      this.maintainRounds++;
    }
    if (this.o.hostCachePath) void saveHostCacheFile(this.o.hostCachePath, this.hostCache, this.c.random).catch(() => {});
  }

  private answerSearch(text: string, limit: number): SearchResult[] {
    const out: SearchResult[] = [];
    const seen = new Set<string>();
    const now = this.c.clock.now();
    for (const r of this.leafRecords.values()) {
      if (out.length >= limit) break;
      if (r.expiresAt <= now || !normalizeName(r.name).includes(text)) continue;
      const k = `${r.publicKey}/${r.name}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ name: r.name, key: r.publicKey });
    }
    if (this.record && this.o.name && normalizeName(this.o.name).includes(text) && out.length < limit) {
      out.push({ name: this.o.name, key: this.c.identity.publicKeyHex });
    }
    return out;
  }

  private async runSearch(text: string): Promise<SearchResult[]> {
    if (!this.search) throw new Error('not a supernode');
    const results: SearchResult[] = [];
    this.syncResults = results;
    let qid: string;
    try {
      qid = this.search.search(text);
    } finally {
      this.syncResults = undefined;
    }
    const orig = this.searchWaiters;
    orig.set(qid, results);
    await this.c.clock.sleep(this.o.searchWindowMs, this.ac.signal).catch(() => {});
    orig.delete(qid);
    const seen = new Set<string>();
    return results.filter((r) => {
      const k = `${r.key}/${r.name}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  private async sendFlood(peerId: string, m: SearchMessage<SearchResult>): Promise<void> {
    try {
      let p = this.peers.get(peerId);
      if (!p) {
        const c = this.table?.closest(nodeIdFromHex(peerId), 1)[0];
        if (!c || toHex(c.id) !== peerId) return;
        p = await this.peerFor(c.address, peerId);
      }
      p.endpoint.send({ type: 'ov.flood', m: m as never });
    } catch {
      // dropped: floods are best effort
    }
  }

  // --- signal relay --------------------------------------------------------------

  private async sendEnvelope(e: OverlayEnvelope): Promise<void> {
    if (e.sealed && e.sealed.length > MAX_SEALED_BYTES) throw new Error(`sealed signal too large (${e.sealed.length} > ${MAX_SEALED_BYTES})`);
    this.counters.signalsSent++;
    const env = {
      from: e.from, to: e.to, callId: e.callId,
      ...(e.fromDevice !== undefined ? { fromDevice: e.fromDevice } : {}),
      ...(e.toDevice !== undefined ? { toDevice: e.toDevice } : {}),
      ...(e.sealed !== undefined ? { sealed: b64(e.sealed) } : {}),
      ...(e.notice !== undefined ? { notice: e.notice } : {}),
    };
    const cached = this.routes.records(e.to);
    try {
      await this.sendEnvelopeVia(env, cached ?? (await this.lookupKey(e.to)));
    } catch (err) {
      this.routes.forget(e.to);
      if (!cached) throw err;
      // The remembered supernodes did not deliver: look again.
      await this.sendEnvelopeVia(env, await this.lookupKey(e.to));
    }
  }

  private async sendEnvelopeVia(env: WireEnvelope, records: readonly PresenceRecord[]): Promise<void> {
    const via: SupernodeRef[] = [];
    const ids = new Set<string>();
    for (const r of records) {
      for (const s of r.supernodes) {
        if (ids.has(s.id) || via.length >= 8) continue;
        ids.add(s.id);
        via.push({ id: s.id, address: s.address });
      }
    }
    if (via.length === 0) throw new Error('recipient not found in the directory');
    if (this.role === 'supernode') {
      const r = await this.routeEnvelope(env, via);
      if (r.delivered === 0) throw new Error(`recipient unreachable${r.error ? `: ${r.error}` : ''}`);
      return;
    }
    // Through our supernodes, hedged: when the first has not confirmed delivery within
    // SIGNAL_HEDGE_MS (it may have just died), the next one is asked too; the callee drops
    // repeats. The first confirmed delivery settles the send.
    const request = { env, via: via.map((s) => ({ id: s.id, address: { host: s.address.host, port: s.address.port } })) };
    // A supernode that just failed to answer a probe goes last (it may have died with a call's media path).
    const now = this.c.clock.now();
    const peers = this.attachedPeers().sort((a, b) => Number(a.suspectUntil > now) - Number(b.suspectUntil > now));
    const attempts = peers.map((p) => () => p.rpc.request(OvSignal, request, { timeoutMs: 10_000, initialRtoMs: 1000 }));
    if (attempts.length === 0) throw new Error('recipient unreachable: no supernode');
    await hedged(attempts, { clock: this.c.clock, hedgeMs: SIGNAL_HEDGE_MS, outcome: (a) => (a.delivered > 0 ? true : a.error ?? 'not delivered') }).catch((err: Error) => {
      throw new Error(`recipient unreachable: ${err.message}`);
    });
  }

  private async routeEnvelope(env: WireEnvelope, via: readonly SupernodeRef[]): Promise<{ delivered: number; error?: string }> {
    let delivered = 0;
    let error: string | undefined;
    const targets = via.slice(0, 8);
    this.counters.signalsRelayed++;
    // To every supernode of the recipient at once (all their devices ring); answered as
    // soon as one delivered, without waiting for a dead one to time out.
    return new Promise((resolve) => {
      let remaining = targets.length;
      const answer = () => resolve({ delivered: Math.min(delivered, 1000), ...(delivered === 0 && error ? { error: error.slice(0, 64) } : {}) });
      if (remaining === 0) return answer();
      for (const s of targets) {
        (async () => {
          try {
            if (s.id === this.id) {
              delivered += this.deliverToLeaves(env).delivered;
              return;
            }
            const p = await this.peerFor(s.address, s.id);
            const a = await p.rpc.request(OvRelay, { env }, { timeoutMs: 5000, initialRtoMs: 800 });
            delivered += a.delivered;
            if (a.error) error = a.error;
          } catch (err) {
            error = String(err).slice(0, 64);
          }
        })().finally(() => {
          remaining--;
          if (delivered > 0 || remaining === 0) answer();
        });
      }
    });
  }

  private deliverToLeaves(env: WireEnvelope): { delivered: number } {
    const set = this.leavesByUser.get(env.to);
    let delivered = 0;
    for (const id of set ?? []) {
      const p = this.peers.get(id);
      if (!p || !p.attachedHere) continue;
      if (env.toDevice !== undefined && p.device !== env.toDevice) continue;
      delivered++;
      void p.rpc.request(OvDeliver, { env }, { timeoutMs: 5000, initialRtoMs: 800 }).catch(() => {});
    }
    return { delivered };
  }

  // --- election ------------------------------------------------------------------

  private async electionRound(): Promise<void> {
    if (this.closed || this.mode !== 'auto') return;
    try {
      if (this.role === 'leaf') await this.considerPromotion();
      else this.considerDemotion();
    } catch (err) {
      this.log.debug({ err: String(err) }, 'election round failed');
    }
  }

  private async checkReachable(): Promise<boolean> {
    const local = this.socket!.address;
    const p = this.attachedPeers()[0];
    if (!p) return false;
    // We must also see our own address from outside: behind a NAT the observed one differs.
    const hello = await p.rpc.request(OvHello, { v: 1, role: 'leaf', user: { key: this.c.identity.publicKeyHex, device: this.device, proof: toHex(this.c.identity.sign(deviceProofMessage(this.link.publicKey, this.device))) } }, { timeoutMs: 5000 });
    const wildcard = local.host === '0.0.0.0' || local.host === '::';
    if (hello.observed.port !== local.port || (!wildcard && hello.observed.host !== local.host)) return false;
    const ours = wildcard ? this.o.probes?.localAddresses?.() : undefined;
    if (ours && !ours.includes(hello.observed.host)) {
      this.log.debug({ observed: hello.observed.host }, 'behind NAT: the address supernodes see is not one of ours');
      return false;
    }
    const nonce = this.c.random.bytes(16);
    const key = toHex(nonce);
    const got = new Promise<boolean>((resolve) => {
      const timer = this.c.clock.setTimeout(() => {
        this.dialbacks.delete(key);
        resolve(false);
      }, 3000);
      this.dialbacks.set(key, () => {
        timer.cancel();
        this.dialbacks.delete(key);
        resolve(true);
      });
    });
    const a = await p.rpc.request(OvDialback, { nonce: key }, { timeoutMs: 3000 }).catch(() => ({ sent: false }));
    if (!a.sent) {
      this.dialbacks.get(key)?.();
      return false;
    }
    return got;
  }

  private async measureUpstream(): Promise<number> {
    if (this.o.probes?.upstreamKbps) return this.o.probes.upstreamKbps();
    const p = this.attachedPeers()[0];
    if (!p) return 0;
    const { clock } = this.c;
    const t0 = clock.now();
    await p.rpc.request(OvPing, null, { timeoutMs: 5000 });
    const small = clock.now() - t0;
    const t1 = clock.now();
    await p.rpc.request(OvBandwidth, { pad: 'x'.repeat(BW_PROBE_BYTES) }, { timeoutMs: 15_000, initialRtoMs: 5000 });
    const big = clock.now() - t1;
    const ms = Math.max(1, big - small);
    return Math.min(1_000_000, (BW_PROBE_BYTES * 8) / ms);
  }

  private async considerPromotion(): Promise<void> {
    // An unreachable node re-checks every 10th round only (NATs rarely go away).
    if (this.reachable !== true && (this.reachable === undefined || this.electionRounds % 10 === 0)) {
      this.reachable = await this.checkReachable().catch(() => false);
    }
    this.electionRounds++;
    const upstreamKbps = this.reachable ? await this.measureUpstream().catch(() => 0) : 0;
    const cpuHeadroom = this.o.probes?.cpuHeadroom?.() ?? 1;
    const score = electionScore({ reachable: this.reachable, upstreamKbps, cpuHeadroom, uptimeMs: this.c.clock.now() - this.startedAt }, this.policy);
    this.score = score;
    const attached = this.attachedPeers();
    const area = areaViewOf({
      attachedIds: attached.map((p) => p.link.peerId),
      cacheEntries: this.hostCache.all(),
      // A supernode that reports no area estimate (an older version) stands for its area.
      loads: attached.map((p) => p.area ?? p.load).filter((x): x is number => x !== undefined),
      missingAttachments: this.missingAttachments,
    });
    const reason = this.promotionGate.update(promotionReason(score, area, this.policy), () => this.c.random.float());
    this.log.debug({ score, reachable: this.reachable, upstreamKbps, known: area.knownSupernodes }, 'election round');
    if (reason) await this.promote(`promoted: ${reason}`);
  }

  private considerDemotion(): void {
    const { clock } = this.c;
    const now = clock.now();
    const sent = this.socket!.stats().sentBytes;
    const kbps = ((sent - this.lastSentBytes) * 8) / Math.max(1, now - this.lastSentAt);
    this.lastSentBytes = sent;
    this.lastSentAt = now;
    const why = this.demotion.update({ sessions: this.leafCount(), maxSessions: this.o.maxSessions, sentKbps: kbps, budgetKbps: this.o.budgetKbps, cpuHeadroom: this.o.probes?.cpuHeadroom?.() ?? 1 });
    if (why) void this.demote(why);
    else this.tellLeavesToMove('full', leavesToShed(this.leafCount(), this.o.maxSessions, this.policy));
  }
}

type WireEnvelope = {
  from: string;
  to: string;
  callId: string;
  fromDevice?: string;
  toDevice?: string;
  sealed?: string;
  notice?: 'tampered' | 'undeliverable';
};
