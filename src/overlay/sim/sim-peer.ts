/**
 * The simulator's stand-in for a running overlay node, composed from the real overlay
 * core (RoutingTable, RecordStore, DhtService, Dht with disjoint-path lookups, HostCache,
 * signed presence) and the real RPC layer (RpcPeer with retries, response cache and
 * duplicate suppression) over {@link SimLinks}. Messages cross the links as objects with
 * their exact encoded sizes in fragment-sized datagrams ({@link SimEndpoint}; the real
 * JSON, schema and fragmentation path is what `wireCheck` runs, and tests compare them).
 *
 * Roles:
 * - **supernode**: a DHT member. Bootstraps from seeds and its host cache, answers DHT
 *   requests, serves leaves (attach with peer exchange, publish, lookup), sends its leaves
 *   a heartbeat every 2.5 s and echoes their liveness probes, both with its load and area
 *   load, and every maintenance round sweeps idle links and expired records and re-stores
 *   records due for replication.
 * - **leaf**: attaches to `attachments` supernodes: it asks two more than it needs at
 *   once and keeps the least loaded of those that accept (the load their answers report;
 *   distinct /24s come from the host cache's diversity), detaching from the others;
 *   publishes its signed record through `publishVia` of them, republishes at half-life
 *   or when its supernodes change, watches each supernode's heartbeats (liveness.ts, as
 *   OverlayNode: a one-byte probe when one is late, and every 15 s to keep its NAT bindings
 *   open) and replaces one that stays silent or says it forgot us; every 15-25 s it
 *   re-attaches if short and republishes when due. Lookups go to its supernodes in turn until one
 *   finds a record. A supernode that refuses it (full) names others, tried next; one
 *   moving it (sim-election.ts) names others, tried first.
 * - **attacker** (a supernode with `spec.attacker`): answers FIND_NODE/FIND_VALUE with
 *   the attacker contacts closest to the target (fake close contacts), never returns a
 *   record, drops STOREs while claiming success, and accepts leaves only to drop their
 *   publishes and lookups.
 *
 * This is what OverlayNode replaces once it lands (election, attachments, bootstrap and
 * the leaf protocol are its); the population, churn, workload and metrics around it do
 * not change.
 * @module
 */
import type { Timer } from '../../clock.ts';
import type { Random } from '../../random.ts';
import type { SimHost } from '../../net/sim.ts';
import { type RpcContext, RpcHandlers, type RpcOptions, RpcPeer } from '../../wire/rpc.ts';
import { SimEndpoint } from './sim-endpoint.ts';
import { AreaLoad } from '../area-load.ts';
import { ATTACH_SPARE_TRIES, leastLoaded } from '../attach-choice.ts';
import { type Contact, contactFromWire, contactToWire } from '../contact.ts';
import { DhtService } from '../dht-service.ts';
import { Dht, dhtRpc } from '../dht.ts';
import { DhtFindNode, DhtFindValue, DhtStore, dhtSendOverRpc, registerDhtHandlers } from '../dht-wire.ts';
import { HostCache } from '../host-cache.ts';
import { echoArea, echoAttached, echoIsHeartbeat, echoLoad, encodeEchoInto, isProbe, type LivenessEvents, LivenessProbe, packedEcho, pct, PROBE_BYTE } from '../liveness.ts';
import type { HeartbeatBatch, HeartbeatSource } from './sim-heartbeats.ts';
import { compareDistance, idEquals, idKey, nodeIdFromHex, toHex } from '../node-id.ts';
import { nameKey, type PresenceRecord, republishAt } from '../presence-record.ts';
import { signPresence } from '../presence-signing.ts';
import { RecordStore } from '../record-store.ts';
import { DISTRUST_MS, HoldList, holdsOwnRecord, MAX_DISTRUSTED, oldEnoughToCheck } from '../record-check.ts';
import { RoutingTable } from '../routing-table.ts';
import { type PayloadSink, type SimLink, SimLinks } from './sim-links.ts';
import { ATTACH_MAX_PEERS, SimAttach, SimDetach, SimLookup, SimMove, SimPublish } from './sim-methods.ts';
import { type NodeSpec, SIM_PORT, type SimWorld } from './sim-world.ts';

/** A node's role in the simulation. */
export type SimRole = 'leaf' | 'supernode';

/** Outcome of {@link SimPeer.lookup}. */
export interface SimLookupResult {
  records: PresenceRecord[];
  /** DHT hops of the lookup that answered (0: from a store directly). */
  hops: number;
  /** Virtual ms from request to answer. */
  latencyMs: number;
}

/** A supernode that accepted us, not yet kept: its link and the loads its answer reported. */
interface AttachOffer extends SupernodeLoad {
  peer: number;
  link: SimLink;
}

/** Per-link RPC stack (liveness state is on the link itself: SimLink.probe, lastEchoAt). */
interface LinkUser {
  rpc: RpcPeer;
  /** The peer's contact as this link established it (supernode side; made when first asked). */
  sender: Contact | undefined;
}

const PROBE = new Uint8Array([PROBE_BYTE]);

/** Deadline of a leaf's publish (its longest request: 4 s, 8 s, 16 s between sends). */
const PUBLISH_TIMEOUT_MS = 30_000;

/** A link's RPC peer, if it has one, forgets responses kept past their time. */
function dropExpiredResponses(link: SimLink): void {
  (link.user as LinkUser | undefined)?.rpc.dropExpiredResponses();
}

/** Handlers and timers the owner (the scenario) wants to hear about. */
export interface PeerEvents {
  /** The leaf's record was accepted by at least one supernode (or the supernode stored its own). */
  published(peer: { readonly spec: NodeSpec }): void;
}

/**
 * What every leaf's probes report to: one object for all (they act on the probe's link),
 * so an echo fetches no closure of its own.
 */
const LEAF_PROBE_EVENTS: LivenessEvents<SimLink> = {
  echo(_rtt, attached, _load, _area, probe) {
    if (!attached) probe.link.close('supernode forgot us');
  },
  dead(_reason, probe) {
    probe.link.close('supernode silent');
  },
};

/** The buffer every simulated supernode encodes its echoes into (see onLinkPayload). */
const ECHO_SCRATCH = new Uint8Array(3);

/** A supernode's own load and its estimate of its area's, in percent. */
export interface SupernodeLoad {
  load: number;
  area: number;
}

/**
 * A converged start (see scenario.ts): the node has been online for a while before the
 * simulation begins. Its presence record was issued at `issuedAt` (in the past, so that
 * republishing spreads over the next half-lifetime as in a network that has been running)
 * and `place` puts it where a converged DHT holds it (the k closest supernodes by XOR,
 * through their RecordStore.put); the node does not run a publish for it.
 */
export interface WarmStart {
  issuedAt: number;
  /** Store `record` at the k closest supernodes of each of its keys; true if any accepted it under both. */
  place(record: PresenceRecord): boolean;
}

/** See module docs. */
export class SimPeer implements PayloadSink, HeartbeatSource {
  readonly links: SimLinks;
  readonly hostCache: HostCache;
  readonly startedAt: number;
  /** Lookups this node started in this session. */
  lookups = 0;
  /** When the node first had its record published (undefined until then). */
  publishedAt: number | undefined;
  /** Leaf: when its current record was published (or, warm start, issued). */
  private lastPublishAt = 0;
  private closed = false;
  private timer: Timer | undefined;
  // supernode state
  private table: RoutingTable | undefined;
  private store: RecordStore | undefined;
  private service: DhtService | undefined;
  private dht: Dht | undefined;
  /** Attached leaves, by node index, with their links. */
  private leaves = new Map<number, SimLink>();
  /** Supernode: the loads other supernodes reported in their DHT answers. */
  private area: AreaLoad | undefined;
  // leaf state
  private attached: number[] = [];
  private attaching = false;
  private record: PresenceRecord | undefined;
  private publishing = false;
  private republishWanted = false;
  /** Leaf: the liveness probe of each attached supernode (it also keeps what the supernode last reported: attach answer, then echoes and heartbeats). */
  private readonly probes = new Map<number, LivenessProbe<SimLink>>();
  /** Leaf: one timer for the probes' checks (liveness.ts). */
  /** RPC handlers shared by all of this node's links, by role (see rpcOf). */
  private leafTable: RpcHandlers | undefined;
  private servingTable: RpcHandlers | undefined;
  /** Options of every link's RPC peer (made at the first). */
  private rpcOptions: RpcOptions | undefined;
  /** Leaf: supernodes wanted but not attached after the last attach run. */
  missingAttachments = 0;
  /** Leaf: supernodes a supernode that moved us named, tried first at the next attach. */
  private moveHints: Contact[] = [];
  /** Leaf: attached supernodes that found our record (record-check.ts); not asked again while attached (made at the first). */
  private verified: Set<number> | undefined;
  /** Leaf: supernodes that failed a record check, held out of the candidates (made at the first). */
  private distrusted: HoldList<number> | undefined;
  private readonly ac = new AbortController();
  /** Set by {@link startWarm} until the first record is placed. */
  private warm: WarmStart | undefined;

  constructor(
    readonly world: SimWorld,
    readonly spec: NodeSpec,
    readonly role: SimRole,
    readonly host: SimHost,
    private readonly random: Random,
    private readonly events: PeerEvents,
    /** Host cache kept across sessions (a returning node's persisted cache). */
    hostCache: HostCache | undefined,
  ) {
    const { clock, config } = world;
    this.startedAt = clock.now();
    this.hostCache = hostCache ?? new HostCache({ clock });
    const socket = host.bindSync({ port: SIM_PORT });
    this.links = new SimLinks({ self: spec.index, socket, clock, directory: world, idleTimeoutMs: config.linkIdleMs, post: world.post, instantKeepalives: config.instantKeepalives });
    this.links.onAccept((link) => this.rpcOf(link));
    // Probes and echoes of every link: this node is its links' sink (onLinkPayload).
    this.links.onPayload(this);
    if (role === 'supernode') this.initSupernode();
  }

  get isSupernode(): boolean {
    return this.role === 'supernode';
  }

  /** Ready to look up and be found: attached (leaf) or joined (supernode). */
  get ready(): boolean {
    return this.isSupernode ? this.table !== undefined && this.table.size > 0 : this.attached.length > 0;
  }

  /** Supernodes this leaf is attached to. */
  get supernodes(): readonly number[] {
    return this.attached;
  }

  /** Leaf: the area loads its attached supernodes last reported (those that reported one). */
  get areaLoads(): number[] {
    const out: number[] = [];
    for (const sn of this.attached) {
      const area = this.probes.get(sn)?.area ?? -1;
      if (area >= 0) out.push(area);
    }
    return out;
  }

  /** Leaves attached to this supernode. */
  get leafCount(): number {
    return this.leaves.size;
  }

  /** Supernode: its load (percent of its sessions) and its area's ({@link AreaLoad} estimate). */
  get load(): SupernodeLoad {
    const load = this.loadPct();
    return { load, area: this.area?.estimate(load) ?? load };
  }

  private loadPct(): number {
    return Math.min(100, (100 * this.leaves.size) / this.world.config.maxLeaves);
  }

  /**
   * Supernode: move `n` random leaves elsewhere (as OverlayNode's move notice): each is
   * told, with the supernodes closest to it in our table, and stops counting here.
   */
  shedLeaves(n: number): void {
    const leaves = [...this.leaves.keys()];
    for (let i = 0; i < n && leaves.length > 0; i++) {
      const j = this.random.int(leaves.length);
      const peer = leaves[j]!;
      leaves[j] = leaves[leaves.length - 1]!;
      leaves.pop();
      const link = this.links.get(peer);
      if (!link) continue;
      this.leaves.delete(peer);
      const peers = this.table!.closest(this.world.contactOf(peer).id, ATTACH_MAX_PEERS).map(contactToWire);
      void this.rpcOf(link).request(SimMove, { peers }, { timeoutMs: 3000 }).catch(() => {});
    }
  }

  /** Routing table size (supernodes). */
  get tableSize(): number {
    return this.table?.size ?? 0;
  }

  /** Records this supernode holds under `key` (diagnostics). */
  held(key: Uint8Array): number {
    return this.store?.get(key).length ?? 0;
  }

  /** DHT service counters (diagnostics). */
  get serviceStats(): { handled: number; rateLimited: number; invalid: number } | undefined {
    return this.service?.stats;
  }

  /** Start: join the overlay from `seeds` and the host cache. */
  start(seeds: readonly Contact[]): void {
    if (this.isSupernode) void this.joinDht(seeds);
    else void this.attach(seeds);
    const { config } = this.world;
    const period = this.isSupernode ? config.maintenanceMs : this.keepalivePeriod();
    this.timer = this.world.clock.setTimeout(() => this.tick(), this.random.float() * period);
  }

  /**
   * Start as a node of a converged network (see {@link WarmStart}). A supernode is offered
   * `known` (other supernodes' contacts) through RoutingTable.add, the way contacts that
   * answered enter it (ID and proof of work verified, per-/24 caps, full buckets ping their
   * oldest entry), and has its record placed. A leaf runs the normal attach (from its host
   * cache: give it one), then has its record, naming the supernodes it attached to, placed.
   */
  startWarm(known: readonly Contact[], warm: WarmStart): void {
    this.warm = warm;
    if (this.isSupernode) {
      const table = this.table!;
      const self = this.spec.contact!;
      for (const c of known) if (!idEquals(c.id, self.id)) table.add(c);
      for (const c of table.closest(self.id, 50)) this.hostCache.recordSuccess(toHex(c.id), c.address);
      if (!this.spec.attacker) this.placeWarm([]);
    } else {
      void this.attach(this.world.seedContacts());
    }
    const { config } = this.world;
    const period = this.isSupernode ? config.maintenanceMs : this.keepalivePeriod();
    this.timer = this.world.clock.setTimeout(() => this.tick(), this.random.float() * period);
  }

  /** Put `record` in this supernode's store under `key` (RecordStore.put: verified); false if refused or not a supernode. */
  storeDirect(key: Uint8Array, record: PresenceRecord): boolean {
    if (!this.store || this.spec.attacker || this.closed) return false;
    return this.store.put(key, record).ok;
  }

  /** Sign the warm-start record (issued in the past) and have it placed. */
  private placeWarm(supernodes: number[]): void {
    const warm = this.warm;
    if (!warm || this.closed) return;
    this.warm = undefined;
    const record = this.sign(supernodes, warm.issuedAt);
    if (!warm.place(record)) {
      this.republishWanted = true; // publish it the normal way at the next tick
      return;
    }
    this.record = record;
    this.republishWanted = false;
    this.publishedAt ??= this.world.clock.now();
    this.lastPublishAt = warm.issuedAt;
    this.events.published(this);
  }

  /** Leave: close every link and the socket (a crash: nobody is told). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    if (this.isSupernode) this.world.heartbeats.delete(this);
    for (const p of this.probes.values()) p.stop();
    this.probes.clear();
    this.ac.abort(new Error('node closed'));
    this.links.close();
    this.table?.close();
    this.host.close();
  }

  /** Look up the records under the name of `name`. */
  async lookup(name: string): Promise<SimLookupResult> {
    this.lookups++;
    const key = nameKey(name);
    const t0 = this.world.clock.now();
    if (this.dht) {
      if (this.spec.attacker) return { records: [], hops: 0, latencyMs: 0 };
      const r = await this.dht.findRecords(key);
      return { records: r.records, hops: r.hops, latencyMs: this.world.clock.now() - t0 };
    }
    const asked = new Set<number>();
    let last: SimLookupResult = { records: [], hops: 0, latencyMs: 0 };
    for (let round = 0; round < 2 && !this.closed; round++) {
      const empty: number[] = [];
      for (const sn of [...this.attached]) {
        const link = this.links.get(sn);
        if (!link || asked.has(sn) || this.closed) continue;
        asked.add(sn);
        try {
          const a = await this.rpcOf(link).request(SimLookup, { key: toHex(key) }, { timeoutMs: 5000, initialRtoMs: 1500 });
          last = { records: a.records as PresenceRecord[], hops: a.hops, latencyMs: this.world.clock.now() - t0 };
          if (a.records.length > 0) return last;
          empty.push(sn);
        } catch {
          this.suspect(sn);
        }
      }
      // None found it: one we have not verified may be dropping our lookups. Those that
      // cannot find our own record are replaced, and the new ones asked.
      if (empty.length > 0 && (await this.checkRecord(empty)) === 0) break;
      // Wait (up to 10 s) for a supernode we have not asked, then ask again.
      for (let i = 0; i < 20 && !this.closed && !this.attached.some((sn) => !asked.has(sn)); i++) await this.world.clock.sleep(500);
    }
    return { ...last, latencyMs: this.world.clock.now() - t0 };
  }

  /** A supernode failed a request: probe it at once and drop it if it stays silent for 2 s. */
  private suspect(sn: number): void {
    const link = this.links.get(sn);
    if (!link || this.closed) return;
    const at = this.world.clock.now();
    link.sendInstant(PROBE);
    this.world.clock.setTimeout(() => {
      if (!link.closed && link.lastReceived < at) link.close('supernode silent');
    }, 2000);
  }

  // --- shared ------------------------------------------------------------------

  private keepalivePeriod(): number {
    const [lo, hi] = this.world.config.keepaliveMs;
    return lo + this.random.float() * (hi - lo);
  }

  private tick(): void {
    if (this.closed) return;
    const { config, clock } = this.world;
    let next: number;
    if (this.isSupernode) {
      this.maintain();
      next = config.maintenanceMs * (0.9 + 0.2 * this.random.float());
    } else {
      this.leafRound();
      next = this.keepalivePeriod();
    }
    this.timer = clock.setTimeout(() => this.tick(), next);
  }

  /** The RPC stack of a link (made on first use), with this node's handlers. */
  private rpcOf(link: SimLink): RpcPeer {
    const u = link.user as LinkUser | undefined;
    if (u) return u.rpc;
    const { clock, registry, wireCheck } = this.world;
    // Smaller duplicate-suppression windows than the defaults: a simulated supernode holds
    // hundreds of links, and 10,000 nodes share one heap.
    const endpoint = new SimEndpoint(link, registry, wireCheck);
    // One options object per node (its settings are worked out once), one table of
    // handlers per node and role, not closures per link: each handler finds its link
    // through `ctx.peer.tag`.
    const options = (this.rpcOptions ??= {
      clock, random: this.random, executedWindow: 512, responseCacheEntries: 64, defaults: { timeoutMs: this.world.config.dhtTimeoutMs },
      // Answers are replayed to retransmissions, which end with the longest request here
      // (a publish): kept that long rather than RpcPeer's 60 s, they leave the young
      // generation less often (at 10,000 nodes most are the DHT's, whose requests last 2 s).
      responseCacheTtlMs: PUBLISH_TIMEOUT_MS,
      // Every message comes from this simulator's code: validated only when checking (sim-endpoint.ts).
      validate: wireCheck !== undefined,
      handlers: this.isSupernode ? this.servingHandlers() : this.leafHandlers(),
    });
    const rpc = new RpcPeer(endpoint, options, link);
    const user: LinkUser = { rpc, sender: undefined };
    link.user = user;
    return rpc;
  }

  /**
   * @internal A link of this node closed (this node is its links' PayloadSink: no closure
   * per link). Its RPC peer closed with it (the endpoint closes with its link).
   */
  onLinkClosed(link: SimLink): void {
    if (link.user === undefined) return;
    if (this.leaves.delete(link.peer)) return;
    // Our own close (leaving) loses no supernode: nothing to note in the host cache we keep.
    if (!this.isSupernode && !this.closed && this.attached.includes(link.peer)) this.lostSupernode(link.peer);
  }

  /**
   * @internal A payload outside the message stack (this node is its links' PayloadSink):
   * a leaf's liveness probe, or a supernode's echo, on a link with an RPC stack (every
   * link this node uses).
   */
  onLinkPayload(link: SimLink, payload: Uint8Array): void {
    // Thousands a second at 10,000 nodes: read in place, nothing allocated but the echo's packet.
    if (this.closed || link.user === undefined) return;
    // The state is on the link (not on `user`): one object fewer to fetch per probe.
    if (!isProbe(payload)) {
      const echo = packedEcho(payload);
      const probe = link.probe;
      if (echo < 0 || probe === undefined) return;
      if (echoIsHeartbeat(echo)) probe.onHeartbeat(echoLoad(echo), echoArea(echo));
      else probe.onEcho(echoAttached(echo), echoLoad(echo), echoArea(echo));
      return;
    }
    if (!this.isSupernode) return;
    // At most 10 echoes per second per peer (as OverlayNode): an echo is no bigger than the probe.
    const now = this.world.clock.now();
    if (now - link.lastEchoAt < 100) return;
    link.lastEchoAt = now;
    const load = this.loadPct();
    const area = this.area?.estimate(load) ?? load;
    // One buffer for every echo: SimLinks copies it into the DATA packet, and the carry
    // path's receiver (the leaf's onLinkPayload) reads it before anything else is sent.
    link.send(encodeEchoInto(ECHO_SCRATCH, this.leaves.has(link.peer), load, area));
  }

  // --- supernode ---------------------------------------------------------------

  private initSupernode(): void {
    const { clock, config, contacts, records } = this.world;
    const self = this.spec.contact!;
    const verify = (c: Contact) => contacts.accepts(c);
    const area = (this.area = new AreaLoad({ clock }));
    const send = dhtSendOverRpc(async (to) => this.rpcOf(this.linkTo(to)), {
      timeoutMs: config.dhtTimeoutMs,
      onLoad: (from, load) => area.note(idKey(from.id), load),
    });
    const rpc = dhtRpc(send);
    this.table = new RoutingTable({ self: self.id, clock, k: config.k, verify, ping: (c, signal) => rpc.ping(c, signal), pingQuietMs: config.pingQuietMs });
    this.store = new RecordStore({ clock, self: self.id, verify: records.verify, maxTtlMs: config.recordLifetimeMs });
    // As OverlayNode: STORE 20/s, burst 200 per peer (a supernode stores for all its leaves).
    this.service = new DhtService({ self, table: this.table, store: this.store, clock, rates: { store: { ratePerSec: 20, burst: 200 } } });
    this.dht = new Dht({ self, table: this.table, store: this.store, rpc, clock, verifyContact: verify, verifyRecord: records.verify, k: config.k, timeoutMs: config.dhtTimeoutMs });
    // Heartbeats on the multiples of the period, with every supernode of the share (sim-heartbeats.ts).
    this.world.heartbeats.add(this);
  }

  /**
   * @internal This instant's heartbeats (liveness.ts): one to each attached leaf, with our
   * load and area load. The batch sends them to the leaves heard from lately.
   */
  collectHeartbeats(batch: HeartbeatBatch): void {
    if (this.closed || this.leaves.size === 0) return;
    const load = this.loadPct();
    const loadPct = pct(load);
    const areaPct = pct(this.area?.estimate(load) ?? load);
    this.leaves.forEach((link, leaf) => batch.add(leaf, link, loadPct, areaPct));
  }

  /** The link to the node holding `to`'s key (the handshake checks it is that node). */
  private linkTo(to: Contact): SimLink {
    const peer = this.world.indexOfId(to.id);
    if (peer === undefined) throw new Error('no such node');
    return this.links.connect(peer, to.address);
  }

  /** The link a request came in on (every RpcPeer of this node is tagged with its link). */
  private static linkOf(ctx: RpcContext): SimLink {
    return ctx.peer.tag as SimLink;
  }

  /** The requesting peer's contact, as its link established it. */
  private senderOf(ctx: RpcContext): Contact {
    const link = SimPeer.linkOf(ctx);
    const user = link.user as LinkUser;
    return (user.sender ??= this.world.contactOf(link.peer, link.address));
  }

  /** A leaf's handlers, for every link it opens: a supernode moving it elsewhere. */
  private leafHandlers(): RpcHandlers {
    if (this.leafTable) return this.leafTable;
    const t = (this.leafTable = new RpcHandlers());
    t.handle(SimMove, ({ peers }, ctx) => {
      const link = SimPeer.linkOf(ctx);
      if (this.attached.includes(link.peer)) {
        this.moveHints = peers.map((w) => contactFromWire(w)).filter((x): x is Contact => x !== undefined);
        // Close after the answer went out; the close starts the re-attachment.
        this.world.clock.setTimeout(() => link.close('moved'), 100);
      }
      return null;
    });
    return t;
  }

  /** A supernode's handlers (the DHT, attachment, publish and lookup for leaves), for every link opened while it is one. */
  private servingHandlers(): RpcHandlers {
    if (this.servingTable) return this.servingTable;
    const t = (this.servingTable = new RpcHandlers());
    if (this.spec.attacker) {
      this.serveAsAttacker(t);
      return t;
    }
    registerDhtHandlers(t, this.service!, (ctx) => this.senderOf(ctx), () => this.load.load);
    t.handle(SimAttach, (_p, ctx) => {
      const peer = SimPeer.linkOf(ctx).peer;
      const accepted = !this.closed && this.leaves.size < this.world.config.maxLeaves;
      if (accepted) this.leaves.set(peer, SimPeer.linkOf(ctx));
      const peers = this.table!.closest(this.senderOf(ctx).id, ATTACH_MAX_PEERS).map(contactToWire);
      const { load, area } = this.load;
      return { accepted, peers, load: Math.round(load), area: Math.round(area) };
    });
    t.handle(SimDetach, (_p, ctx) => {
      this.leaves.delete(SimPeer.linkOf(ctx).peer);
      return null;
    });
    t.handle(SimPublish, async ({ record }, ctx) => {
      const r = record as PresenceRecord;
      if (!this.leaves.has(SimPeer.linkOf(ctx).peer) || r.nodeId !== toHex(this.senderOf(ctx).id)) return { accepted: 0, refused: 1 };
      const out = await this.dht!.publish(r);
      // The weaker key decides: a record is findable by name only if stored under the name key.
      let accepted = Infinity, refused = 0;
      for (const s of out.stored) {
        accepted = Math.min(accepted, s.accepted);
        refused += s.refused;
      }
      return { accepted: Math.min(accepted, 1000), refused: Math.min(refused, 1000) };
    });
    t.handle(SimLookup, async ({ key }) => {
      const r = await this.dht!.findRecords(nodeIdFromHex(key));
      return { records: r.records.slice(0, 16), hops: r.hops, rpcs: Math.min(r.rpcs, 100_000) };
    });
    return t;
  }

  /** Eclipse behaviour: fake close contacts, no records, stores dropped. */
  private serveAsAttacker(t: RpcHandlers): void {
    const fake = (target: Uint8Array, sender: Contact) =>
      this.world.attackerContacts()
        .filter((c) => !idEquals(c.id, sender.id))
        .sort((a, b) => compareDistance(target, a.id, b.id))
        .slice(0, this.world.config.k)
        .map(contactToWire);
    t.handle(DhtFindNode, ({ target }, ctx) => ({ type: 'nodes' as const, contacts: fake(nodeIdFromHex(target), this.senderOf(ctx)) }));
    t.handle(DhtFindValue, ({ key }, ctx) => ({ type: 'value' as const, records: [], contacts: fake(nodeIdFromHex(key), this.senderOf(ctx)) }));
    t.handle(DhtStore, () => ({ type: 'stored' as const, status: 'stored' as const }));
    t.handle(SimAttach, (_p, ctx) => {
      this.leaves.set(SimPeer.linkOf(ctx).peer, SimPeer.linkOf(ctx));
      const sender = this.senderOf(ctx);
      return { accepted: true, peers: fake(sender.id, sender).slice(0, ATTACH_MAX_PEERS), load: 0, area: 0 };
    });
    t.handle(SimDetach, () => null);
    t.handle(SimPublish, () => ({ accepted: 20, refused: 0 }));
    t.handle(SimLookup, () => ({ records: [], hops: 0, rpcs: 0 }));
  }

  private async joinDht(seeds: readonly Contact[]): Promise<void> {
    const dht = this.dht!;
    const self = this.spec.contact!;
    const fromCache = this.hostCache.best(16).map((e) => e.id);
    const known: Contact[] = [...seeds];
    for (const id of fromCache) {
      const i = this.world.indexOfId(nodeIdFromHex(id));
      const e = this.hostCache.get(id);
      if (i !== undefined && e) known.push({ ...this.world.contactOf(i), address: e.address });
    }
    const others = known.filter((c) => !idEquals(c.id, self.id));
    try {
      await dht.bootstrap(others);
    } catch {
      // counted by the owner through `ready`
    }
    if (this.closed) return;
    for (const c of this.table!.closest(self.id, 50)) this.hostCache.recordSuccess(toHex(c.id), c.address);
    if (this.spec.attacker) return;
    await this.publishOwn();
  }

  private async publishOwn(): Promise<void> {
    if (this.closed || this.publishing) return;
    this.publishing = true;
    try {
      const record = this.sign([]);
      const out = await this.dht!.publish(record);
      if (out.stored.every((s) => s.accepted > 0) && !this.closed) {
        this.record = record;
        this.publishedAt ??= this.world.clock.now();
        this.events.published(this);
      }
    } catch {
      // retried at the next maintenance round
    } finally {
      this.publishing = false;
    }
  }

  /** Close idle links, and let the others drop the answers they cached that have expired. */
  private sweepLinks(): void {
    // One pass: links idle too long close, the others drop their expired responses.
    this.links.sweep(dropExpiredResponses);
  }

  private maintain(): void {
    this.sweepLinks();
    this.store!.sweep();
    if (this.spec.attacker) return;
    const now = this.world.clock.now();
    if (!this.record || now >= republishAt(this.record)) void this.publishOwn();
    const n = this.world.config.replicatePerRound;
    if (n > 0) void this.dht!.replicate(n).catch(() => {});
    this.refreshAreaLoad();
    if (this.table!.size === 0) void this.joinDht(this.world.seedContacts());
  }

  /** Where supernodes talk little, ask a few for their load (area-load.ts). */
  private refreshAreaLoad(): void {
    const ask = this.area!.toRefresh(this.table!.closest(this.random.bytes(32), 16), (c) => idKey(c.id));
    for (const c of ask) void this.dht!.ping(c, this.ac.signal);
  }

  // --- leaf --------------------------------------------------------------------

  private sign(supernodes: number[], issuedAt?: number): PresenceRecord {
    const { clock, config, specs } = this.world;
    const refs = supernodes.map((i) => ({ id: toHex(specs[i]!.identity.idBytes), address: this.world.contactOf(i).address }));
    const seq = this.spec.seq++;
    const at = issuedAt === undefined ? clock : { now: () => issuedAt };
    return signPresence(this.world.signerOf(this.spec), { name: this.spec.name, supernodes: refs, addresses: [], seq, lifetimeMs: config.recordLifetimeMs }, at);
  }

  /** Candidates to attach to: host cache (best first), then peers learned, then seeds. */
  private candidates(seeds: readonly Contact[]): Contact[] {
    const out: Contact[] = [];
    const seen = new Set<number>(this.attached);
    for (const e of this.hostCache.best(30)) {
      const i = this.world.indexOfId(nodeIdFromHex(e.id));
      if (i === undefined || seen.has(i)) continue;
      seen.add(i);
      out.push({ ...this.world.contactOf(i), address: e.address });
    }
    for (const c of seeds) {
      const i = this.world.indexOfId(c.id);
      if (i === undefined || seen.has(i)) continue;
      seen.add(i);
      out.push(c);
    }
    return out;
  }

  private async attach(seeds: readonly Contact[]): Promise<void> {
    if (this.attaching || this.closed) return;
    this.attaching = true;
    const want = this.world.config.attachments;
    // Each supernode is asked once per run; one that refused (full) names others, tried first next.
    const tried = new Set<number>();
    const redirects: Contact[] = [];
    const fresh = (c: Contact) => {
      const i = this.world.indexOfId(c.id);
      return i !== undefined && !tried.has(i) && !this.attached.includes(i) && i !== this.spec.index && !this.distrusted?.isHeld(i, this.world.clock.now());
    };
    try {
      for (let round = 0; round < 4 && this.attached.length < want && !this.closed; round++) {
        const pool = this.candidates(round === 0 ? [] : seeds).filter(fresh);
        const list = pool.length > 0 ? pool : this.candidates(seeds).filter(fresh);
        // Shuffle lightly so leaves spread over supernodes.
        for (let i = list.length - 1; i > 0; i--) {
          const j = this.random.int(i + 1);
          [list[i], list[j]] = [list[j]!, list[i]!];
        }
        // The supernodes a supernode that moved us named come first, then those a full one named.
        const named = [...this.moveHints.splice(0), ...redirects.splice(0)].filter(fresh);
        const need = want - this.attached.length;
        const tries: Contact[] = [];
        for (const c of this.nearFirst([...named, ...list])) {
          if (tries.length >= need + ATTACH_SPARE_TRIES) break;
          const i = this.world.indexOfId(c.id)!;
          if (tried.has(i)) continue;
          tried.add(i);
          tries.push(c);
        }
        if (tries.length === 0) break;
        const answers = await Promise.all(tries.map((c) => this.tryAttach(c)));
        if (this.closed) return;
        const offers: AttachOffer[] = [];
        for (const a of answers) {
          if (a === undefined) continue;
          if (!('link' in a)) redirects.push(...a.named);
          else offers.push(a);
        }
        this.keepLeastLoaded(offers);
      }
    } finally {
      this.attaching = false;
    }
    if (this.closed) return;
    this.missingAttachments = Math.max(0, want - this.attached.length);
    if (this.attached.length > 0 && this.warm) this.placeWarm(this.attached);
    else if (this.attached.length > 0 && (this.republishWanted || !this.record)) void this.publish();
  }

  /**
   * `list` with the supernodes of this node's region first (a split simulation's share,
   * farther from the others: where a real leaf's RTT ranking puts them), order otherwise
   * kept. The same list when the simulation is not split.
   */
  private nearFirst(list: Contact[]): Contact[] {
    const world = this.world;
    if (world.shareCount === 1) return list;
    const near: Contact[] = [];
    const far: Contact[] = [];
    for (const c of list) (world.isLocal(world.indexOfId(c.id) ?? -1) ? near : far).push(c);
    return [...near, ...far];
  }

  /**
   * Of the supernodes that accepted us in one round, keep the least loaded (the power of
   * choices: leaves even out the load as they come, so few need to be moved later) and
   * tell the others we do not need them.
   */
  private keepLeastLoaded(offers: AttachOffer[]): void {
    const open = offers.filter((o) => !this.attached.includes(o.peer));
    const { keep, decline } = leastLoaded(open, this.world.config.attachments - this.attached.length);
    for (const o of keep) {
      this.attached.push(o.peer);
      this.startProbe(o.peer, o.link, o);
      if (!this.record) this.republishWanted = true;
    }
    // Not needed: tell the supernode (it would count us until the link idles out).
    for (const o of decline) {
      void this.rpcOf(o.link).request(SimDetach, null, { timeoutMs: 3000 }).catch(() => {}).finally(() => {
        if (!this.attached.includes(o.peer)) o.link.close('not needed');
      });
    }
  }

  /** Ask `c` to serve us: its offer (load) if it accepted, the supernodes it named if it refused. */
  private async tryAttach(c: Contact): Promise<AttachOffer | { named: Contact[] } | undefined> {
    const peer = this.world.indexOfId(c.id);
    if (peer === undefined) return undefined;
    const id = toHex(c.id);
    let link: SimLink;
    try {
      link = this.links.connect(peer, c.address);
      const t0 = this.world.clock.now();
      const a = await this.rpcOf(link).request(SimAttach, null, { timeoutMs: 3000 });
      if (this.closed) return undefined;
      const named = a.peers.map((w) => contactFromWire(w)).filter((x): x is Contact => x !== undefined);
      this.hostCache.mergeExchange(named.map((x) => ({ id: toHex(x.id), address: x.address, lastSeen: 0, rtt: null, failures: 0 })));
      if (!a.accepted) {
        if (!this.attached.includes(peer)) link.close('not needed');
        return { named };
      }
      this.hostCache.recordSuccess(id, c.address, this.world.clock.now() - t0);
      return { peer, link, load: a.load, area: a.area };
    } catch {
      this.hostCache.recordFailure(id);
      this.links.get(peer)?.close('attach failed');
    }
    return undefined;
  }

  /**
   * Probe attached supernode `peer` over `link` (liveness.ts): it starts with the loads of
   * the attach answer, its echoes bring newer ones; three misses drop the supernode.
   */
  private startProbe(peer: number, link: SimLink, reported: SupernodeLoad): void {
    this.probes.get(peer)?.stop();
    const probe = new LivenessProbe(this.world.clock, this.random, link, this.world.config.liveness, LEAF_PROBE_EVENTS, undefined, this.world.leafWatch);
    probe.load = reported.load;
    probe.area = reported.area;
    this.probes.set(peer, probe);
    // Its echoes go straight to it (onLinkPayload).
    link.probe = probe;
    probe.start();
  }

  private lostSupernode(peer: number): void {
    this.probes.get(peer)?.stop();
    this.probes.delete(peer);
    this.verified?.delete(peer);
    this.attached = this.attached.filter((p) => p !== peer);
    this.hostCache.recordFailure(toHex(this.world.specs[peer]!.identity.idBytes));
    // Republish when fewer than half of the supernodes the record lists are still ours
    // (callers reach us through any one of them).
    if (this.record) {
      const listed = this.record.supernodes.map((s) => this.world.indexOfId(nodeIdFromHex(s.id)));
      const still = listed.filter((i) => i !== undefined && this.attached.includes(i)).length;
      if (still * 2 < listed.length) this.republishWanted = true;
    }
    void this.attach(this.world.seedContacts());
  }

  private async publish(): Promise<void> {
    if (this.publishing || this.closed || this.attached.length === 0) return;
    this.publishing = true;
    this.republishWanted = false;
    try {
      const record = this.sign(this.attached);
      let ok = false;
      for (const sn of this.attached.slice(0, this.world.config.publishVia)) {
        const link = this.links.get(sn);
        if (!link) continue;
        try {
          const a = await this.rpcOf(link).request(SimPublish, { record }, { timeoutMs: PUBLISH_TIMEOUT_MS, initialRtoMs: 4000 });
          if (a.accepted > 0) ok = true;
        } catch {
          // the next one
        }
      }
      if (!ok) this.republishWanted = true; // again at the next keepalive tick
      if (ok && !this.closed) {
        this.record = record;
        this.publishedAt ??= this.world.clock.now();
        this.lastPublishAt = this.world.clock.now();
        this.events.published(this);
      }
    } finally {
      this.publishing = false;
    }
  }

  /**
   * Ask each of `supernodes` still attached and not yet verified to find our record as
   * last published; discredit those that answer without it (record-check.ts). Resolves to
   * the number discredited.
   */
  private async checkRecord(supernodes: readonly number[]): Promise<number> {
    const record = this.record;
    if (!record || !oldEnoughToCheck(this.lastPublishAt, this.world.clock.now())) return 0;
    const seq = record.seq;
    const key = toHex(nameKey(this.spec.name));
    const own = toHex(this.spec.identity.idBytes);
    let discredited = 0;
    await Promise.all(supernodes.filter((sn) => !this.verified?.has(sn) && this.attached.includes(sn)).map(async (sn) => {
      const link = this.links.get(sn);
      if (!link) return;
      let found: boolean;
      try {
        const a = await this.rpcOf(link).request(SimLookup, { key }, { timeoutMs: 5000, initialRtoMs: 1500 });
        found = holdsOwnRecord(a.records as PresenceRecord[], own, seq);
      } catch {
        return; // silent: liveness decides
      }
      if (this.closed || !this.attached.includes(sn)) return;
      if (found) {
        (this.verified ??= new Set()).add(sn);
        return;
      }
      (this.distrusted ??= new HoldList(MAX_DISTRUSTED)).hold(sn, this.world.clock.now() + DISTRUST_MS);
      discredited++;
      this.lostSupernode(sn);
      void this.rpcOf(link).request(SimDetach, null, { timeoutMs: 3000 }).catch(() => {}).finally(() => link.close('record check failed'));
    }));
    return discredited;
  }

  /** The leaf's round (every 15-25 s): liveness is the probes' job; re-attach if short, republish when due. */
  private leafRound(): void {
    const now = this.world.clock.now();
    // lostSupernode replaces `attached` (never edits it in place): iterating it is safe.
    for (const sn of this.attached) if (!this.links.get(sn)) this.lostSupernode(sn);
    this.sweepLinks();
    if (this.attached.length < this.world.config.attachments && !this.attaching) void this.attach(this.world.seedContacts());
    else if (this.republishWanted || (this.record && now >= republishAt(this.record))) void this.publish();
  }
}
