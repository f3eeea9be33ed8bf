/**
 * Cheap per-peer links for the simulator: a stand-in for Noise sessions that costs no
 * cryptography but puts the same bytes on the simulated wire, so traffic figures stay
 * honest while 10,000 nodes fit in a few minutes of CPU.
 *
 * Each node has one UDP socket on its SimNet host. A link to a peer is opened with a
 * three-packet handshake of exactly the sizes of the session layer's Noise XX packets
 * (INIT {@link INIT_LEN}, RESP {@link RESP_LEN}, FINISH {@link FINISH_LEN}), then carries
 * payloads in DATA packets with the session's 13-byte header and a 16-byte (zero) tag.
 * An empty DATA packet is a keepalive, as in the session layer.
 *
 * Authentication is by simulated addressing instead of keys: INIT and RESP name the
 * sender's node index, and the receiver accepts the claim only if that node's current
 * public address (its own, or its NAT's) is where the packet came from (SimNet cannot be
 * spoofed). The initiator also checks that the responder is the node it meant to reach
 * (the key it expected, as a Noise initiator would after XX's second message). Not
 * modelled: rekeys (a 2-minute handshake per busy session), cookies, replay windows.
 *
 * Links close after `idleTimeoutMs` without any received packet (sweep from the owner's
 * timer; this module creates a timer only while a handshake is pending).
 *
 * ```
 * INIT    E0 | sender-link u32 | node u32 | zero padding           (INIT_LEN bytes)
 * RESP    E1 | sender-link u32 | receiver-link u32 | node u32 | pad  (RESP_LEN bytes)
 * FINISH  E2 | receiver-link u32 | pad                             (FINISH_LEN bytes)
 * DATA    E3 | receiver-link u32 | counter u64 | payload | tag[16]
 * ```
 *
 * Besides byte payloads, a link carries *parcels*: messages handed across as objects
 * (sim-endpoint.ts). A parcel of `length` bytes goes out as the DATA packets its fragments
 * would fill (fragment.ts: 9-byte header, at most `maxFragmentBytes` each), whose payload
 * is a fragment header with version {@link PARCEL_VERSION} and the parcel's id in a
 * {@link SimPostOffice}, padded with zeros; the receiver takes the object from the post
 * office once every fragment has arrived (at most `maxPartialParcels` incomplete at once,
 * the oldest given up first, as the reassembler does).
 * @module
 */
import type { LivenessProbe } from '../liveness.ts';
import type { Clock, Timer } from '../../clock.ts';
import type { Address, DatagramSocket } from '../../net/net.ts';
import { SimSocket } from '../../net/sim-socket.ts';
import type { RouteMemo } from '../../net/sim.ts';
import { HandlerSet, type MessageChannel, type PayloadHandler } from '../../wire/channel.ts';
import { DATA_HEADER_LEN, FINISH_LEN, INIT_LEN, RESP_LEN } from '../../wire/session/packets.ts';
import { TAGLEN } from '../../wire/noise/crypto.ts';
import { DEFAULT_MAX_FRAGMENT_BYTES, FRAGMENT_HEADER_BYTES } from '../../wire/fragment.ts';

/**
 * Payloads this small are liveness probes and echoes (liveness.ts: 1 and 3 bytes); every
 * other payload is a fragment, with a 9-byte header. With `instantKeepalives` they go the
 * instant way.
 */
export const INSTANT_MAX_BYTES = 3;

/** First payload byte of a parcel fragment (real fragments use 0x01). */
export const PARCEL_VERSION = 0x5e;

/** A message handed across a link as an object, with its encoded size (see sim-endpoint.ts). */
export interface SimParcel {
  readonly message: object;
  /** Bytes of the message as `MessageRegistry.encode` produces it. */
  readonly length: number;
  /** The real encoding, when checking (sim-endpoint.ts). */
  readonly bytes: Uint8Array | undefined;
}

/** First byte of a post office's note to another share (see {@link SimPostOffice.acceptNote}). */
export const POST_NOTE = 0x50;

/** How a post office hands parcels to the other shares of a split simulation (sim-share.ts). */
export interface PostShares {
  /** This share's number, and the number of shares. */
  index: number;
  count: number;
  /** The share a node is simulated on. */
  shareOf(node: number): number;
  /** A message's real encoding (MessageRegistry.encode). */
  encode(message: object): Uint8Array;
  /** A message decoded from its encoding; undefined if it does not decode. */
  decode(bytes: Uint8Array): object | undefined;
  /** Send a note to share `to` (SimNet.note). */
  note(bytes: Uint8Array, to: number): void;
}

/**
 * Where parcels wait while their fragments cross the simulated network (one per
 * simulation, or per share). In a split simulation a parcel for a node of another share
 * crosses as its real encoding in a note ahead of its fragments, and waits in that
 * share's office under the same id (ids are striped by share).
 */
export class SimPostOffice {
  private next = 1;
  private readonly held = new Map<number, SimParcel>();
  /** Ids and times of puts, oldest first (from `head`), for expiry without an object per parcel. */
  private ids: number[] = [];
  private times: number[] = [];
  private head = 0;
  private readonly stripe: number;
  private readonly offset: number;
  /** Parcels sent to other shares, and received from them (dropped: did not decode). */
  readonly shared = { sent: 0, received: 0, dropped: 0 };

  /**
   * @param holdMs parcels not yet taken are dropped this long after sending (their fragments were lost)
   * @param shares set in a split simulation
   */
  constructor(private readonly holdMs = 30_000, private readonly shares?: PostShares) {
    this.stripe = shares?.count ?? 1;
    this.offset = shares?.index ?? 0;
  }

  /** Hold `parcel` for node `to` (a node of another share gets it through a note); returns its id (u32). */
  put(parcel: SimParcel, now: number, to?: number): number {
    this.expire(now);
    const { stripe, offset } = this;
    const span = Math.floor(0x1_0000_0000 / stripe);
    let n = this.next;
    let id = (n * stripe + offset) >>> 0;
    while (this.held.has(id)) {
      n = (n + 1) % span;
      id = (n * stripe + offset) >>> 0;
    }
    this.next = (n + 1) % span;
    this.keep(id, parcel, now);
    const shares = this.shares;
    if (shares !== undefined && to !== undefined) {
      const share = shares.shareOf(to);
      if (share !== shares.index) this.export(shares, share, id, parcel);
    }
    return id;
  }

  /** A note from another share's office (its first byte is {@link POST_NOTE}): hold the parcel it carries. */
  acceptNote(bytes: Uint8Array, now: number): void {
    const shares = this.shares;
    if (shares === undefined || bytes.byteLength < 5 || bytes[0] !== POST_NOTE) return void this.shared.dropped++;
    const id = ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0;
    const encoded = bytes.subarray(5);
    const message = shares.decode(encoded);
    if (message === undefined) return void this.shared.dropped++;
    this.shared.received++;
    this.expire(now);
    this.keep(id, { message, length: encoded.byteLength, bytes: undefined }, now);
  }

  private export(shares: PostShares, share: number, id: number, parcel: SimParcel): void {
    const encoded = parcel.bytes ?? shares.encode(parcel.message);
    const note = new Uint8Array(5 + encoded.byteLength);
    note[0] = POST_NOTE;
    note[1] = id >>> 24;
    note[2] = (id >>> 16) & 0xff;
    note[3] = (id >>> 8) & 0xff;
    note[4] = id & 0xff;
    note.set(encoded, 5);
    this.shared.sent++;
    shares.note(note, share);
  }

  private keep(id: number, parcel: SimParcel, now: number): void {
    this.held.set(id, parcel);
    this.ids.push(id);
    this.times.push(now);
  }

  private expire(now: number): void {
    const cutoff = now - this.holdMs;
    const { ids, times } = this;
    while (this.head < ids.length && times[this.head]! <= cutoff) this.held.delete(ids[this.head++]!);
    if (this.head > 4096 && this.head * 2 > ids.length) {
      this.ids = ids.slice(this.head);
      this.times = times.slice(this.head);
      this.head = 0;
    }
  }

  /** Take the parcel with `id` (once). */
  take(id: number): SimParcel | undefined {
    const p = this.held.get(id);
    if (p !== undefined) this.held.delete(id);
    return p;
  }

  /** Parcels held now. */
  get size(): number {
    return this.held.size;
  }
}

const INIT = 0xe0;
const RESP = 0xe1;
const FINISH = 0xe2;
const DATA = 0xe3;

/** Who is who in the simulation: the authentication oracle the links consult. */
export interface LinkDirectory {
  /** Public IP the node with this index currently sends from, or undefined if it is gone. */
  publicIpOf(node: number): string | undefined;
}

/** Options for {@link SimLinks}. */
export interface SimLinksOptions {
  /** This node's index in the directory. */
  self: number;
  socket: DatagramSocket;
  clock: Clock;
  directory: LinkDirectory;
  /** Close a link after this long without receiving (default 180 s, the session default). */
  idleTimeoutMs?: number;
  /** First handshake retransmission (default 250 ms; doubles up to 2 s). */
  handshakeRetryMs?: number;
  /** Give up a handshake after this long (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Most links at once (default 4096); beyond it new inbound handshakes are ignored. */
  maxLinks?: number;
  /** Payloads queued per link while its handshake runs (default 64). */
  maxQueued?: number;
  /**
   * Send liveness probes and echoes (payloads of at most {@link INSTANT_MAX_BYTES}, or any
   * payload given to {@link SimLink.sendInstant}) with the socket's `sendNow` when it has one (SimNet): they arrive at once instead of after the
   * path's delay, with the same effects on NATs, loss and counters, and cost no clock event
   * (default false). What differs is only when `lastReceived` moves and the RTT a probe
   * measures: a round trip (~50 ms) earlier than with delay, against a probe period of
   * 2.5 s and answer timeouts of at least 350 ms (liveness.ts).
   */
  instantKeepalives?: boolean;
  /** Where parcels wait in flight; needed to send or receive parcels. */
  post?: SimPostOffice;
  /** Fragment size of parcels, header included (default 1100, as FragmentedChannel). */
  maxFragmentBytes?: number;
  /** Incomplete parcels kept per link (default 8). */
  maxPartialParcels?: number;
}

/** Receives the payloads of all of a node's links (see {@link SimLinks.onPayload}). */
export interface PayloadSink {
  onLinkPayload(link: SimLink, payload: Uint8Array): void;
  /** Optional: a link closed (after its {@link ParcelSink} heard it, before its `onClose` handlers). */
  onLinkClosed?(link: SimLink, reason: string): void;
}

/** Takes a link's parcels and its close (see {@link SimLink.attach}): one object per link instead of two closures. */
export interface ParcelSink {
  onParcel(parcel: SimParcel): void;
  onLinkClose(reason: string): void;
}

/** Counters of a {@link SimLinks}. */
export interface SimLinksStats {
  opened: number;
  accepted: number;
  closed: number;
  handshakeFailures: number;
  dropped: number;
}

/** One authenticated link to one peer; a {@link MessageChannel} of payloads up to ~1170 bytes. */
export class SimLink implements MessageChannel, RouteMemo {
  /** Peer's link id (its receiver field), once known. */
  remoteId = -1;
  established = false;
  closed = false;
  lastReceived: number;
  lastSent: number;
  /** Free slot for the owner (e.g. its RPC stack). */
  user: unknown;
  private counter = 0;
  /** Made at the first `onMessage` (the simulator's nodes take payloads through `onPayload`: one object fewer to fetch per packet). */
  private handlers: HandlerSet<Uint8Array> | undefined;
  /** Made at the first `onClose` (the simulator's nodes hear of closes through their sinks). */
  private closeHandlers: HandlerSet<string> | undefined;
  private parcelSink: ParcelSink | undefined;
  /** Sends waiting for the handshake (made at the first). */
  queue: (Uint8Array | SimParcel)[] | undefined;
  /** Incomplete parcels: id -> fragments received. */
  partials: Map<number, number> | undefined;
  timer: Timer | undefined;
  tries = 0;
  /** The peer's end of this link, once an instant packet reached it (see {@link SimLinks.sendInstant}). */
  peerLink: SimLink | undefined;
  /**
   * Free slots for the owner's liveness state on this link (the leaf's probe, when the
   * supernode last echoed): kept on the link itself so that a probe and its echo touch
   * the two links and little else (at 10,000 nodes each object fetched is a cache miss).
   */
  probe: LivenessProbe<SimLink> | undefined;
  /** Never: the smallest small integer, not -Infinity (a field that once held a non-integer keeps its numbers boxed). */
  lastEchoAt = -(2 ** 30);
  /** @internal SimNet's route memo for `address` (see {@link RouteMemo}). */
  routeTo: Address | undefined;
  routeEdge: RouteMemo['routeEdge'];
  routeLan = -1;

  constructor(
    /** @internal the node's links this one belongs to. */
    readonly owner: SimLinks,
    /** This side's link id. */
    readonly id: number,
    /** The peer's node index. */
    readonly peer: number,
    /** Where the peer is reached. */
    public address: Address,
    /** True on the side that started the handshake. */
    readonly initiator: boolean,
    now: number,
  ) {
    this.lastReceived = now;
    this.lastSent = now;
  }

  /**
   * Send a payload. With `instantKeepalives`, a payload of {@link INSTANT_MAX_BYTES} or
   * fewer (a liveness probe or echo: anything else is a fragment, 9 bytes of header at
   * least) goes the instant way ({@link sendInstant}); before the handshake is done it is
   * dropped, as a probe on an unusable link would be.
   */
  send(payload: Uint8Array): void {
    if (this.closed) return;
    const n = payload.byteLength;
    if (n !== 0 && n <= INSTANT_MAX_BYTES && this.owner.instant) return this.sendInstant(payload);
    if (!this.established) {
      const q = (this.queue ??= []);
      if (q.length < this.owner.maxQueued) q.push(payload);
      return;
    }
    this.owner.sendData(this, payload);
  }

  /** Closed (for {@link LivenessProbe}: a SimLink is a {@link ProbedLink}). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** When anything last arrived on this link (virtual ms). */
  lastReceivedAt(): number {
    return this.lastReceived;
  }

  /** Send a message as a parcel (see module docs). */
  sendParcel(parcel: SimParcel): void {
    if (this.closed) return;
    if (!this.established) {
      const q = (this.queue ??= []);
      if (q.length < this.owner.maxQueued) q.push(parcel);
      return;
    }
    this.owner.sendParcel(this, parcel);
  }

  /**
   * Hand this link's parcels, and its close, to `sink` (one at a time: a second replaces
   * the first; e.g. the link's message endpoint).
   */
  attach(sink: ParcelSink): void {
    this.parcelSink = sink;
  }

  /**
   * Send a small payload (a liveness probe or echo) instantly: delivered within
   * the call when the links have `instantKeepalives`. Dropped before the handshake is done.
   */
  sendInstant(payload: Uint8Array): void {
    if (this.closed || !this.established) return;
    this.owner.sendInstant(this, payload);
  }

  onMessage(handler: PayloadHandler): () => void {
    return (this.handlers ??= new HandlerSet()).add(handler);
  }

  onClose(handler: (reason: string) => void): () => void {
    return (this.closeHandlers ??= new HandlerSet()).add(handler);
  }

  close(reason = 'link closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.queue = undefined;
    this.partials = undefined;
    const sink = this.parcelSink;
    this.parcelSink = undefined;
    this.owner.forget(this);
    this.handlers = undefined;
    // As HandlerSet: a sink's error stays with it (no closures: a supernode closes hundreds of links a minute).
    try {
      sink?.onLinkClose(reason);
    } catch {
      // ignored
    }
    try {
      this.owner.payloadSink?.onLinkClosed?.(this, reason);
    } catch {
      // ignored
    }
    const handlers = this.closeHandlers;
    this.closeHandlers = undefined;
    handlers?.emit(reason);
  }

  /** @internal */
  nextCounter(): number {
    return this.counter++;
  }

  /** @internal */
  receive(payload: Uint8Array): void {
    if (payload.byteLength === 0) return;
    const sink = this.owner.payloadSink;
    if (sink !== undefined) {
      try {
        sink.onLinkPayload(this, payload);
      } catch {
        // as HandlerSet: a handler's error stays with it
      }
    }
    this.handlers?.emit(payload);
  }

  /** @internal */
  receiveParcel(parcel: SimParcel): void {
    const sink = this.parcelSink;
    if (sink) {
      try {
        sink.onParcel(parcel);
      } catch {
        // as HandlerSet: a handler's error stays with it
      }
    }
  }
}


/** The links of one node; see module docs. */
export class SimLinks {
  readonly self: number;
  readonly maxQueued: number;
  private readonly post: SimPostOffice | undefined;
  private readonly room: number;
  private readonly maxPartial: number;
  readonly stats: SimLinksStats = { opened: 0, accepted: 0, closed: 0, handshakeFailures: 0, dropped: 0 };
  /** @internal */
  readonly socket: DatagramSocket;
  private readonly clock: Clock;
  private readonly directory: LinkDirectory;
  private readonly idleTimeoutMs: number;
  private readonly retryMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly maxLinks: number;
  private readonly sendNow: ((data: Uint8Array, to: Address) => void) | undefined;
  /** @internal Small payloads go the instant way (`instantKeepalives` on a socket that can). */
  readonly instant: boolean;
  /** SimNet's carry path when the socket is a SimSocket (see {@link sendInstant}). */
  private readonly carrier: SimSocket | undefined;
  private readonly byId = new Map<number, SimLink>();
  private readonly byPeer = new Map<number, SimLink>();
  /** @internal Every link's payloads, before the link's own handlers (see {@link onPayload}). */
  payloadSink: PayloadSink | undefined;
  private readonly acceptHandlers = new HandlerSet<SimLink>();
  private readonly establishedHandlers = new HandlerSet<SimLink>();
  private nextId = 1;
  private closedAll = false;

  constructor(options: SimLinksOptions) {
    this.self = options.self;
    this.socket = options.socket;
    this.clock = options.clock;
    this.directory = options.directory;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 180_000;
    this.retryMs = options.handshakeRetryMs ?? 250;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.maxLinks = options.maxLinks ?? 4096;
    this.maxQueued = options.maxQueued ?? 64;
    const instant = (options.socket as { sendNow?: (data: Uint8Array, to: Address) => void }).sendNow;
    this.sendNow = options.instantKeepalives && instant ? instant.bind(options.socket) : undefined;
    this.instant = this.sendNow !== undefined;
    this.carrier = this.sendNow && options.socket instanceof SimSocket ? options.socket : undefined;
    if (this.carrier) LINKS_BY_SOCKET.set(this.carrier, this);
    this.post = options.post;
    this.room = (options.maxFragmentBytes ?? DEFAULT_MAX_FRAGMENT_BYTES) - FRAGMENT_HEADER_BYTES;
    this.maxPartial = options.maxPartialParcels ?? 8;
    this.socket.onMessage((data, from) => this.onPacket(data, from));
  }

  /** Number of open links. */
  get size(): number {
    return this.byId.size;
  }

  /** The open (or opening) link to node `peer`, if any. */
  get(peer: number): SimLink | undefined {
    return this.byPeer.get(peer);
  }

  /** All open links. */
  all(): IterableIterator<SimLink> {
    return this.byId.values();
  }

  /**
   * Receive the payloads of every link (those outside the parcel path: probes and echoes)
   * in one object, called before each link's own `onMessage` handlers: one per node
   * instead of a closure per link (an object rather than a function: a node itself can
   * be its sink, one object fewer to fetch per packet). One sink; returns its remover.
   */
  onPayload(sink: PayloadSink): () => void {
    this.payloadSink = sink;
    return () => {
      if (this.payloadSink === sink) this.payloadSink = undefined;
    };
  }

  /** Be told of links a peer opened to us (once established). */
  onAccept(handler: (link: SimLink) => void): () => void {
    return this.acceptHandlers.add(handler);
  }

  /** Be told when a link we opened completes its handshake. */
  onEstablished(handler: (link: SimLink) => void): () => void {
    return this.establishedHandlers.add(handler);
  }

  /**
   * The link to node `peer` at `address`, opening it if needed. Sends are queued until the
   * handshake completes; if it fails the link closes with reason `handshake failed`.
   */
  connect(peer: number, address: Address): SimLink {
    const existing = this.byPeer.get(peer);
    if (existing && !existing.closed) return existing;
    const link = this.newLink(peer, address, true);
    this.stats.opened++;
    this.sendInit(link);
    return link;
  }

  /** Close links idle longer than the idle timeout, and hand each other link to `visit`; call from a periodic timer. */
  sweep(visit?: (link: SimLink) => void): void {
    const limit = this.clock.now() - this.idleTimeoutMs;
    for (const link of [...this.byId.values()]) {
      if (link.established && link.lastReceived < limit) link.close('idle');
      else if (visit !== undefined) visit(link);
    }
  }

  /** Close every link (the node is leaving). */
  close(): void {
    if (this.closedAll) return;
    this.closedAll = true;
    for (const link of [...this.byId.values()]) link.close('node closed');
  }

  /** @internal */
  forget(link: SimLink): void {
    if (this.byId.get(link.id) === link) this.byId.delete(link.id);
    if (this.byPeer.get(link.peer) === link) this.byPeer.delete(link.peer);
    this.stats.closed++;
  }

  /** @internal */
  sendData(link: SimLink, payload: Uint8Array): void {
    this.socket.send(this.dataPacket(link, payload), link.address);
  }

  /**
   * @internal A probe- or echo-sized DATA packet: instantly if configured, unless this is
   * already the answer to an instant one (two echoing sides would otherwise bounce it
   * forever within one call).
   */
  sendInstant(link: SimLink, payload: Uint8Array): void {
    const now = this.sendNow;
    if (now === undefined || instantDepth > 1) return this.sendData(link, payload);
    const out = this.dataPacket(link, payload);
    instantDepth++;
    try {
      if (this.carrier !== undefined) this.carryInstant(this.carrier, link, out, payload);
      else now(out, link.address);
    } finally {
      instantDepth--;
    }
  }

  /**
   * The instant path without the socket layer: SimNet takes the DATA packet to the peer's
   * socket (same route, NAT, loss, queues and counters), and if that socket is a node's
   * links, the payload goes straight to the receiving link, with the checks `onPacket`
   * makes of a DATA packet but no parsing, lookup or copy: the peer's link is remembered
   * on ours while it stays open. Anything else takes the socket's usual delivery.
   */
  private carryInstant(socket: SimSocket, link: SimLink, out: Uint8Array, payload: Uint8Array): void {
    const dst = socket.carryNow(out, link.address, link);
    if (dst === undefined) return;
    const from = socket.host.sim.carriedFrom!;
    let peer = link.peerLink;
    // An open link with that id is the one its owner's byId holds (a closed one leaves byId at once).
    const known = peer !== undefined && !peer.closed && peer.id === link.remoteId && peer.owner.socket === dst;
    const owner = known ? peer!.owner : LINKS_BY_SOCKET.get(dst);
    if (owner === undefined || owner.closedAll || payload.byteLength === 0 || payload[0] === PARCEL_VERSION) return dst.deliver(out.slice(), from);
    dst.countCarried(out.byteLength);
    if (!known) {
      peer = owner.byId.get(link.remoteId);
      link.peerLink = peer;
    }
    if (owner.acceptData(peer, from)) peer.receive(payload);
  }

  /**
   * A DATA packet for `link` (undefined: no link has its id) arrived from `from`: checks
   * and bookkeeping of every arrival, by the socket or the carry path. False when dropped
   * (counted).
   */
  private acceptData(link: SimLink | undefined, from: Address): link is SimLink {
    if (!link || link.closed) {
      this.stats.dropped++;
      return false;
    }
    const a = link.address;
    if (a !== from) {
      if (a.host !== from.host || a.port !== from.port) {
        this.stats.dropped++;
        return false;
      }
      // The same address: keep the sender's own object, so that the next packets compare by identity (SimNet's source addresses are long-lived and never changed).
      link.address = from;
    }
    link.lastReceived = this.clock.now();
    if (!link.established) {
      if (link.initiator) {
        this.stats.dropped++;
        return false;
      }
      // DATA overtook FINISH: it proves the initiator completed the handshake.
      this.establish(link);
      this.acceptHandlers.emit(link);
    }
    return true;
  }

  /** A DATA packet of `payload` on `link` in a scratch buffer (counter taken, `lastSent` set). */
  private dataPacket(link: SimLink, payload: Uint8Array): Uint8Array {
    const out = scratch(DATA_HEADER_LEN + payload.byteLength + TAGLEN);
    out[0] = DATA;
    writeU32(out, 1, link.remoteId);
    writeU32(out, 5, link.nextCounter());
    const n = payload.byteLength;
    // A probe or echo is 1-3 bytes: a loop costs less than the call to `set`.
    if (n <= 8) for (let i = 0; i < n; i++) out[DATA_HEADER_LEN + i] = payload[i]!;
    else out.set(payload, DATA_HEADER_LEN);
    link.lastSent = this.clock.now();
    return out;
  }

  /** @internal Send `parcel` as the DATA packets of its fragments. */
  sendParcel(link: SimLink, parcel: SimParcel): void {
    const post = this.post;
    if (!post) throw new Error('SimLinks: parcels need a post office');
    const size = parcel.length;
    const room = this.room;
    const count = Math.max(1, Math.ceil(size / room));
    const id = post.put(parcel, this.clock.now(), link.peer);
    for (let i = 0; i < count; i++) {
      const data = Math.min(room, size - i * room);
      const out = scratch(DATA_HEADER_LEN + FRAGMENT_HEADER_BYTES + data + TAGLEN);
      out[0] = DATA;
      writeU32(out, 1, link.remoteId);
      writeU32(out, 5, link.nextCounter());
      const f = DATA_HEADER_LEN;
      out[f] = PARCEL_VERSION;
      writeU32(out, f + 1, id);
      out[f + 5] = i >> 8;
      out[f + 6] = i & 0xff;
      out[f + 7] = count >> 8;
      out[f + 8] = count & 0xff;
      link.lastSent = this.clock.now();
      this.socket.send(out, link.address);
    }
  }

  /** A parcel fragment arrived on `link` (payload starts with {@link PARCEL_VERSION}). */
  private onParcelFragment(link: SimLink, data: Uint8Array): void {
    const f = DATA_HEADER_LEN;
    if (data.byteLength < f + FRAGMENT_HEADER_BYTES + TAGLEN) return void this.stats.dropped++;
    const id = readU32(data, f + 1);
    const count = (data[f + 7]! << 8) | data[f + 8]!;
    if (count > 1) {
      const partials = (link.partials ??= new Map());
      const got = (partials.get(id) ?? 0) + 1;
      if (got < count) {
        partials.set(id, got);
        if (partials.size > this.maxPartial) {
          const oldest = partials.keys().next().value!;
          partials.delete(oldest);
          this.post?.take(oldest);
        }
        return;
      }
      partials.delete(id);
      // Most links see a fragmented message now and then: no table kept between them.
      if (partials.size === 0) link.partials = undefined;
    }
    const parcel = this.post?.take(id);
    if (parcel) link.receiveParcel(parcel);
  }

  private newLink(peer: number, address: Address, initiator: boolean): SimLink {
    let id = this.nextId;
    while (this.byId.has(id) || id === 0) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    const link = new SimLink(this, id, peer, address, initiator, this.clock.now());
    this.byId.set(id, link);
    const old = this.byPeer.get(peer);
    if (old && old !== link) old.close('replaced');
    this.byPeer.set(peer, link);
    return link;
  }

  private sendInit(link: SimLink): void {
    const p = new Uint8Array(INIT_LEN);
    p[0] = INIT;
    writeU32(p, 1, link.id);
    writeU32(p, 5, this.self);
    this.socket.send(p, link.address);
    const wait = Math.min(2000, this.retryMs * 2 ** link.tries);
    link.tries++;
    link.timer = this.clock.setTimeout(() => {
      link.timer = undefined;
      if (link.closed || link.established) return;
      if (this.clock.now() - link.lastReceived >= this.handshakeTimeoutMs) {
        this.stats.handshakeFailures++;
        link.close('handshake failed');
        return;
      }
      this.sendInit(link);
    }, wait);
  }

  private establish(link: SimLink): void {
    link.established = true;
    link.timer?.cancel();
    link.timer = undefined;
    const q = link.queue;
    link.queue = undefined;
    if (q) for (const item of q) {
      if (item instanceof Uint8Array) this.sendData(link, item);
      else this.sendParcel(link, item);
    }
  }

  private onPacket(data: Uint8Array, from: Address): void {
    if (this.closedAll || data.byteLength < 5) return;
    const type = data[0];
    const now = this.clock.now();
    if (type === DATA) {
      if (data.byteLength < DATA_HEADER_LEN + TAGLEN) return void this.stats.dropped++;
      const link = this.byId.get(readU32(data, 1));
      if (!this.acceptData(link, from)) return;
      if (data.byteLength === DATA_HEADER_LEN + TAGLEN) return; // a keepalive
      if (data[DATA_HEADER_LEN] === PARCEL_VERSION && this.post) return this.onParcelFragment(link, data);
      link.receive(data.subarray(DATA_HEADER_LEN, data.byteLength - TAGLEN));
      return;
    }
    if (type === INIT) {
      if (data.byteLength !== INIT_LEN) return void this.stats.dropped++;
      const remoteId = readU32(data, 1);
      const peer = readU32(data, 5);
      if (this.directory.publicIpOf(peer) !== from.host || peer === this.self) return void this.stats.dropped++;
      let link = this.byPeer.get(peer);
      if (link && !link.initiator && link.remoteId === remoteId && link.address.host === from.host && link.address.port === from.port) {
        // A retransmitted INIT: answer again.
      } else {
        if (link && link.initiator && !link.established && this.self < peer) {
          // Both sides opened at once: the lower index keeps its own attempt.
          return;
        }
        if (this.byId.size >= this.maxLinks) return void this.stats.dropped++;
        link = this.newLink(peer, { host: from.host, port: from.port }, false);
        link.remoteId = remoteId;
        this.stats.accepted++;
      }
      link.lastReceived = now;
      const p = new Uint8Array(RESP_LEN);
      p[0] = RESP;
      writeU32(p, 1, link.id);
      writeU32(p, 5, remoteId);
      writeU32(p, 9, this.self);
      link.lastSent = now;
      this.socket.send(p, from);
      return;
    }
    if (type === RESP) {
      if (data.byteLength !== RESP_LEN) return void this.stats.dropped++;
      const link = this.byId.get(readU32(data, 5));
      const peer = readU32(data, 9);
      if (!link || link.closed || !link.initiator || link.address.host !== from.host || link.address.port !== from.port) return void this.stats.dropped++;
      if (peer !== link.peer || this.directory.publicIpOf(peer) !== from.host) {
        // Someone else answers at that address: not the key we expected.
        this.stats.handshakeFailures++;
        link.close('wrong peer');
        return;
      }
      link.lastReceived = now;
      link.remoteId = readU32(data, 1);
      const p = new Uint8Array(FINISH_LEN);
      p[0] = FINISH;
      writeU32(p, 1, link.remoteId);
      link.lastSent = now;
      this.socket.send(p, from);
      if (!link.established) {
        this.establish(link);
        this.establishedHandlers.emit(link);
      }
      return;
    }
    if (type === FINISH) {
      if (data.byteLength !== FINISH_LEN) return void this.stats.dropped++;
      const link = this.byId.get(readU32(data, 1));
      if (!link || link.closed || link.initiator || link.address.host !== from.host || link.address.port !== from.port) return void this.stats.dropped++;
      link.lastReceived = now;
      if (!link.established) {
        this.establish(link);
        this.acceptHandlers.emit(link);
      }
      return;
    }
    this.stats.dropped++;
  }
}

/** The links that own each SimNet socket (for {@link SimLinks.sendInstant}'s carry path). */
const LINKS_BY_SOCKET = new WeakMap<SimSocket, SimLinks>();

/** Instant sends on the stack (see {@link SimLinks.sendInstant}). */
let instantDepth = 0;

const SCRATCH: Uint8Array[] = [];
const SCRATCH_MAX = 2048;

/**
 * A reused buffer of `length` bytes for an outgoing packet: sockets copy what they send
 * (SimNet does, as UDP), so one buffer per length serves every node. Bytes past the
 * headers written are whatever was there (padding; the tag is not checked).
 */
function scratch(length: number): Uint8Array {
  if (length > SCRATCH_MAX) return new Uint8Array(length);
  return (SCRATCH[length] ??= new Uint8Array(length));
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
