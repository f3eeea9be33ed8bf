/**
 * The session layer: Noise XX handshakes bound to Ed25519 node identities, and
 * ChaCha20-Poly1305 transport over an unreliable datagram path, in the style of
 * WireGuard (session indices, explicit counters, replay window, key rotation, roaming).
 *
 * The manager does not own a socket: the overlay gives it a `send` function and feeds it
 * received datagrams with {@link SessionManager.receive} (a demux routes first bytes
 * 0xE0-0xEF here). Time and randomness come from the injected Clock and Random, so the
 * same code runs on real UDP and in the simulator.
 *
 * @example
 * ```ts
 * const manager = new SessionManager({ identity, clock, random, send: (d, to) => socket.send(d, to) });
 * socket.onMessage((data, from) => manager.receive(data, from));
 * manager.onMessage((payload, session) => console.log(session.nodeId, payload));
 * const session = await manager.connect(peerAddress, peerNodeId, AbortSignal.timeout(15_000));
 * session.send(new TextEncoder().encode('hello'));
 * ```
 * @module
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { equalBytes } from '@noble/ciphers/utils.js';
import type { Clock, Timer } from '../clock.ts';
import type { Logger } from '../log.ts';
import { type Address, MAX_DATAGRAM, formatAddress } from '../net/net.ts';
import type { Random } from '../random.ts';
import { type DhKeyPair, dhKeyPairFromSecret } from './noise/crypto.ts';
import { HandshakeState } from './noise/handshake-state.ts';
import { XX } from './noise/patterns.ts';
import { Session, type SessionHost } from './session.ts';
import { HandshakeRefusedError, HandshakeTimeoutError, IdentityMismatchError } from './session/errors.ts';
import {
  type SessionIdentity,
  type VerifiedIdentity,
  makeIdentityProof,
  matchesNodeId,
  nodeIdOf,
  parseNodeId,
  verifyIdentityProof,
} from './session/identity-binding.ts';
import { Keypair } from './session/keypair.ts';
import {
  INIT_PADDING,
  PACKET_COOKIE,
  PACKET_DATA,
  PACKET_FINISH,
  PACKET_INIT,
  PACKET_RESP,
  encodeCookie,
  encodeFinish,
  encodeInit,
  encodeResp,
  isSessionPacket,
  parseCookie,
  parseData,
  parseFinish,
  parseInit,
  parseResp,
  setInitCookie,
} from './session/packets.ts';
import { CookieJar } from './session/cookie-jar.ts';
import type { IndexEntry, Incoming, Outgoing } from './session/pending.ts';
import { DEFAULT_SESSION_OPTIONS, type SessionOptions } from './session/options.ts';
import { RateLimiter } from './session/rate-limiter.ts';
import { type SessionManagerStats, emptyStats } from './session/stats.ts';

/** Noise prologue: binds the handshake to this protocol and version. */
export const SESSION_PROLOGUE = new TextEncoder().encode('tincan-session/1');

const EMPTY = new Uint8Array(0);

/** What a {@link SessionManager} is built from. */
export interface SessionManagerConfig {
  /** This node's Ed25519 identity. */
  identity: SessionIdentity;
  clock: Clock;
  random: Random;
  /** Send one datagram (the overlay's socket). */
  send: (data: Uint8Array, to: Address) => void;
  log?: Logger;
  options?: Partial<SessionOptions>;
  /** Accept or refuse an inbound peer after it proved its identity (default: accept). */
  authorize?: (peer: VerifiedIdentity, from: Address) => boolean;
}

/** Handler of decrypted payloads. */
export type SessionMessageHandler = (payload: Uint8Array, session: Session) => void;

/** Handshakes, sessions and the datagram path between them. */
export class SessionManager {
  /** This node's ID. */
  readonly nodeId: string;
  private readonly options: SessionOptions;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly sendFn: (data: Uint8Array, to: Address) => void;
  private readonly log: Logger | undefined;
  private readonly authorize: ((peer: VerifiedIdentity, from: Address) => boolean) | undefined;
  private readonly staticKey: DhKeyPair;
  private readonly proof: Uint8Array;
  private readonly byIndex = new Map<number, IndexEntry>();
  private readonly byNode = new Map<string, Session>();
  private readonly connecting = new Map<string, Outgoing>();
  private readonly incomingByInit = new Map<string, Incoming>();
  private readonly outgoing = new Set<Outgoing>();
  private readonly limiter: RateLimiter;
  private readonly cookies: CookieJar;
  private readonly counters: SessionManagerStats = emptyStats();
  private messageHandlers: SessionMessageHandler[] = [];
  private sessionHandlers: ((s: Session) => void)[] = [];
  /** Housekeeping timer: runs only while there are sessions or half-open handshakes. */
  private tickTimer: Timer | undefined;
  private closed = false;
  private readonly host: SessionHost;

  constructor(config: SessionManagerConfig) {
    this.options = { ...DEFAULT_SESSION_OPTIONS, ...config.options };
    this.clock = config.clock;
    this.random = config.random;
    this.sendFn = config.send;
    this.log = config.log?.child({ component: 'session' });
    this.authorize = config.authorize;
    this.nodeId = nodeIdOf(config.identity.publicKey);
    this.staticKey = dhKeyPairFromSecret(this.random.bytes(32));
    this.proof = makeIdentityProof(config.identity, this.staticKey.publicKey);
    this.limiter = new RateLimiter({
      burst: this.options.handshakeBurst,
      perSecond: this.options.handshakesPerSecond,
      maxSources: this.options.rateLimitSources,
    });
    this.cookies = new CookieJar((n) => this.random.bytes(n));
    this.host = {
      options: this.options,
      now: () => this.clock.now(),
      transmit: (p, to) => this.transmit(p, to),
      requestRekey: (s) => this.startRekey(s),
      releaseKeypair: (kp) => this.releaseKeypair(kp),
      sessionClosed: (s, reason) => this.onSessionClosed(s, reason),
    };
  }

  /**
   * Open (or reuse) a session with the node `expectedNodeId` at `address`. Resolves once
   * both sides hold the keys; rejects with {@link IdentityMismatchError} if the peer is
   * another node, {@link HandshakeTimeoutError} if it does not answer in time,
   * {@link HandshakeRefusedError} on capacity limits or close, or the signal's reason.
   */
  connect(address: Address, expectedNodeId: string, signal?: AbortSignal): Promise<Session> {
    if (this.closed) return Promise.reject(new HandshakeRefusedError('session manager is closed'));
    let expected: Uint8Array;
    try {
      expected = parseNodeId(expectedNodeId);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = bytesToHex(expected);
    if (id === this.nodeId) return Promise.reject(new TypeError('cannot open a session to our own node ID'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const existing = this.byNode.get(id);
    if (existing && !existing.isClosed) return Promise.resolve(existing);
    let o = this.connecting.get(id);
    if (!o) {
      if (this.outgoing.size >= this.options.maxPendingHandshakes) {
        return Promise.reject(new HandshakeRefusedError(`too many handshakes in progress (${this.outgoing.size})`));
      }
      o = this.startOutgoing(address, expected, id, undefined);
      this.connecting.set(id, o);
    }
    const hs = o;
    return new Promise<Session>((resolve, reject) => {
      const waiter = {
        resolve: (s: Session) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(s);
        },
        reject: (e: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        hs.waiters = hs.waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
        if (hs.waiters.length === 0 && !hs.session) this.failOutgoing(hs, signal!.reason);
      };
      hs.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Feed one received datagram. Returns false when the first byte is outside the session
   * range (not ours: the caller may route it elsewhere); otherwise the packet is handled
   * or dropped and counted. Never throws.
   */
  receive(data: Uint8Array, from: Address): boolean {
    if (!isSessionPacket(data)) return false;
    this.counters.datagramsIn++;
    if (this.closed) return true;
    const d = this.counters.dropped;
    if (data.length > MAX_DATAGRAM) {
      d.oversized++;
      return true;
    }
    try {
      switch (data[0]) {
        case PACKET_DATA:
          this.onData(data, from);
          break;
        case PACKET_INIT:
          this.onInit(data, from);
          break;
        case PACKET_RESP:
          this.onResp(data, from);
          break;
        case PACKET_FINISH:
          this.onFinish(data, from);
          break;
        case PACKET_COOKIE:
          this.onCookie(data);
          break;
        default:
          d.malformed++;
      }
    } catch (err) {
      // Defence in depth: a bug on the receive path must not take the node down.
      d.malformed++;
      this.log?.warn({ err: (err as Error).message, from: formatAddress(from) }, 'session packet handling failed');
    }
    return true;
  }

  /** Register a handler for decrypted payloads; returns an unsubscribe function. */
  onMessage(handler: SessionMessageHandler): () => void {
    this.messageHandlers.push(handler);
    return () => {
      this.messageHandlers = this.messageHandlers.filter((h) => h !== handler);
    };
  }

  /** Register a handler for newly established sessions (inbound and outbound). */
  onSession(handler: (session: Session) => void): () => void {
    this.sessionHandlers.push(handler);
    return () => {
      this.sessionHandlers = this.sessionHandlers.filter((h) => h !== handler);
    };
  }

  /** The live session with `nodeId`, if any. */
  get(nodeId: string): Session | undefined {
    return this.byNode.get(nodeId.toLowerCase());
  }

  /** All live sessions. */
  sessions(): Session[] {
    return [...this.byNode.values()];
  }

  /** Counters (a copy). */
  stats(): SessionManagerStats {
    return {
      ...this.counters,
      dropped: { ...this.counters.dropped },
      sessions: this.byNode.size,
      pendingHandshakes: this.incomingByInit.size + this.outgoing.size,
    };
  }

  /** Stop: fail pending connects, close every session, zeroize keys, cancel timers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tickTimer?.cancel();
    this.tickTimer = undefined;
    for (const o of [...this.outgoing]) this.failOutgoing(o, new HandshakeRefusedError('session manager closed'));
    for (const e of [...this.byIndex.values()]) if (e.kind === 'incoming') this.dropIncoming(e.hs);
    for (const s of [...this.byNode.values()]) s.close('manager closed');
    for (const e of this.byIndex.values()) if (e.kind === 'keypair') e.kp.destroy();
    this.byIndex.clear();
    this.staticKey.secretKey.fill(0);
    this.cookies.destroy();
    this.messageHandlers = [];
    this.sessionHandlers = [];
  }

  // ---- initiator ----

  private startOutgoing(address: Address, expected: Uint8Array, expectedId: string, session: Session | undefined): Outgoing {
    const noise = new HandshakeState({ pattern: XX, initiator: true, prologue: SESSION_PROLOGUE, s: this.staticKey, random: this.random });
    const localIndex = this.allocIndex();
    const now = this.clock.now();
    const o: Outgoing = {
      localIndex,
      noise,
      address,
      expected,
      expectedId,
      session,
      phase: 'init',
      packet: encodeInit(localIndex, noise.writeMessage(new Uint8Array(INIT_PADDING))),
      rto: this.options.handshakeRetryMs,
      timer: undefined,
      deadline: now + this.options.handshakeTimeoutMs,
      keypair: undefined,
      peer: undefined,
      peerStatic: undefined,
      cookieApplied: false,
      waiters: [],
      done: false,
    };
    this.byIndex.set(localIndex, { kind: 'outgoing', hs: o });
    this.outgoing.add(o);
    this.counters.handshakesStarted++;
    this.transmit(o.packet, address);
    this.armRetransmit(o);
    return o;
  }

  private armRetransmit(o: Outgoing): void {
    o.timer?.cancel();
    const now = this.clock.now();
    o.timer = this.clock.setTimeout(() => {
      if (o.done) return;
      if (this.clock.now() >= o.deadline) {
        const what = o.session ? 'rekey with' : 'handshake with';
        this.failOutgoing(o, new HandshakeTimeoutError(`${what} ${formatAddress(o.address)} did not complete within ${this.options.handshakeTimeoutMs} ms`));
        return;
      }
      this.counters.handshakeRetransmits++;
      this.transmit(o.packet, o.address);
      o.rto = Math.min(o.rto * 2, this.options.handshakeRetryMaxMs);
      this.armRetransmit(o);
    }, Math.max(0, Math.min(o.rto, o.deadline - now)));
  }

  private failOutgoing(o: Outgoing, err: unknown): void {
    if (o.done) return;
    o.done = true;
    o.timer?.cancel();
    this.outgoing.delete(o);
    if (this.connecting.get(o.expectedId) === o) this.connecting.delete(o.expectedId);
    const e = this.byIndex.get(o.localIndex);
    if (e && (e.kind === 'outgoing' || (e.kind === 'keypair' && e.outgoing === o && !e.kp.confirmed))) this.byIndex.delete(o.localIndex);
    if (o.keypair && !o.keypair.confirmed) o.keypair.destroy();
    o.noise.destroy();
    if (o.session) o.session.rekeying = false;
    this.counters.handshakesFailed++;
    this.log?.debug({ to: formatAddress(o.address), err: (err as Error)?.message }, 'handshake failed');
    const waiters = o.waiters;
    o.waiters = [];
    for (const w of waiters) w.reject(err);
  }

  private onResp(data: Uint8Array, from: Address): void {
    const d = this.counters.dropped;
    const p = parseResp(data);
    if (!p) return void d.malformed++;
    const e = this.byIndex.get(p.receiver);
    if (!e || e.kind !== 'outgoing') return void d.unknownIndex++;
    const o = e.hs;
    let payload: Uint8Array;
    try {
      payload = o.noise.readMessage(p.noise);
    } catch {
      return void d.authFailed++;
    }
    const peer = verifyIdentityProof(payload, o.noise.remoteStatic!);
    if (!peer) {
      d.badIdentity++;
      return this.failOutgoing(o, new HandshakeRefusedError(`peer at ${formatAddress(from)} sent an invalid identity proof`));
    }
    if (!matchesNodeId(peer, o.expected)) {
      d.refused++;
      return this.failOutgoing(o, new IdentityMismatchError(o.expectedId, peer.nodeId, formatAddress(from)));
    }
    if (o.session?.isClosed) o.session = undefined;
    if (!o.session && !this.byNode.has(peer.nodeId) && this.byNode.size >= this.options.maxSessions) {
      d.busy++;
      return this.failOutgoing(o, new HandshakeRefusedError(`session table full (${this.options.maxSessions})`));
    }
    const msg3 = o.noise.writeMessage(this.proof);
    const [send, recv] = o.noise.split();
    const kp = new Keypair(o.localIndex, p.sender, send, recv, true, this.clock.now());
    o.keypair = kp;
    o.peer = peer;
    o.peerStatic = o.noise.remoteStatic!;
    o.phase = 'finish';
    o.address = from;
    o.packet = encodeFinish(p.sender, msg3);
    o.rto = this.options.handshakeRetryMs;
    this.byIndex.set(o.localIndex, { kind: 'keypair', kp, session: o.session, outgoing: o });
    this.transmit(o.packet, from);
    this.armRetransmit(o);
  }

  /** The responder proved it holds the keys (a packet arrived on them): the handshake is done. */
  private completeOutgoing(entry: IndexEntry & { kind: 'keypair' }): void {
    const o = entry.outgoing!;
    entry.outgoing = undefined;
    o.done = true;
    o.timer?.cancel();
    this.outgoing.delete(o);
    if (this.connecting.get(o.expectedId) === o) this.connecting.delete(o.expectedId);
    const peer = o.peer!;
    let session = o.session && !o.session.isClosed ? o.session : this.byNode.get(peer.nodeId);
    const stale = session && this.restarted(session, o.peerStatic!) ? session : undefined;
    if (stale) session = undefined;
    const isNew = !session;
    if (!session) {
      session = new Session(peer, o.address, this.host, o.peerStatic);
      this.byNode.set(peer.nodeId, session);
      this.ensureTick();
    }
    entry.session = session;
    session.rekeying = false;
    session.install(entry.kp, !isNew);
    this.counters.handshakesCompleted++;
    if (!isNew) this.counters.rekeys++;
    this.log?.debug({ peer: peer.nodeId, at: formatAddress(o.address), rekey: !isNew }, 'session keys confirmed (initiator)');
    stale?.close('peer restarted');
    for (const w of o.waiters) w.resolve(session);
    o.waiters = [];
    if (isNew) this.emitSession(session);
  }

  /**
   * A handshake with `session`'s peer proved static key `peerStatic`. The same key: a rekey
   * (or two handshakes that crossed), keep the session. Another key: the peer is a new run
   * of the same identity (each run draws its own static key), so the caller makes a fresh
   * session and then closes the old one with the reason 'peer restarted': its keys, and the
   * state of the layers above it (pending requests, reassembly), belong to a process that
   * is gone. The old one closes after the new one is in place, so a close handler that
   * reconnects at once gets the new session.
   */
  private restarted(session: Session, peerStatic: Uint8Array): boolean {
    if (equalBytes(session.peerStatic, peerStatic)) return false;
    this.counters.restarts++;
    this.log?.debug({ peer: session.nodeId }, 'peer restarted: new session');
    return true;
  }

  private startRekey(session: Session): void {
    if (this.closed || session.rekeying || session.isClosed) return;
    if (this.outgoing.size >= this.options.maxPendingHandshakes) return;
    session.rekeying = true;
    this.startOutgoing(session.address, parseNodeId(session.nodeId), session.nodeId, session);
  }

  // ---- responder ----

  private onInit(data: Uint8Array, from: Address): void {
    const d = this.counters.dropped;
    const p = parseInit(data);
    if (!p) return void d.malformed++;
    const initKey = `${p.sender}:${bytesToHex(p.noise.subarray(0, 32))}`;
    const dup = this.incomingByInit.get(initKey);
    if (dup) {
      dup.address = from;
      this.transmit(dup.resp, from);
      return;
    }
    const now = this.clock.now();
    if (this.incomingByInit.size >= this.options.cookieThreshold) {
      // Under load: no DH work and no state for a source that has not proven its address.
      const e = p.noise.subarray(0, 32);
      if (!this.cookies.check(now, p.cookie, from, p.sender, e)) {
        this.counters.cookiesSent++;
        this.transmit(encodeCookie(p.sender, this.cookies.make(now, from, p.sender, e)), from);
        return;
      }
    }
    if (!this.limiter.allow(from.host, now)) return void d.rateLimited++;
    if (this.incomingByInit.size >= this.options.maxPendingHandshakes) return void d.busy++;
    const noise = new HandshakeState({ pattern: XX, initiator: false, prologue: SESSION_PROLOGUE, s: this.staticKey, random: this.random });
    let msg2: Uint8Array;
    try {
      noise.readMessage(p.noise);
      msg2 = noise.writeMessage(this.proof);
    } catch {
      noise.destroy();
      return void d.authFailed++;
    }
    const localIndex = this.allocIndex();
    const inc: Incoming = {
      localIndex,
      remoteIndex: p.sender,
      noise,
      resp: encodeResp(localIndex, p.sender, msg2),
      address: from,
      createdAt: this.clock.now(),
      initKey,
    };
    this.byIndex.set(localIndex, { kind: 'incoming', hs: inc });
    this.incomingByInit.set(initKey, inc);
    this.ensureTick();
    this.transmit(inc.resp, from);
  }

  /** A responder under load wants our INIT again with its cookie. */
  private onCookie(data: Uint8Array): void {
    const p = parseCookie(data);
    if (!p) return void this.counters.dropped.malformed++;
    const e = this.byIndex.get(p.receiver);
    if (!e || e.kind !== 'outgoing' || e.hs.phase !== 'init') return void this.counters.dropped.unknownIndex++;
    const o = e.hs;
    setInitCookie(o.packet, p.cookie);
    // Resend at once only the first time: forged COOKIEs must not make us a reflector.
    if (!o.cookieApplied) {
      o.cookieApplied = true;
      this.counters.handshakeRetransmits++;
      this.transmit(o.packet, o.address);
    }
  }

  private dropIncoming(inc: Incoming): void {
    const e = this.byIndex.get(inc.localIndex);
    if (e?.kind === 'incoming' && e.hs === inc) this.byIndex.delete(inc.localIndex);
    this.incomingByInit.delete(inc.initKey);
    inc.noise.destroy();
  }

  private onFinish(data: Uint8Array, from: Address): void {
    const d = this.counters.dropped;
    const p = parseFinish(data);
    if (!p) return void d.malformed++;
    const e = this.byIndex.get(p.receiver);
    if (e?.kind === 'keypair' && e.kp.finishPacket && e.session && !e.session.isClosed) {
      // The initiator did not hear our confirmation: repeat it (only for the very same FINISH).
      if (equalBytes(e.kp.finishPacket, data)) this.transmit(e.kp.seal(EMPTY), from);
      else d.authFailed++;
      return;
    }
    if (!e || e.kind !== 'incoming') return void d.unknownIndex++;
    const inc = e.hs;
    let payload: Uint8Array;
    try {
      payload = inc.noise.readMessage(p.noise);
    } catch {
      return void d.authFailed++;
    }
    const peer = verifyIdentityProof(payload, inc.noise.remoteStatic!);
    if (!peer) {
      d.badIdentity++;
      return this.dropIncoming(inc);
    }
    if (peer.nodeId === this.nodeId || (this.authorize && !this.authorize(peer, from))) {
      d.refused++;
      return this.dropIncoming(inc);
    }
    const peerStatic = inc.noise.remoteStatic!;
    let session = this.byNode.get(peer.nodeId);
    // Not a rekey when the peer restarted: a fresh session replaces the old one.
    const stale = session && this.restarted(session, peerStatic) ? session : undefined;
    if (stale) session = undefined;
    if (!session && !stale && this.byNode.size >= this.options.maxSessions) {
      d.busy++;
      return this.dropIncoming(inc);
    }
    const [send, recv] = inc.noise.split();
    const now = this.clock.now();
    const kp = new Keypair(inc.localIndex, inc.remoteIndex, send, recv, false, now);
    kp.finishPacket = data.slice();
    this.incomingByInit.delete(inc.initKey);
    const isNew = !session;
    if (!session) {
      session = new Session(peer, from, this.host, peerStatic);
      this.byNode.set(peer.nodeId, session);
      this.ensureTick();
    }
    this.byIndex.set(inc.localIndex, { kind: 'keypair', kp, session, outgoing: undefined });
    session.install(kp, !isNew);
    if (session.received(kp, from, now, false)) this.counters.roams++;
    this.counters.handshakesCompleted++;
    if (!isNew) this.counters.rekeys++;
    this.log?.debug({ peer: peer.nodeId, from: formatAddress(from), rekey: !isNew }, 'session established (responder)');
    stale?.close('peer restarted');
    this.transmit(kp.seal(EMPTY), from);
    if (isNew) this.emitSession(session);
  }

  // ---- transport ----

  private onData(data: Uint8Array, from: Address): void {
    const d = this.counters.dropped;
    const p = parseData(data);
    if (!p) return void d.malformed++;
    const e = this.byIndex.get(p.receiver);
    if (!e || e.kind !== 'keypair') return void d.unknownIndex++;
    const kp = e.kp;
    const now = this.clock.now();
    if (now - kp.createdAt >= this.options.rejectAfterMs) return void d.expired++;
    const verdict = kp.replay.check(p.counter);
    if (verdict === 'duplicate') return void d.duplicate++;
    if (verdict === 'too-old') return void d.tooOld++;
    const plaintext = kp.open(p);
    if (!plaintext) return void d.authFailed++;
    kp.replay.accept(p.counter);
    kp.received++;
    kp.lastReceived = now;
    kp.finishPacket = undefined;
    if (!kp.confirmed) {
      kp.confirmed = true;
      if (e.outgoing) this.completeOutgoing(e);
    }
    const session = e.session;
    if (!session || session.isClosed) return void d.unknownIndex++;
    if (session.received(kp, from, now, plaintext.length > 0)) {
      this.counters.roams++;
      this.log?.debug({ peer: session.nodeId, to: formatAddress(from) }, 'peer moved to a new address');
    }
    if (plaintext.length === 0) return;
    this.counters.messagesDelivered++;
    for (const h of this.messageHandlers) {
      try {
        h(plaintext, session);
      } catch (err) {
        this.log?.error({ err: (err as Error).message }, 'session message handler threw');
      }
    }
    session.deliver(plaintext);
  }

  // ---- shared ----

  private transmit(packet: Uint8Array, to: Address): void {
    this.counters.datagramsOut++;
    if (packet[0] === PACKET_DATA && packet.length > 29) this.counters.messagesSent++;
    this.sendFn(packet, to);
  }

  private allocIndex(): number {
    for (;;) {
      const b = this.random.bytes(4);
      const idx = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
      if (!this.byIndex.has(idx)) return idx;
    }
  }

  private releaseKeypair(kp: Keypair): void {
    const e = this.byIndex.get(kp.localIndex);
    if (e?.kind === 'keypair' && e.kp === kp) this.byIndex.delete(kp.localIndex);
    kp.destroy();
  }

  private onSessionClosed(session: Session, reason: string): void {
    if (this.byNode.get(session.nodeId) === session) this.byNode.delete(session.nodeId);
    this.log?.debug({ peer: session.nodeId, reason }, 'session closed');
  }

  private emitSession(session: Session): void {
    for (const h of this.sessionHandlers) {
      try {
        h(session);
      } catch (err) {
        this.log?.error({ err: (err as Error).message }, 'session handler threw');
      }
    }
  }

  private ensureTick(): void {
    if (!this.tickTimer && !this.closed) this.tickTimer = this.clock.setInterval(() => this.tick(), this.options.tickMs);
  }

  private tick(): void {
    const now = this.clock.now();
    for (const inc of [...this.incomingByInit.values()]) {
      if (now - inc.createdAt >= this.options.handshakeTimeoutMs) this.dropIncoming(inc);
    }
    for (const s of [...this.byNode.values()]) s.tick(now);
    if (this.byNode.size === 0 && this.incomingByInit.size === 0) {
      // Nothing to look after: a node with no sessions costs the simulator no timer.
      this.tickTimer?.cancel();
      this.tickTimer = undefined;
    }
  }
}
