/**
 * An encrypted, mutually authenticated session with one peer (identified by node ID),
 * as handed out by {@link SessionManager}. It survives key rotation (rekeys install new
 * keys underneath) and address changes (an authenticated packet from a new address moves
 * the session there: NAT rebinding, roaming).
 *
 * Delivery is a datagram service: each `send` is one encrypted packet, delivered at most
 * once, possibly out of order, possibly not at all; retries belong to the layer above.
 *
 * @example
 * ```ts
 * const session = await manager.connect({ host: '203.0.113.7', port: 7000 }, peerNodeId);
 * session.send(new TextEncoder().encode('hello'));
 * session.onClose((reason) => log.info({ reason }, 'session closed'));
 * ```
 * @module
 */
import type { Address } from '../net/net.ts';
import { sameAddress } from '../net/net.ts';
import type { MessageChannel } from './channel.ts';
import { SessionClosedError } from './session/errors.ts';
import type { Keypair } from './session/keypair.ts';
import type { SessionOptions } from './session/options.ts';
import { MAX_SESSION_PAYLOAD } from './session/packets.ts';
import type { VerifiedIdentity } from './session/identity-binding.ts';

const EMPTY = new Uint8Array(0);

/** What a session needs from its manager. @internal */
export interface SessionHost {
  readonly options: SessionOptions;
  now(): number;
  transmit(packet: Uint8Array, to: Address): void;
  requestRekey(session: Session): void;
  releaseKeypair(kp: Keypair): void;
  sessionClosed(session: Session, reason: string): void;
}

/** Per-session counters. */
export interface SessionStats {
  messagesSent: number;
  messagesReceived: number;
  rekeys: number;
  roams: number;
  /** Keypairs held (current + retired). */
  keypairs: number;
  establishedAt: number;
  lastReceivedAt: number;
  lastSentAt: number;
}

/** A secure channel to one verified peer. */
export class Session {
  /** The peer's node ID (hex SHA-256 of its Ed25519 key), proven in the handshake. */
  readonly nodeId: string;
  /** The peer's Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** @internal set by the manager while a rekey handshake runs. */
  rekeying = false;
  /**
   * @internal The peer's Noise static key (X25519) as its handshake proved it. A node draws
   * a fresh one per run, so a handshake with another static key under the same identity
   * comes from a restarted peer, not a rekey of this session.
   */
  readonly peerStatic: Uint8Array;
  private addr: Address;
  private current: Keypair | undefined;
  private retired: Keypair[] = [];
  private closedReason: string | undefined;
  private closeHandlers: ((reason: string) => void)[] = [];
  private messageHandlers: ((payload: Uint8Array) => void)[] = [];
  private readonly counters: SessionStats;
  private lastDataReceivedAt = -Infinity;
  /**
   * The keypair the peer last sent on. It is never retired for quietness: after two
   * handshakes cross (both sides connect or rekey at once) each side may send on a
   * different keypair, and each must keep the one its peer uses until the next rekey.
   */
  private peerKeypair: Keypair | undefined;

  /** @internal sessions are created by the manager. */
  constructor(
    peer: VerifiedIdentity,
    address: Address,
    private readonly host: SessionHost,
    peerStatic: Uint8Array = new Uint8Array(0),
  ) {
    this.peerStatic = peerStatic.slice();
    this.nodeId = peer.nodeId;
    this.publicKey = peer.publicKey.slice();
    this.addr = { host: address.host, port: address.port };
    const now = host.now();
    this.counters = { messagesSent: 0, messagesReceived: 0, rekeys: 0, roams: 0, keypairs: 0, establishedAt: now, lastReceivedAt: now, lastSentAt: now };
  }

  /** Where the peer currently is (follows NAT rebinding). */
  get address(): Address {
    return this.addr;
  }

  /** True once closed; {@link closeReason} says why. */
  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Why the session closed ('closed', 'idle', 'keys expired', 'manager closed', 'peer restarted'), if it did. */
  get closeReason(): string | undefined {
    return this.closedReason;
  }

  /**
   * Encrypt and send one payload (at most {@link MAX_SESSION_PAYLOAD} bytes). Throws
   * {@link SessionClosedError} on a closed session and RangeError on an oversized payload.
   */
  send(payload: Uint8Array): void {
    if (payload.length > MAX_SESSION_PAYLOAD) {
      throw new RangeError(`session payload of ${payload.length} bytes exceeds ${MAX_SESSION_PAYLOAD}: fragment above the session layer`);
    }
    this.transmit(payload);
    this.counters.messagesSent++;
  }

  /** Send an empty authenticated packet (keeps NAT bindings and the idle timer fresh at the peer). */
  keepalive(): void {
    this.transmit(EMPTY);
  }

  private transmit(payload: Uint8Array): void {
    const kp = this.current;
    if (this.closedReason !== undefined || !kp) throw new SessionClosedError(`session with ${this.nodeId.slice(0, 16)}… is closed (${this.closedReason ?? 'no keys'})`);
    const o = this.host.options;
    if (this.host.now() - kp.createdAt >= o.rejectAfterMs) {
      this.close('keys expired');
      throw new SessionClosedError(`session with ${this.nodeId.slice(0, 16)}… is closed (keys expired)`);
    }
    this.host.transmit(kp.seal(payload), this.addr);
    this.counters.lastSentAt = this.host.now();
    if (kp.sendCounter >= o.rekeyAfterMessages) this.host.requestRekey(this);
  }

  /** Register a handler for this session's payloads; returns an unsubscribe function. */
  onMessage(handler: (payload: Uint8Array) => void): () => void {
    this.messageHandlers.push(handler);
    return () => {
      this.messageHandlers = this.messageHandlers.filter((h) => h !== handler);
    };
  }

  /**
   * This session as the wire layer's {@link MessageChannel} (what `FragmentedChannel`
   * takes): the same payloads, but `send` on a closed session is a silent no-op, as the
   * channel contract asks, and `close` closes the session.
   */
  channel(): MessageChannel {
    return {
      send: (payload) => {
        if (!this.isClosed) this.send(payload);
      },
      onMessage: (handler) => this.onMessage(handler),
      close: () => this.close(),
      onClose: (handler) => this.onClose(handler),
    };
  }

  /** @internal hand a decrypted payload to this session's handlers. */
  deliver(payload: Uint8Array): void {
    for (const h of this.messageHandlers) {
      try {
        h(payload);
      } catch {
        // a handler's bug must not stop delivery to the others (the manager logs its own)
      }
    }
  }

  /** Register a close callback; returns an unsubscribe function. */
  onClose(handler: (reason: string) => void): () => void {
    this.closeHandlers.push(handler);
    return () => {
      this.closeHandlers = this.closeHandlers.filter((h) => h !== handler);
    };
  }

  /** Close the session locally and zeroize its keys (the peer notices by idle timeout). Idempotent. */
  close(reason = 'closed'): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const kp of this.keypairs()) this.host.releaseKeypair(kp);
    this.current = undefined;
    this.peerKeypair = undefined;
    this.retired = [];
    this.host.sessionClosed(this, reason);
    const handlers = this.closeHandlers;
    this.closeHandlers = [];
    this.messageHandlers = [];
    for (const h of handlers) h(reason);
  }

  /** Counters. */
  stats(): SessionStats {
    return { ...this.counters, keypairs: this.keypairs().length };
  }

  /** @internal all live keypairs. */
  keypairs(): Keypair[] {
    return this.current ? [this.current, ...this.retired] : [...this.retired];
  }

  /** @internal make `kp` the sending keypair; the previous one is retired but still receives. */
  install(kp: Keypair, isRekey: boolean): void {
    if (this.current === kp) return;
    const now = this.host.now();
    if (this.current) {
      this.current.retiredAt = now;
      this.retired.unshift(this.current);
    }
    this.current = kp;
    if (isRekey) this.counters.rekeys++;
    while (this.retired.length > this.host.options.maxRetiredKeypairs) {
      let i = this.retired.length - 1;
      if (this.retired[i] === this.peerKeypair && i > 0) i--;
      this.host.releaseKeypair(this.retired.splice(i, 1)[0]!);
    }
  }

  /** @internal an authenticated packet arrived on `kp` from `from`; true when the peer moved. */
  received(kp: Keypair, from: Address, now: number, delivered: boolean): boolean {
    this.counters.lastReceivedAt = now;
    this.peerKeypair = kp;
    if (delivered) {
      this.counters.messagesReceived++;
      this.lastDataReceivedAt = now;
    }
    if (sameAddress(from, this.addr)) return false;
    this.addr = { host: from.host, port: from.port };
    this.counters.roams++;
    return true;
  }

  /** @internal housekeeping: expire retired keys, close idle or key-expired sessions, rekey by time. */
  tick(now: number): void {
    if (this.closedReason !== undefined) return;
    const o = this.host.options;
    if (now - this.counters.lastReceivedAt >= o.idleTimeoutMs) return this.close('idle');
    this.retired = this.retired.filter((kp) => {
      const quietSince = Math.max(kp.retiredAt ?? now, kp.lastReceived);
      const quiet = now - quietSince >= o.keepRetiredMs && kp !== this.peerKeypair;
      if (quiet || now - kp.createdAt >= o.rejectAfterMs) {
        this.host.releaseKeypair(kp);
        return false;
      }
      return true;
    });
    const kp = this.current;
    if (!kp || now - kp.createdAt >= o.rejectAfterMs) return this.close('keys expired');
    const rekeyAt = o.rekeyAfterMs + (kp.initiator ? 0 : o.rekeyResponderDelayMs);
    if (now - kp.createdAt >= rekeyAt) this.host.requestRekey(this);
    // Passive keepalive (as WireGuard): a peer that only sends still hears from us, so
    // its idle timer and its NAT binding stay fresh. Only data triggers it: no ping-pong.
    const last = this.counters.lastSentAt;
    if (this.lastDataReceivedAt > last && now - last >= o.passiveKeepaliveMs) this.keepalive();
  }
}
