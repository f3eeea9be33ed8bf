/**
 * SimNet: a simulated internet on a virtual clock, deterministic from a seed. Hosts get a
 * {@link Net} each (so the real components run unchanged); datagrams cross an access link
 * per host (latency, jitter, loss, up/down bandwidth with bounded queues), optional NAT
 * boxes of the four classic kinds, and a core (latency, jitter, loss), or a per-link
 * override. Delivery is scheduled on the clock and handlers run synchronously from its
 * timer callbacks.
 *
 * Path of a datagram from A to B (B's public address is its own, or its NAT's):
 *
 * ```
 * A.send -> A's uplink queue -> [A's NAT: map the source] -> one-way delay, loss ->
 *   [B's NAT: filter, map back] -> B's downlink queue -> B's socket
 * ```
 *
 * The one-way delay and loss are drawn once per datagram from the sum of the segments:
 * A's access link, A's NAT link, the core (or a {@link SimNet.setLink} override between
 * the two public endpoints), B's NAT link and B's access link (see {@link LinkProfile}
 * for the distribution). B's NAT filter and downlink queue are applied when the datagram
 * arrives (so a mapping that expires in flight drops it, and the queue serves arrivals
 * in order). B's access link behind a NAT is the one mapped on the port when the
 * datagram is sent (if none is mapped yet, as in a hole-punching race, it adds nothing). Hosts behind the same NAT reach each other on their private addresses
 * through their access links only, bypassing NAT and bandwidth limits.
 *
 * Performance: each datagram costs one payload copy, one pooled event object and an
 * O(log n) push/pop on a heap of datagrams in flight (a second one only when the
 * receiver's downlink queue is busy); no closure is created per datagram. Only the
 * earliest datagram holds a clock timer, and all datagrams due at the same instant are
 * delivered from one timer callback. By default delivery times are rounded up to the
 * millisecond (`timeResolutionMs: 1`) and, while traffic is dense, delivered from one
 * reused interval timer; `timeResolutionMs: 0` gives exact float times at about half
 * the throughput (one clock timer per delivery time; see bench/simnet.bench.ts).
 *
 * Received payloads are private copies, but small ones are views into shared 8 KiB slabs
 * (like Node's Buffer pool): a component that keeps a datagram for a long time should
 * keep a `slice()` of it, not the view.
 *
 * Beware zero-latency paths: two sockets that answer each other over a path with no
 * latency at all exchange datagrams forever at one virtual instant (the clock cannot
 * advance). A host sending to its own address gets a small loopback delay for that reason.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const sim = new SimNet({ clock, random: new SeededRandom(1), latencyMs: 20, jitterMs: 2 });
 * const server = sim.addHost('198.51.100.7', { uplinkKbps: 10_000 });
 * const nat = sim.addNat('203.0.113.1', { kind: 'port-restricted', bindingTimeoutMs: 30_000 });
 * const leaf = sim.addHost('10.0.0.2', { nat, loss: 0.01 });
 * const s = await server.bind({ port: 4000 });
 * s.onMessage((data, from) => s.send(data, from)); // echo; `from` is the NAT's mapping
 * const c = await leaf.bind();
 * const t0 = clock.now();
 * c.onMessage((data) => console.log('echo after', clock.now() - t0, 'ms')); // ~40 ms
 * c.send(new Uint8Array([1, 2, 3]), { host: '198.51.100.7', port: 4000 });
 * await clock.advance(100);
 * sim.close();
 * ```
 * @module
 */
import { isIP } from 'node:net';
import type { Clock, Timer } from '../clock.ts';
import type { Random } from '../random.ts';
import type { Address } from './net.ts';
import { NatBox, type NatOptions } from './nat.ts';
import { HEADER_BYTES, type HostOptions, SimHost } from './sim-host.ts';
import { type LinkProfile, checkLinkProfile, sampleDelay } from './sim-link.ts';
import { CalendarQueue, EventQueue } from './sim-queue.ts';
import type { SimSocket } from './sim-socket.ts';
import { type DropCounts, type DropReason, type SimNetStats, newDropCounts } from './sim-stats.ts';
import { RemoteEdge, type ShareBatch, type ShareOptions, ShareReader, type ShareVisitor, ShareWriter } from './sim-share.ts';

export { NatBox, NAT_KINDS, type NatKind, type NatOptions, type NatStats, type NatMapping } from './nat.ts';
export { SimHost, HEADER_BYTES, type HostOptions, type HostLinkOptions } from './sim-host.ts';
export { SimSocket } from './sim-socket.ts';
export type { LinkProfile } from './sim-link.ts';
export { type DropCounts, type DropReason, type HostStats, type SimNetStats, totalDrops } from './sim-stats.ts';
export { type ShareBatch, type ShareOptions } from './sim-share.ts';

/** Options for {@link SimNet}. */
export interface SimNetOptions {
  /** Time source; normally a {@link VirtualClock}. */
  clock: Clock;
  /** Randomness for loss, jitter and NAT port choice; a `SeededRandom` makes runs reproducible. */
  random: Random;
  /** One-way latency of the core between any two public endpoints; default 20 ms. */
  latencyMs?: number;
  /** Mean exponential jitter of the core; default 0. */
  jitterMs?: number;
  /** Loss probability of the core; default 0. */
  loss?: number;
  /** Largest datagram accepted by `send` (larger ones count as send errors); default 65,507. */
  maxDatagram?: number;
  /** Most datagrams in flight at once; beyond it sends are dropped (`overload`). Default 1,000,000. */
  maxInFlight?: number;
  /**
   * Round delivery times up to a multiple of this many ms; default 1. 0 makes times exact
   * (floats), at about half the throughput: each distinct delivery time then needs its own
   * clock timer.
   */
  timeResolutionMs?: number;
  /** Most hosts plus NATs; default 1,000,000. */
  maxEndpoints?: number;
  /** Most {@link SimNet.setLink} overrides; default 1,000,000. */
  maxLinks?: number;
  /**
   * Own one share of a network split across threads (sim-share.ts): datagrams to public
   * addresses of other shares go out through {@link SimNet.takeShared} and come in through
   * {@link SimNet.acceptShared}. Every share must use the same core figures.
   */
  share?: ShareOptions;
}

/** A public endpoint: a host with a public address, or a NAT box. */
type Edge = SimHost | NatBox;

/** A datagram in flight (pooled). Stage 0: travelling to the receiver; 1: waiting in its busy downlink queue. */
interface Flight {
  at: number;
  seq: number;
  stage: number;
  data: Uint8Array | undefined;
  from: Address | undefined;
  fromEid: number;
  fromPort: number;
  edge: Edge | undefined;
  host: SimHost | undefined;
  port: number;
  /** Stage 0: downlink serialization time already included in `at` (for `host`). */
  serialization: number;
}

const POOL_MAX = 4096;
/** Payload slabs: small copies share one ArrayBuffer (a kept datagram pins at most this much). */
const SLAB_BYTES = 8192;
const SLAB_MAX_COPY = 1500;
/** With `timeResolutionMs`, keep an interval timer while the next datagram is at most this many ticks away. */
const DENSE_TICKS = 4;
/** Tolerance for float rounding when comparing virtual times. */
const EPSILON_MS = 1e-6;
/** Delay of a datagram a host sends to its own address. */
const LOOPBACK_MS = 0.05;
/** Pair key for per-link overrides; endpoint ids stay below 2^26. */
const PAIR = 67_108_864;

/** The simulated internet; see the module documentation. */
export class SimNet {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly core: LinkProfile;
  private readonly maxDatagram: number;
  private readonly maxInFlight: number;
  private readonly resolution: number;
  private readonly maxEndpoints: number;
  private readonly maxLinks: number;
  /** Public addresses: hosts not behind a NAT, and NATs; in a shared network also other shares' endpoints. */
  private readonly edges = new Map<string, Edge | RemoteEdge>();
  private readonly links = new Map<number, LinkProfile>();
  /** Datagrams in flight: a heap for exact times, time buckets on a grid. */
  private readonly queue: EventQueue<Flight> | CalendarQueue<Flight>;
  private readonly pool: Flight[] = [];
  private slab = new ArrayBuffer(SLAB_BYTES);
  private slabUsed = 0;
  private nextId = 1;
  private seq = 0;
  private hostCount = 0;
  private natCount = 0;
  private timer: Timer | undefined;
  private armedAt = Infinity;
  /** Whether `timer` is the dense-traffic interval rather than a one-shot. */
  private ticking = false;
  private closed = false;
  private sentPackets = 0;
  private sentBytes = 0;
  private deliveredPackets = 0;
  private deliveredBytes = 0;
  private readonly drops: DropCounts = newDropCounts();
  /** Inside {@link carry}: the instant datagram stops at the receiving socket. */
  private carrying = false;
  private carriedTo: SimSocket | undefined;
  /** The source address the receiver of the last {@link carry} sees. */
  carriedFrom: Address | undefined;
  /** This share's number and the number of shares (0 of 1 when not shared). */
  readonly shareIndex: number;
  readonly shareCount: number;
  /** What goes to each other share at the next swap (undefined for this share). */
  private readonly outgoing: (ShareWriter | undefined)[];
  private readonly incoming = new ShareReader();
  private sharedOut = 0;
  private sharedIn = 0;
  /** Core latency between shares (the lookahead). */
  private readonly shareLatencyMs: number;

  constructor(options: SimNetOptions) {
    this.clock = options.clock;
    this.random = options.random;
    checkLinkProfile(options, 'SimNet');
    this.core = { latencyMs: options.latencyMs ?? 20, jitterMs: options.jitterMs ?? 0, loss: options.loss ?? 0 };
    this.maxDatagram = options.maxDatagram ?? 65_507;
    this.maxInFlight = options.maxInFlight ?? 1_000_000;
    this.resolution = options.timeResolutionMs ?? 1;
    this.maxEndpoints = Math.min(options.maxEndpoints ?? 1_000_000, PAIR - 1);
    this.maxLinks = options.maxLinks ?? 1_000_000;
    if (!(this.resolution >= 0)) throw new RangeError(`timeResolutionMs must be >= 0, got ${options.timeResolutionMs}`);
    this.queue = this.resolution > 0 ? new CalendarQueue<Flight>() : new EventQueue<Flight>();
    const share = options.share ?? { index: 0, count: 1 };
    if (!(Number.isInteger(share.count) && share.count >= 1 && Number.isInteger(share.index) && share.index >= 0 && share.index < share.count)) {
      throw new RangeError(`share: index must be an integer in [0, count), got ${share.index} of ${share.count}`);
    }
    this.shareIndex = share.index;
    this.shareCount = share.count;
    this.shareLatencyMs = share.latencyMs ?? this.core.latencyMs;
    if (share.count > 1 && !(this.shareLatencyMs > 0)) throw new RangeError('a shared SimNet needs a core latency between shares above 0 (it is the shares\' lookahead)');
    this.outgoing = Array.from({ length: share.count }, (_, i) => (i === share.index ? undefined : new ShareWriter()));
  }

  /**
   * The least one-way delay of a datagram between shares: the core latency between
   * shares (`share.latencyMs`, by default the core's). Shares swap
   * what they sent at least this often (sim-share.ts).
   */
  get lookaheadMs(): number {
    return this.shareLatencyMs;
  }

  /**
   * Take what this share sent to every other share since the last call: one batch per
   * share, indexed by share (an empty one for this share). Call at each swap, after the
   * clock has run to the window's end.
   */
  takeShared(): ShareBatch[] {
    return this.outgoing.map((w) => (w === undefined ? new Uint8Array(0) : w.take()));
  }

  /**
   * Take in what other shares sent this share (indexed by sending share; this share's
   * own entry is ignored), record by record: endpoints announced, datagrams scheduled at
   * their arrival. Throws if a datagram is due before the clock's present (the shares did not
   * swap at least every {@link lookaheadMs}) or an announced address is one of this share's.
   */
  acceptShared(batches: readonly (ShareBatch | undefined)[]): void {
    this.checkOpen();
    const now = this.clock.now();
    for (let sh = 0; sh < batches.length; sh++) {
      const b = batches[sh];
      if (b === undefined || sh === this.shareIndex) continue;
      this.fromShare = sh;
      this.acceptNow = now;
      this.incoming.read(b, this.sharedVisitor);
    }
  }

  /** The share whose batch {@link acceptShared} is reading, and the time it does. */
  private fromShare = 0;
  private acceptNow = 0;

  private readonly sharedVisitor: ShareVisitor = {
    announce: (ip, eid, gone) => {
      const known = this.edges.get(ip);
      if (gone) {
        if (known instanceof RemoteEdge && known.eid === eid) this.edges.delete(ip);
      } else if (known !== undefined && !(known instanceof RemoteEdge)) {
        throw new Error(`share ${this.fromShare} announced ${ip}, an address of share ${this.shareIndex}`);
      } else {
        this.edges.set(ip, new RemoteEdge(ip, eid, this.fromShare));
      }
    },
    datagram: (at, from, fromEid, toIp, toPort, data) => this.arriveShared(at, data, from, fromEid, toIp, toPort, this.acceptNow),
    note: (bytes) => this.noteHandler?.(this.fromShare, bytes),
  };

  /** A datagram from another share reaches this share's core: its receiving half of the path. */
  private arriveShared(at: number, data: Uint8Array, from: Address, fromEid: number, toIp: string, port: number, now: number): void {
    if (at < now - EPSILON_MS) throw new Error(`a datagram from another share is due at ${at}, before now (${now}): shares must swap at least every ${this.lookaheadMs} ms`);
    this.sharedIn++;
    const edge = this.edges.get(toIp);
    if (edge === undefined || edge instanceof RemoteEdge) {
      this.drops.noRoute++;
      return;
    }
    const dst = edge instanceof NatBox ? edge.hostOnPort(port) : edge;
    let latency = edge.latencyMs;
    let jitter = edge.jitterMs;
    let keep = 1 - edge.loss;
    let serialization = 0;
    if (dst !== undefined) {
      if (dst.nat !== undefined) {
        latency += dst.latencyMs;
        jitter += dst.jitterMs;
        keep *= 1 - dst.loss;
      }
      if (dst.downBytesPerMs !== Infinity) serialization = (data.byteLength + HEADER_BYTES) / dst.downBytesPerMs;
    }
    const random = this.random;
    if (keep < 1 && random.float() >= keep) {
      if (dst !== undefined) dst.drops.loss++;
      this.drops.loss++;
      return;
    }
    if (this.queue.size >= this.maxInFlight) {
      this.drops.overload++;
      return;
    }
    const f = this.flight(data, from, fromEid, from.port, edge, port);
    f.host = dst;
    f.serialization = serialization;
    this.schedule(f, at + sampleDelay(random, latency, jitter) + serialization);
  }

  /**
   * Send `bytes` to the code running on share `to` (all other shares if undefined): it
   * gets them at the next swap, through {@link onNote}, in order with the datagrams sent
   * around it. How the simulation's own bookkeeping crosses shares (who is online where,
   * messages handed across as objects).
   */
  note(bytes: Uint8Array, to?: number): void {
    if (to !== undefined) {
      const w = this.outgoing[to];
      if (w === undefined) throw new RangeError(`share ${to} is not another share of ${this.shareCount}`);
      w.note(bytes);
    } else {
      for (const w of this.outgoing) w?.note(bytes);
    }
  }

  /** Receive notes from other shares (one handler; `bytes` is a view valid during the call). */
  onNote(handler: ((from: number, bytes: Uint8Array) => void) | undefined): void {
    this.noteHandler = handler;
  }

  private noteHandler: ((from: number, bytes: Uint8Array) => void) | undefined;

  /** Queue an announcement of a public endpoint for every other share. */
  private announce(ip: string, eid: number, gone: boolean): void {
    if (this.shareCount === 1) return;
    for (const w of this.outgoing) w?.announce(ip, eid, gone);
  }

  /**
   * Add a host. Without `nat` the IP is public and must be unique among hosts and NATs;
   * with `nat` it is private and unique behind that NAT. Returns the host's {@link Net}.
   */
  addHost(ip: string, options: HostOptions = {}): SimHost {
    this.checkOpen();
    if (isIP(ip) === 0) throw new Error(`addHost: "${ip}" is not an IPv4 or IPv6 address`);
    const nat = options.nat;
    if (nat !== undefined) {
      if (nat.removed || this.edges.get(nat.ip) !== nat) throw new Error(`addHost ${ip}: NAT ${nat.ip} is not part of this network`);
      if (nat.lan.has(ip)) throw new Error(`addHost: ${ip} is already in use behind NAT ${nat.ip}`);
    } else if (this.edges.has(ip)) {
      throw new Error(`addHost: ${ip} is already in use by a host or NAT${this.edges.get(ip) instanceof RemoteEdge ? ' of another share' : ''}`);
    }
    const host = new SimHost(this, ip, this.newId(), options);
    if (nat !== undefined) {
      nat.lan.set(ip, host);
      nat.lanVersion++;
    } else {
      this.edges.set(ip, host);
      this.announce(ip, host.eid, false);
    }
    this.hostCount++;
    return host;
  }

  /** Add a NAT box with public address `ip`; put hosts behind it with `addHost(ip, { nat })`. */
  addNat(ip: string, options: NatOptions): NatBox {
    this.checkOpen();
    if (isIP(ip) === 0) throw new Error(`addNat: "${ip}" is not an IPv4 or IPv6 address`);
    if (this.edges.has(ip)) throw new Error(`addNat: ${ip} is already in use by a host or NAT${this.edges.get(ip) instanceof RemoteEdge ? ' of another share' : ''}`);
    checkLinkProfile(options, `NAT ${ip}`);
    const nat = new NatBox(ip, this.newId(), options, this.random.int(65536));
    this.edges.set(ip, nat);
    this.announce(ip, nat.eid, false);
    this.natCount++;
    return nat;
  }

  /** Remove a NAT and every host behind it (their sockets close). Idempotent. */
  removeNat(nat: NatBox): void {
    if (nat.removed) return;
    for (const h of [...nat.lan.values()]) h.close();
    nat.removed = true;
    if (this.edges.get(nat.ip) === nat) {
      this.edges.delete(nat.ip);
      this.announce(nat.ip, nat.eid, true);
    }
    this.natCount--;
  }

  /** The host or NAT that owns public address `ip`. */
  endpoint(ip: string): SimHost | NatBox | undefined {
    const e = this.edges.get(ip);
    return e instanceof RemoteEdge ? undefined : e;
  }

  /**
   * Override the path between two public endpoints (host or NAT public IPs), both
   * directions: replaces the core and both ends' NAT/public-host access figures. Hosts
   * behind a NAT still add their own access link. `undefined` removes the override.
   * Overrides belong to the endpoints, not the addresses: a host added later on the same
   * IP does not inherit one. At most `maxLinks` overrides exist at once.
   */
  setLink(ipA: string, ipB: string, profile: Partial<LinkProfile> | undefined): void {
    const a = this.endpoint(ipA);
    const b = this.endpoint(ipB);
    if (!a || !b) throw new Error(`setLink: ${!a ? ipA : ipB} is not a public host or NAT address of this network${this.shareCount > 1 ? ' share' : ''}`);
    const key = pairKey(a.eid, b.eid);
    if (profile === undefined) {
      this.links.delete(key);
      return;
    }
    checkLinkProfile(profile, `setLink ${ipA} ${ipB}`);
    if (this.links.size >= this.maxLinks && !this.links.has(key)) throw new Error(`setLink: too many link overrides (limit ${this.maxLinks})`);
    this.links.set(key, { latencyMs: profile.latencyMs ?? 0, jitterMs: profile.jitterMs ?? 0, loss: profile.loss ?? 0 });
  }

  /** Whole-network counters. */
  stats(): SimNetStats {
    return {
      sentPackets: this.sentPackets,
      sentBytes: this.sentBytes,
      deliveredPackets: this.deliveredPackets,
      deliveredBytes: this.deliveredBytes,
      inFlight: this.queue.size,
      hosts: this.hostCount,
      nats: this.natCount,
      drops: { ...this.drops },
      sharedOut: this.sharedOut,
      sharedIn: this.sharedIn,
    };
  }

  /** Number of datagrams in flight. */
  get inFlight(): number {
    return this.queue.size;
  }

  /** Stop: remove every host and NAT, drop datagrams in flight, cancel the clock timer. Idempotent. */
  close(): void {
    if (this.closed) return;
    for (const e of [...this.edges.values()]) {
      if (e instanceof NatBox) this.removeNat(e);
      else if (e instanceof SimHost) e.close();
    }
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.ticking = false;
    this.armedAt = Infinity;
    this.queue.clear();
  }

  /** @internal called by {@link SimHost.close}. */
  detach(host: SimHost): void {
    const nat = host.nat;
    if (nat !== undefined) {
      // Its NAT mappings simply expire; datagrams arriving on them count as `hostDown`.
      if (nat.lan.get(host.ip) === host) {
        nat.lan.delete(host.ip);
        nat.lanVersion++;
      }
    } else if (this.edges.get(host.ip) === host) {
      this.edges.delete(host.ip);
      this.announce(host.ip, host.eid, true);
    }
    this.hostCount--;
  }

  /**
   * @internal The send path of every {@link SimSocket}. With `instant`, a datagram that
   * crosses the internet (not one to the sender's own LAN or address) skips the delay: it
   * reaches the receiving host within this call, after the same route, NAT translation
   * and filtering, loss, queue accounting and counters as any other (see
   * {@link SimSocket.sendNow}). A datagram to another share is never instant.
   */
  transmit(sock: SimSocket, data: Uint8Array, to: Address, instant = false, memo?: RouteMemo): void {
    const host = sock.host;
    const size = data.byteLength;
    const port = to.port;
    const nat = host.nat;
    if (size > this.maxDatagram || !(port > 0 && port < 65536 && Number.isInteger(port))) {
      sock.sendErrors++;
      host.sendErrors++;
      return;
    }
    const lanVersion = nat === undefined ? -1 : nat.lanVersion;
    let lanPeer: SimHost | undefined;
    let edge: Edge | RemoteEdge | undefined;
    if (memo !== undefined && memo.routeTo === to && memo.routeLan === lanVersion && isLive(memo.routeEdge)) {
      // Resolved before, and nothing it depends on has changed (see RouteMemo).
      edge = memo.routeEdge;
    } else {
      // A NAT with one host behind it (a home NAT) has no other LAN peer: no table lookup.
      lanPeer = nat === undefined ? undefined : nat.lan.size === 1 ? (to.host === host.ip ? host : undefined) : nat.lan.get(to.host);
      edge = lanPeer === undefined ? this.edges.get(to.host) : undefined;
    }
    if (lanPeer === undefined && edge === undefined && (typeof to.host !== 'string' || isIP(to.host) === 0)) {
      sock.sendErrors++;
      host.sendErrors++;
      return;
    }
    sock.sentPackets++;
    sock.sentBytes += size;
    host.sentPackets++;
    host.sentBytes += size;
    this.sentPackets++;
    this.sentBytes += size;
    const now = this.clock.now();
    const random = this.random;

    if (lanPeer !== undefined) {
      // Same private network: access links only, no NAT, no ISP bandwidth.
      const keep = (1 - host.loss) * (1 - lanPeer.loss);
      if (keep < 1 && random.float() >= keep) return this.dropAt(host, 'loss');
      if (this.queue.size >= this.maxInFlight) return this.dropAt(host, 'overload');
      const delay = sampleDelay(random, host.latencyMs + lanPeer.latencyMs, host.jitterMs + lanPeer.jitterMs);
      const f = this.flight(data, sock.address, host.eid, sock.port, undefined, port);
      f.stage = 1;
      f.host = lanPeer;
      return this.schedule(f, now + delay);
    }
    if (edge === undefined) return this.dropAt(host, 'noRoute');
    if (edge === host) {
      // To itself: loopback, no link. Not zero, so an echo loop still lets time advance.
      const f = this.flight(data, sock.address, host.eid, sock.port, undefined, port);
      f.stage = 1;
      f.host = host;
      return this.schedule(f, now + LOOPBACK_MS);
    }
    if (edge === nat && !nat.hairpin) return this.dropAt(host, 'hairpin');
    if (memo !== undefined && (memo.routeTo !== to || memo.routeEdge !== edge || memo.routeLan !== lanVersion) && !(edge instanceof RemoteEdge)) {
      memo.routeTo = to;
      memo.routeEdge = edge;
      memo.routeLan = lanVersion;
    }

    let depart = now;
    const up = host.upBytesPerMs;
    if (up !== Infinity) {
      const wire = size + HEADER_BYTES;
      const start = host.upFreeAt > now ? host.upFreeAt : now;
      if ((start - now) * up + wire > host.queueBytes) return this.dropAt(host, 'uplinkQueue');
      depart = host.upFreeAt = start + wire / up;
    }

    let from: Address;
    let fromEid: number;
    let fromPort: number;
    if (nat !== undefined) {
      const m = nat.outbound(host, sock.port, edge.eid, port, now);
      if (m === undefined) return this.dropAt(host, 'natTableFull');
      from = m.address;
      fromEid = nat.eid;
      fromPort = m.publicPort;
    } else {
      from = sock.address;
      fromEid = host.eid;
      fromPort = sock.port;
    }

    const src: Edge = nat ?? host;
    if (edge instanceof RemoteEdge) return this.sendShared(host, src, data, from, fromEid, fromPort, edge, port, depart);
    // The receiving host: the public host itself, or (a routing hint) the host currently
    // mapped on the NAT port; the NAT decides for real when the datagram arrives.
    const dst = edge instanceof NatBox ? edge.hostOnPort(port) : edge;
    const link = this.links.size > 0 ? this.links.get(pairKey(src.eid, edge.eid)) : undefined;
    let latency: number;
    let jitter: number;
    let keep: number;
    if (link !== undefined) {
      latency = link.latencyMs;
      jitter = link.jitterMs;
      keep = 1 - link.loss;
    } else {
      const core = this.core;
      latency = src.latencyMs + core.latencyMs + edge.latencyMs;
      jitter = src.jitterMs + core.jitterMs + edge.jitterMs;
      keep = (1 - src.loss) * (1 - core.loss) * (1 - edge.loss);
    }
    if (nat !== undefined) {
      latency += host.latencyMs;
      jitter += host.jitterMs;
      keep *= 1 - host.loss;
    }
    let serialization = 0;
    if (dst !== undefined) {
      if (dst.nat !== undefined) {
        latency += dst.latencyMs;
        jitter += dst.jitterMs;
        keep *= 1 - dst.loss;
      }
      // Include the last hop's serialization: when its queue is idle (the common case) the
      // datagram is delivered by this one event, with no second stage.
      if (dst.downBytesPerMs !== Infinity) serialization = (size + HEADER_BYTES) / dst.downBytesPerMs;
    }
    if (keep < 1 && random.float() >= keep) return this.dropAt(host, 'loss');
    if (this.queue.size >= this.maxInFlight) return this.dropAt(host, 'overload');
    const f = this.flight(data, from, fromEid, fromPort, edge, port, instant);
    if (instant) return this.arrive(f, now, true);
    f.host = dst;
    f.serialization = serialization;
    this.schedule(f, depart + sampleDelay(random, latency, jitter) + serialization);
  }

  /**
   * @internal {@link transmit} with `instant`, except that the datagram stops at the
   * receiving socket: it is counted as delivered (to the host and network; the caller
   * then either hands it to `SimSocket.deliver` or counts it with `countCarried`), the
   * socket's handlers do not run, and the payload is not copied. Returns that socket, with the source address its
   * handlers would have been given in {@link carriedFrom}; undefined when the datagram was
   * dropped, or is not instant (to the sender's own LAN or address, or to another share)
   * and was sent as usual.
   * For a sender that knows the receiver's handler and calls it itself (sim-links.ts).
   */
  carry(sock: SimSocket, data: Uint8Array, to: Address, memo?: RouteMemo): SimSocket | undefined {
    this.carriedTo = undefined;
    this.carriedFrom = undefined;
    this.carrying = true;
    try {
      this.transmit(sock, data, to, true, memo);
    } finally {
      this.carrying = false;
    }
    return this.carriedTo;
  }

  /**
   * The sending half of a datagram to another share: the sender's side of the path and the
   * core (delay, loss), then into the batch for that share (see sim-share.ts).
   */
  private sendShared(host: SimHost, src: Edge, data: Uint8Array, from: Address, fromEid: number, fromPort: number, edge: RemoteEdge, port: number, depart: number): void {
    const core = this.core;
    let latency = src.latencyMs + this.shareLatencyMs;
    let jitter = src.jitterMs + core.jitterMs;
    let keep = (1 - src.loss) * (1 - core.loss);
    if (src !== host) {
      latency += host.latencyMs;
      jitter += host.jitterMs;
      keep *= 1 - host.loss;
    }
    const random = this.random;
    if (keep < 1 && random.float() >= keep) return this.dropAt(host, 'loss');
    this.sharedOut++;
    this.outgoing[edge.share]!.datagram(depart + sampleDelay(random, latency, jitter), from.host, fromPort, fromEid, edge.ip, port, data);
  }

  private flight(data: Uint8Array, from: Address, fromEid: number, fromPort: number, edge: Edge | undefined, port: number, instant = false): Flight {
    const f = this.pool.pop() ?? { at: 0, seq: 0, stage: 0, data: undefined, from: undefined, fromEid: 0, fromPort: 0, edge: undefined, host: undefined, port: 0, serialization: 0 };
    f.stage = 0;
    f.data = instant && this.carrying ? data : this.copy(data);
    f.from = from;
    f.fromEid = fromEid;
    f.fromPort = fromPort;
    f.edge = edge;
    f.host = undefined;
    f.port = port;
    f.serialization = 0;
    return f;
  }

  /**
   * Copy a payload so receivers never see later sender writes. Small payloads are carved
   * from shared slabs, as Node's Buffer pool does: allocating a fresh ArrayBuffer per
   * datagram costs several times more than the rest of the delivery.
   */
  private copy(data: Uint8Array): Uint8Array {
    const n = data.byteLength;
    if (n > SLAB_MAX_COPY) return new Uint8Array(data); // copies (unlike Buffer#slice)
    if (this.slabUsed + n > SLAB_BYTES) {
      this.slab = new ArrayBuffer(SLAB_BYTES);
      this.slabUsed = 0;
    }
    const c = new Uint8Array(this.slab, this.slabUsed, n);
    c.set(data);
    this.slabUsed += (n + 7) & ~7;
    return c;
  }

  private recycle(f: Flight): void {
    f.data = undefined;
    f.from = undefined;
    f.edge = undefined;
    f.host = undefined;
    if (this.pool.length < POOL_MAX) this.pool.push(f);
  }

  private schedule(f: Flight, at: number): void {
    const r = this.resolution;
    if (r > 0) at = Math.ceil(at / r) * r;
    f.at = at;
    f.seq = this.seq++;
    this.queue.push(f);
    if (at < this.armedAt) this.arm(at);
  }

  /** Arm a one-shot clock timer for `at` (replacing any timer). */
  private arm(at: number): void {
    this.timer?.cancel();
    this.ticking = false;
    this.armedAt = at;
    this.timer = this.clock.setTimeout(this.onTimer, at - this.clock.now());
  }

  /**
   * Deliver every datagram that is due: the simulator's single clock callback, fired
   * either once (a one-shot timer at the earliest datagram) or every `timeResolutionMs`
   * while traffic is dense (an interval timer: the clock reuses it, so a busy simulation
   * does not create a timer per delivery time).
   */
  private readonly onTimer = (): void => {
    const now = this.clock.now();
    if (this.ticking) {
      this.armedAt = now + this.resolution;
    } else {
      this.timer = undefined;
      this.armedAt = Infinity;
    }
    // Interval ticks may drift from the grid by float rounding when the resolution is not a binary fraction.
    const due = this.ticking ? now + this.resolution * 1e-3 : now;
    const q = this.queue;
    try {
      for (;;) {
        const f = q.peek();
        if (f === undefined || f.at > due) break;
        q.pop();
        if (f.stage === 0) this.arrive(f, now);
        else this.deliver(f, f.host!, f.port);
      }
    } finally {
      if (!this.closed) this.rearm(now);
    }
  };

  /** After a delivery round: keep ticking, switch to a one-shot timer, or stop. */
  private rearm(now: number): void {
    const next = this.queue.peek();
    const r = this.resolution;
    if (next !== undefined && r > 0 && next.at - now <= DENSE_TICKS * r) {
      if (!this.ticking) {
        this.timer?.cancel();
        this.ticking = true;
        this.armedAt = now + r;
        this.timer = this.clock.setInterval(this.onTimer, r);
      }
      return;
    }
    if (this.ticking) {
      this.timer?.cancel();
      this.timer = undefined;
      this.ticking = false;
      this.armedAt = Infinity;
    }
    if (next !== undefined && next.at < this.armedAt) this.arm(next.at);
  }

  /**
   * Stage 0 done: the datagram reached the receiving host, unless the downlink queue was
   * busy. NAT filtering is decided here, at arrival. An `instant` datagram takes its place
   * in the downlink queue (it may overflow it, and it delays what follows) but is
   * delivered without waiting for its turn.
   */
  private arrive(f: Flight, now: number, instant = false): void {
    const edge = f.edge!;
    let host: SimHost;
    let port = f.port;
    if (edge instanceof NatBox) {
      if (edge.removed) return this.dropFlight(f, undefined, 'noRoute');
      const m = edge.inbound(port, f.fromEid, f.fromPort, now);
      if (typeof m === 'string') return this.dropFlight(f, undefined, m);
      host = m.host;
      port = m.privatePort;
    } else {
      host = edge;
    }
    if (host.closed) return this.dropFlight(f, host, 'hostDown');
    const down = host.downBytesPerMs;
    if (down !== Infinity) {
      const wire = f.data!.byteLength + HEADER_BYTES;
      const serialization = wire / down;
      // When the datagram reached the bottleneck (its serialization is already in `at`
      // if the routing hint was right).
      const reached = f.host === host ? now - f.serialization : now;
      const start = host.downFreeAt > reached ? host.downFreeAt : reached;
      if ((start - reached) * down + wire > host.queueBytes) return this.dropFlight(f, host, 'downlinkQueue');
      const done = (host.downFreeAt = start + serialization);
      if (!instant && done > now + EPSILON_MS) {
        f.stage = 1;
        f.host = host;
        f.port = port;
        return this.schedule(f, done);
      }
    }
    this.deliver(f, host, port);
  }

  private deliver(f: Flight, host: SimHost, port: number): void {
    if (host.closed) return this.dropFlight(f, host, 'hostDown');
    const first = host.firstSocket;
    const sock = first !== undefined && first.port === port ? first : host.sockets.get(port);
    if (sock === undefined) return this.dropFlight(f, host, 'portUnreachable');
    const data = f.data!;
    const from = f.from!;
    this.recycle(f);
    const n = data.byteLength;
    host.receivedPackets++;
    host.receivedBytes += n;
    this.deliveredPackets++;
    this.deliveredBytes += n;
    if (this.carrying) {
      // The socket's own counters are the carrier's to update (SimSocket.deliver or countCarried).
      this.carriedTo = sock;
      this.carriedFrom = from;
      return;
    }
    sock.deliver(data, from);
  }

  private dropAt(host: SimHost, reason: DropReason): void {
    host.drops[reason]++;
    this.drops[reason]++;
  }

  private dropFlight(f: Flight, host: SimHost | undefined, reason: DropReason): void {
    if (host !== undefined) host.drops[reason]++;
    this.drops[reason]++;
    this.recycle(f);
  }

  /** A new endpoint id, striped by share so that ids are the same in every share. */
  private newId(): number {
    const id = this.nextId * this.shareCount + this.shareIndex;
    if (this.hostCount + this.natCount >= this.maxEndpoints || id >= PAIR) {
      throw new Error(`SimNet: too many hosts and NATs (limit ${this.maxEndpoints})`);
    }
    this.nextId++;
    return id;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('SimNet is closed');
  }
}

/**
 * A sender's memo of where an address led ({@link SimNet.carry}): the host or NAT that
 * owned `routeTo`'s IP when it was last resolved. A live host or NAT keeps its IP in the
 * address table (an IP is given to a new owner only once the old one is gone), so while
 * `routeEdge` is live, `routeTo` is the same address object and no host has joined or
 * left the sender's LAN, the tables need not be asked again (at 10,000 nodes each lookup
 * is a few cache misses). Address objects are never changed in place.
 */
export interface RouteMemo {
  routeTo: Address | undefined;
  routeEdge: SimHost | NatBox | undefined;
  /** The sender's NAT's {@link NatBox.lanVersion} then (-1: no NAT): a host joining its LAN may be the destination. */
  routeLan: number;
}

function isLive(edge: SimHost | NatBox | undefined): edge is SimHost | NatBox {
  return edge !== undefined && (edge instanceof NatBox ? !edge.removed : !edge.closed);
}

function pairKey(a: number, b: number): number {
  return a < b ? a * PAIR + b : b * PAIR + a;
}
