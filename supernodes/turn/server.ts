/**
 * TURN server (RFC 8656) over UDP, with STUN Binding (RFC 8489), as a datagram handler:
 * the owner feeds it every datagram that arrived on its UDP port ({@link TurnServer.handle})
 * and gives it a `send` function for replies, so it shares the supernode's one port with
 * the overlay (RFC 7983 demultiplexing: first byte 0-3 STUN, 0x40-0x7F ChannelData).
 * Relayed transport addresses are sockets from the injected `Net`, so the server runs on
 * real UDP and on SimNet alike; lifetimes and nonces use the injected `Clock`.
 *
 * Credentials are coturn's shared-secret ("TURN REST") scheme, see credentials.ts.
 *
 * @example Wiring into a supernode's socket
 * ```ts
 * const turn = new TurnServer({ env, secret, realm: 'tincan', relayHost: '0.0.0.0',
 *   externalRelayHost: publicIp, send: (d, to) => socket.send(d, to) });
 * socket.onMessage((data, from) => {
 *   const b = data[0];
 *   if (b !== undefined && (b <= 3 || (b >= 0x40 && b <= 0x7f))) turn.handle(data, from);
 *   else overlay.handle(data, from);
 * });
 * ```
 * @module
 */
import type { Env } from '../../src/env.ts';
import type { Address, BindOptions, DatagramSocket } from '../../src/net/net.ts';
import type { Timer } from '../../src/clock.ts';
import {
  Attr,
  ErrorCode,
  Method,
  StunClass,
  TRANSPORT_UDP,
  isComprehensionRequired,
} from '../stun/constants.ts';
import {
  decodeAddress,
  decodeChannelNumber,
  decodeEvenPort,
  decodeRequestedFamily,
  decodeRequestedTransport,
  decodeReservationToken,
  decodeText,
  decodeU32,
  encodeAddress,
  encodeErrorCode,
  encodeText,
  encodeU32,
  encodeUnknownAttributes,
  type StunAddress,
} from '../stun/attributes.ts';
import { bindingResponse } from '../stun/binding.ts';
import { fingerprintOk, verifyIntegrity, verifyIntegritySha256 } from '../stun/integrity.ts';
import { StunError, StunWriter, getAttribute, getAttributes, parseStun, type StunMessage } from '../stun/message.ts';
import { parseIPv4 } from '../../src/net/ip.ts';
import { CHANNEL_MAX, CHANNEL_MIN } from './channel-data.ts';
import { longTermKey, parseRestUsername, restPassword } from './credentials.ts';
import { Nonces } from './nonce.ts';
import { PeerPolicy } from './peer-policy.ts';
import { AddrTable } from './addr-table.ts';
import { ChallengeLimiter, type ChallengeLimits } from './challenge-limiter.ts';

/** Options for {@link TurnServer}. */
export interface TurnServerOptions {
  /** Clock (lifetimes, nonces), random (nonce key, tokens), net (relay sockets), log. */
  env: Pick<Env, 'clock' | 'random' | 'net' | 'log'>;
  /** Send a datagram to a client out of the port the server listens on. */
  send(data: Uint8Array, to: Address): void;
  /**
   * Optional: like `send`, for datagrams the server hands over and never touches again
   * (relayed data toward clients), so they can go out without a copy
   * (`DatagramSocket.sendOwned`). Default: `send`.
   */
  sendOwned?(data: Uint8Array, to: Address): void;
  /**
   * Shared secret(s) (`--turn-secret`). Several are accepted so a secret can be rotated;
   * new credentials should be minted with the first.
   */
  secret: string | readonly string[];
  /** REALM; default 'tincan'. */
  realm?: string;
  /** Local IPv4 address relay sockets bind to; default '0.0.0.0'. */
  relayHost?: string;
  /** IPv4 address advertised in XOR-RELAYED-ADDRESS; default `relayHost` (must then be specific). */
  externalRelayHost?: string;
  /** Local IPv6 address for IPv6 relays (REQUESTED-ADDRESS-FAMILY IPv6); none by default. */
  relayHostV6?: string;
  /** Advertised IPv6 relay address; default `relayHostV6`. */
  externalRelayHostV6?: string;
  /** Allow peers on loopback/private/link-local addresses. Tests only. */
  allowPrivatePeers?: boolean;
  /**
   * CIDR blocks (`10.1.0.0/16`, `fd00::/8`, a bare address for one host) where peers are
   * allowed although they are restricted (private, loopback...) addresses; the rest of
   * the restricted space stays refused. Ignored when `allowPrivatePeers` is set (that
   * allows everything). Invalid blocks throw from the constructor. Default none.
   */
  allowedPeerCidrs?: readonly string[];
  /**
   * Limits on unauthenticated error responses (401/438 challenges, 400/420 before
   * authentication) per source IP and in total, against reflection floods; see
   * challenge-limiter.ts for the defaults.
   */
  challengeLimits?: ChallengeLimits;
  /** Concurrent allocations per user (the part after ':' in the username); default 10. */
  userQuota?: number;
  /** Concurrent allocations in total; default 1000. */
  totalQuota?: number;
  /** Permissions per allocation; default 64. */
  maxPermissionsPerAllocation?: number;
  /** Channels per allocation; default 64. */
  maxChannelsPerAllocation?: number;
  /** Outstanding EVEN-PORT reservations; default 100. */
  maxReservations?: number;
  /** Default allocation lifetime, s; default 600. */
  defaultLifetimeS?: number;
  /** Maximum allocation lifetime, s; default 3600. */
  maxLifetimeS?: number;
  /** Permission lifetime, s; default 300. */
  permissionLifetimeS?: number;
  /** Channel binding lifetime, s; default 600. */
  channelLifetimeS?: number;
  /** Nonce lifetime, s; default 600 (then 438 Stale Nonce). */
  nonceLifetimeS?: number;
  /** Largest relayed payload, bytes; bigger datagrams are dropped and counted. Default 1500. */
  maxPayload?: number;
  /** SOFTWARE attribute; default 'tincan'. Empty string omits it. */
  software?: string;
  /** Separator in REST usernames; default ':'. */
  separator?: string;
  /** How often expired state is swept, ms; default 1000. Expiry is also checked on use. */
  sweepIntervalMs?: number;
  /**
   * Hairpin: a datagram an allocation sends to another allocation's relayed address on
   * this server is handed over in process instead of through the kernel (same
   * permissions, same source address as seen by the receiver). Saves a send and a
   * receive per packet when both call legs relay through one supernode. Default true.
   */
  hairpin?: boolean;
  /**
   * Receive buffer asked for each relay socket, bytes; default 256 KiB. Passed to
   * `Net.bind` as `receiveBufferBytes`, which a Net may honour (UdpNet: SO_RCVBUF) or ignore.
   */
  relayRecvBufferSize?: number;
}

/** Counters of a {@link TurnServer} (see {@link TurnServer.stats}). */
export interface TurnStats {
  /** Allocations alive now. */
  allocations: number;
  allocationsCreated: number;
  allocationsExpired: number;
  allocationsDeleted: number;
  /** Permissions alive now (over all allocations). */
  permissions: number;
  permissionsCreated: number;
  /** Channel bindings alive now. */
  channels: number;
  channelsCreated: number;
  /** Requests received, by method name. */
  requests: Record<string, number>;
  /** Error responses sent, by code. */
  errors: Record<number, number>;
  bindingResponses: number;
  /** Datagrams relayed between two allocations of this server in process (see `hairpin`). */
  hairpinPackets: number;
  /** Client -> peer datagrams relayed (Send indications and ChannelData). */
  relayedToPeerPackets: number;
  relayedToPeerBytes: number;
  /** Peer -> client datagrams relayed (Data indications and ChannelData). */
  relayedToClientPackets: number;
  relayedToClientBytes: number;
  /** Datagrams dropped, by reason. */
  drops: Record<string, number>;
}

/** A permission; channels keep a reference so the ChannelData path needs no lookup. */
interface Permission {
  expires: number;
}

interface Channel {
  readonly number: number;
  readonly peer: Address;
  expires: number;
  /** Counted in the `channels` stat (not yet expired at the last sweep). */
  live: boolean;
  /** The peer's permission when last checked; re-fetched once it has expired. */
  perm: Permission;
}

interface Allocation {
  readonly client: Address;
  readonly username: string;
  readonly user: string;
  readonly key: Uint8Array;
  readonly family: 4 | 6;
  readonly relay: DatagramSocket;
  readonly relayAddress: Address;
  readonly tid: string;
  readonly response: Uint8Array;
  expires: number;
  /** Peer IP -> permission. */
  readonly permissions: Map<string, Permission>;
  /**
   * Channel number -> channel, including expired ones in their hold-down (RFC 8656 12:
   * for 5 minutes after a binding expires, neither its number nor its peer may be bound
   * to anything else).
   */
  readonly channels: Map<number, Channel>;
  /** Peer address -> channel (same entries as `channels`). */
  readonly channelsByPeer: AddrTable<Channel>;
  /** Channels not expired (the ones that count against the quota). */
  liveChannels: number;
  stopListening: () => void;
  /** Sent with every Data indication; bumped per message. */
  dataTid: Uint8Array;
}

interface Reservation {
  socket: DatagramSocket;
  expires: number;
}

interface Authed {
  username: string;
  user: string;
  key: Uint8Array;
}

const METHOD_NAMES: Record<number, string> = {
  [Method.Binding]: 'binding',
  [Method.Allocate]: 'allocate',
  [Method.Refresh]: 'refresh',
  [Method.CreatePermission]: 'createPermission',
  [Method.ChannelBind]: 'channelBind',
};

/** Attributes the TURN requests understand (anything else comprehension-required -> 420). */
const KNOWN = new Set<number>([
  Attr.Username,
  Attr.MessageIntegrity,
  Attr.MessageIntegritySha256,
  Attr.Realm,
  Attr.Nonce,
  Attr.Fingerprint,
  Attr.ChannelNumber,
  Attr.Lifetime,
  Attr.XorPeerAddress,
  Attr.Data,
  Attr.RequestedAddressFamily,
  Attr.EvenPort,
  Attr.RequestedTransport,
  Attr.ReservationToken,
  0x0003, // CHANGE-REQUEST on Binding (ignored)
  0x0024, // PRIORITY (ICE checks on Binding)
  0x0025, // USE-CANDIDATE
  // DONT-FRAGMENT is deliberately absent: we cannot set DF on relayed datagrams
  // (RFC 8656 7.2: treat it as unknown comprehension-required).
]);

const RESERVATION_MS = 30_000;
/** RFC 8656 12: an expired channel's number and peer stay reserved this long. */
export const CHANNEL_HOLD_DOWN_MS = 5 * 60_000;
const KEY_CACHE_MAX = 1024;

class Reject extends Error {
  constructor(
    readonly code: number,
    readonly extra?: (w: StunWriter) => void,
  ) {
    super(String(code));
  }
}

/** A TURN + STUN server; see module docs. */
export class TurnServer {
  private readonly o: Required<
    Omit<TurnServerOptions, 'relayHostV6' | 'externalRelayHostV6' | 'secret' | 'allowedPeerCidrs' | 'challengeLimits' | 'sendOwned'>
  > & {
    relayHostV6?: string;
    externalRelayHostV6?: string;
  };
  private readonly secrets: readonly string[];
  private readonly nonces: Nonces;
  /** Client address -> allocation. */
  private readonly allocations = new AddrTable<Allocation>();
  private readonly peers: PeerPolicy;
  /** Relayed datagrams toward clients (see `sendOwned`). */
  private readonly sendRelayed: (data: Uint8Array, to: Address) => void;
  private readonly limiter: ChallengeLimiter;
  /** Clients whose Allocate is waiting for a relay socket: key -> transaction ID. */
  private readonly pending = new Map<string, string>();
  private readonly perUser = new Map<string, number>();
  private readonly reservations = new Map<string, Reservation>();
  private readonly keyCache = new Map<string, Uint8Array>();
  /** Advertised relayed address -> allocation, for hairpinning. */
  private readonly byRelay = new AddrTable<Allocation>();
  private count = 0;
  private readonly sweepTimer: Timer;
  private closed = false;
  private readonly counters: TurnStats = {
    allocations: 0,
    allocationsCreated: 0,
    allocationsExpired: 0,
    allocationsDeleted: 0,
    permissions: 0,
    permissionsCreated: 0,
    channels: 0,
    channelsCreated: 0,
    requests: {},
    errors: {},
    bindingResponses: 0,
    hairpinPackets: 0,
    relayedToPeerPackets: 0,
    relayedToPeerBytes: 0,
    relayedToClientPackets: 0,
    relayedToClientBytes: 0,
    drops: {},
  };

  constructor(options: TurnServerOptions) {
    const relayHost = options.relayHost ?? '0.0.0.0';
    const externalRelayHost = options.externalRelayHost ?? relayHost;
    if (!parseIPv4(relayHost)) throw new Error(`relayHost must be an IPv4 literal, got "${relayHost}"`);
    if (!parseIPv4(externalRelayHost) || externalRelayHost === '0.0.0.0') {
      throw new Error('externalRelayHost must be a specific IPv4 address (set it when relayHost is 0.0.0.0)');
    }
    this.secrets = typeof options.secret === 'string' ? [options.secret] : [...options.secret];
    if (this.secrets.length === 0 || this.secrets.some((s) => s.length === 0)) throw new Error('TURN secret must not be empty');
    this.o = {
      env: options.env,
      send: options.send,
      realm: options.realm ?? 'tincan',
      relayHost,
      externalRelayHost,
      relayHostV6: options.relayHostV6,
      externalRelayHostV6: options.externalRelayHostV6 ?? options.relayHostV6,
      allowPrivatePeers: options.allowPrivatePeers ?? false,
      userQuota: options.userQuota ?? 10,
      totalQuota: options.totalQuota ?? 1000,
      maxPermissionsPerAllocation: options.maxPermissionsPerAllocation ?? 64,
      maxChannelsPerAllocation: options.maxChannelsPerAllocation ?? 64,
      maxReservations: options.maxReservations ?? 100,
      defaultLifetimeS: options.defaultLifetimeS ?? 600,
      maxLifetimeS: options.maxLifetimeS ?? 3600,
      permissionLifetimeS: options.permissionLifetimeS ?? 300,
      channelLifetimeS: options.channelLifetimeS ?? 600,
      nonceLifetimeS: options.nonceLifetimeS ?? 600,
      maxPayload: options.maxPayload ?? 1500,
      software: options.software ?? 'tincan',
      separator: options.separator ?? ':',
      sweepIntervalMs: options.sweepIntervalMs ?? 1000,
      hairpin: options.hairpin ?? true,
      relayRecvBufferSize: options.relayRecvBufferSize ?? 256 * 1024,
    };
    this.sendRelayed = options.sendOwned ?? options.send;
    this.peers = new PeerPolicy({ allowPrivatePeers: this.o.allowPrivatePeers, allowedPeerCidrs: options.allowedPeerCidrs });
    this.limiter = new ChallengeLimiter(options.challengeLimits, options.env.clock.now());
    this.nonces = new Nonces(options.env.random.bytes(32), this.o.nonceLifetimeS * 1000);
    this.sweepTimer = options.env.clock.setInterval(() => this.sweep(), this.o.sweepIntervalMs);
  }

  /**
   * Handle one datagram received from `from` on the server's port. Returns false if it is
   * neither STUN nor ChannelData (someone else's), true otherwise (even if dropped).
   * Never throws on any input. The server may reuse `data` for what it sends (a
   * hairpinned ChannelData is forwarded in place; relayed payloads are views of it handed
   * to `sendOwned`), so callers must not use or reuse it afterwards.
   */
  handle(data: Uint8Array, from: Address): boolean {
    if (this.closed || data.length === 0) return false;
    const b0 = data[0]!;
    if (b0 >= 0x40 && b0 <= 0x7f) {
      this.onChannelData(data, from);
      return true;
    }
    if (b0 > 3) return false;
    let msg: StunMessage;
    try {
      msg = parseStun(data);
    } catch (err) {
      if (!(err instanceof StunError)) throw err;
      this.drop('malformed');
      return true;
    }
    if (!fingerprintOk(msg)) {
      this.drop('badFingerprint');
      return true;
    }
    try {
      if (msg.cls === StunClass.Request) this.onRequest(msg, from);
      else if (msg.cls === StunClass.Indication) this.onIndication(msg, from);
      else this.drop('unexpectedResponse');
    } catch (err) {
      if (err instanceof StunError) {
        // A malformed attribute in a request: 400, as RFC 8489 6.3 asks.
        if (msg.cls === StunClass.Request) this.sendError(msg, from, ErrorCode.BadRequest, undefined, err.message);
        else this.drop('malformed');
      } else {
        this.o.env.log.error({ err: String(err) }, 'TURN: unexpected error handling a message');
        this.drop('internalError');
      }
    }
    return true;
  }

  /** A snapshot of the counters. */
  stats(): TurnStats {
    return {
      ...this.counters,
      requests: { ...this.counters.requests },
      errors: { ...this.counters.errors },
      drops: { ...this.counters.drops },
    };
  }

  /** The relayed address of the allocation for `client`, if any (diagnostics, tests). */
  allocationFor(client: Address): { relayAddress: Address; expiresAt: number; permissions: number; channels: number } | undefined {
    const a = this.getAllocation(client);
    if (!a) return undefined;
    return { relayAddress: a.relayAddress, expiresAt: a.expires, permissions: a.permissions.size, channels: a.liveChannels };
  }

  /** Run the expiry sweep now (it also runs on a timer). */
  sweep(): void {
    const now = this.o.env.clock.now();
    for (const a of this.allocations.values()) {
      if (a.expires <= now) {
        this.counters.allocationsExpired++;
        this.removeAllocation(a);
        continue;
      }
      for (const [ip, p] of a.permissions) {
        if (p.expires <= now) {
          a.permissions.delete(ip);
          this.counters.permissions--;
        }
      }
      for (const ch of a.channels.values()) {
        if (ch.live && ch.expires <= now) {
          ch.live = false;
          a.liveChannels--;
          this.counters.channels--;
        }
        if (!ch.live && ch.expires + CHANNEL_HOLD_DOWN_MS <= now) this.removeChannel(a, ch);
      }
    }
    this.limiter.sweep(now);
    for (const [token, r] of this.reservations) {
      if (r.expires <= now) {
        r.socket.close();
        this.reservations.delete(token);
      }
    }
  }

  /** Close every relay socket and stop timers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sweepTimer.cancel();
    for (const a of this.allocations.values()) this.removeAllocation(a);
    for (const r of this.reservations.values()) r.socket.close();
    this.reservations.clear();
  }

  // ---- requests ------------------------------------------------------------------

  private onRequest(msg: StunMessage, from: Address): void {
    const name = METHOD_NAMES[msg.method];
    if (!name) {
      this.bump(this.counters.requests, 'unknown');
      this.sendError(msg, from, ErrorCode.BadRequest, undefined, 'Unknown method');
      return;
    }
    this.bump(this.counters.requests, name);
    if (msg.method === Method.Binding) {
      this.o.send(bindingResponse(msg, from, this.o.software || undefined), from);
      this.counters.bindingResponses++;
      return;
    }
    const unknown = msg.attributes.filter((a) => isComprehensionRequired(a.type) && !KNOWN.has(a.type)).map((a) => a.type);
    if (unknown.length > 0) {
      this.sendError(msg, from, ErrorCode.UnknownAttribute, undefined, undefined, (w) =>
        w.add(Attr.UnknownAttributes, encodeUnknownAttributes([...new Set(unknown)])),
      );
      return;
    }
    const auth = this.authenticate(msg, from);
    if (!auth) return;
    try {
      switch (msg.method) {
        case Method.Allocate:
          this.onAllocate(msg, from, auth);
          break;
        case Method.Refresh:
          this.onRefresh(msg, from, auth);
          break;
        case Method.CreatePermission:
          this.onCreatePermission(msg, from, auth);
          break;
        case Method.ChannelBind:
          this.onChannelBind(msg, from, auth);
          break;
      }
    } catch (err) {
      if (err instanceof Reject) this.sendError(msg, from, err.code, auth.key, undefined, err.extra);
      else if (err instanceof StunError) this.sendError(msg, from, ErrorCode.BadRequest, auth.key, err.message);
      else throw err;
    }
  }

  /** Long-term credential check (RFC 8489 9.2.4). Sends the error and returns undefined on failure. */
  private authenticate(msg: StunMessage, from: Address): Authed | undefined {
    const now = this.o.env.clock.now();
    const challenge = (w: StunWriter) => {
      w.add(Attr.Realm, encodeText(this.o.realm)).add(Attr.Nonce, encodeText(this.nonces.issue(from, now)));
    };
    if (msg.integrityOffset < 0 && msg.integritySha256Offset < 0) {
      this.sendError(msg, from, ErrorCode.Unauthorized, undefined, undefined, challenge);
      return undefined;
    }
    const u = getAttribute(msg, Attr.Username);
    const r = getAttribute(msg, Attr.Realm);
    const n = getAttribute(msg, Attr.Nonce);
    if (!u || !r || !n) {
      this.sendError(msg, from, ErrorCode.BadRequest, undefined, 'Missing USERNAME, REALM or NONCE');
      return undefined;
    }
    const username = decodeText(u, 513, 'USERNAME');
    const realm = decodeText(r, 763, 'REALM');
    const nonce = decodeText(n, 763, 'NONCE');
    if (!this.nonces.valid(nonce, from, now)) {
      this.sendError(msg, from, ErrorCode.StaleNonce, undefined, undefined, challenge);
      return undefined;
    }
    const rest = parseRestUsername(username, this.o.separator);
    if (realm !== this.o.realm || !rest || rest.expiresAt * 1000 <= now) {
      this.bump(this.counters.drops, 'badCredentials');
      this.sendError(msg, from, ErrorCode.Unauthorized, undefined, undefined, challenge);
      return undefined;
    }
    for (const secret of this.secrets) {
      const key = this.keyFor(secret, username);
      const ok = msg.integrityOffset >= 0 ? verifyIntegrity(msg, key) : verifyIntegritySha256(msg, key);
      if (ok) return { username, user: rest.user, key };
    }
    this.bump(this.counters.drops, 'badIntegrity');
    this.sendError(msg, from, ErrorCode.Unauthorized, undefined, undefined, challenge);
    return undefined;
  }

  private keyFor(secret: string, username: string): Uint8Array {
    const id = `${secret.length}:${secret}\0${username}`;
    let key = this.keyCache.get(id);
    if (!key) {
      key = longTermKey(username, this.o.realm, restPassword(secret, username));
      if (this.keyCache.size >= KEY_CACHE_MAX) this.keyCache.delete(this.keyCache.keys().next().value!);
      this.keyCache.set(id, key);
    }
    return key;
  }

  private onAllocate(msg: StunMessage, from: Address, auth: Authed): void {
    const tid = hex(msg.transactionId);
    const existing = this.getAllocation(from);
    if (existing) {
      if (existing.tid === tid) {
        this.o.send(existing.response, from); // a retransmission: same answer
        return;
      }
      throw new Reject(ErrorCode.AllocationMismatch);
    }
    const key = clientKey(from);
    if (this.pending.has(key)) {
      if (this.pending.get(key) === tid) return; // retransmission while the relay is being bound
      throw new Reject(ErrorCode.AllocationMismatch);
    }
    const rt = getAttribute(msg, Attr.RequestedTransport);
    if (!rt) throw new Reject(ErrorCode.BadRequest);
    if (decodeRequestedTransport(rt) !== TRANSPORT_UDP) throw new Reject(ErrorCode.UnsupportedTransportProtocol);
    const tokenAttr = getAttribute(msg, Attr.ReservationToken);
    const evenAttr = getAttribute(msg, Attr.EvenPort);
    const famAttr = getAttribute(msg, Attr.RequestedAddressFamily);
    if (tokenAttr && (evenAttr || famAttr)) throw new Reject(ErrorCode.BadRequest);
    const family = famAttr ? decodeRequestedFamily(famAttr) : 4;
    if (family === 6 && !this.o.relayHostV6) throw new Reject(ErrorCode.AddressFamilyNotSupported);
    const even = evenAttr ? decodeEvenPort(evenAttr) : undefined;
    const lifetimeAttr = getAttribute(msg, Attr.Lifetime);
    const lifetimeS = this.lifetime(lifetimeAttr ? decodeU32(lifetimeAttr, 'LIFETIME') : undefined);
    if (this.count + this.pending.size >= this.o.totalQuota) throw new Reject(ErrorCode.AllocationQuotaReached);
    if ((this.perUser.get(auth.user) ?? 0) >= this.o.userQuota) throw new Reject(ErrorCode.AllocationQuotaReached);
    let reserved: DatagramSocket | undefined;
    if (tokenAttr) {
      const token = decodeReservationToken(tokenAttr);
      const r = this.reservations.get(token);
      if (!r) throw new Reject(ErrorCode.InsufficientCapacity);
      this.reservations.delete(token);
      reserved = r.socket;
    }
    if (even?.reserve && this.reservations.size >= this.o.maxReservations) throw new Reject(ErrorCode.InsufficientCapacity);
    this.pending.set(key, tid);
    this.perUser.set(auth.user, (this.perUser.get(auth.user) ?? 0) + 1);
    const fingerprint = msg.fingerprintOffset >= 0;
    const release = () => {
      this.pending.delete(key);
      const left = (this.perUser.get(auth.user) ?? 1) - 1;
      if (left > 0) this.perUser.set(auth.user, left);
      else this.perUser.delete(auth.user);
    };
    const bound = reserved ? Promise.resolve({ socket: reserved, token: undefined }) : this.bindRelay(family, even);
    bound.then(
      ({ socket, token }) => {
        if (this.closed) {
          socket.close();
          return;
        }
        this.pending.delete(key);
        const external = family === 4 ? this.o.externalRelayHost : this.o.externalRelayHostV6!;
        const relayAddress = { host: external, port: socket.address.port };
        const now = this.o.env.clock.now();
        const w = new StunWriter(Method.Allocate, StunClass.SuccessResponse, msg.transactionId)
          .add(Attr.XorRelayedAddress, encodeAddress(relayAddress, true, msg.transactionId))
          .add(Attr.Lifetime, encodeU32(lifetimeS))
          .add(Attr.XorMappedAddress, encodeAddress(from, true, msg.transactionId));
        if (token) w.add(Attr.ReservationToken, token);
        if (this.o.software) w.add(Attr.Software, encodeText(this.o.software));
        const response = w.encode({ integrityKey: auth.key, fingerprint });
        const a: Allocation = {
          client: { host: from.host, port: from.port },
          username: auth.username,
          user: auth.user,
          key: auth.key,
          family,
          relay: socket,
          relayAddress,
          tid,
          response,
          expires: now + lifetimeS * 1000,
          permissions: new Map(),
          channels: new Map(),
          channelsByPeer: new AddrTable(),
          liveChannels: 0,
          stopListening: () => {},
          dataTid: this.o.env.random.bytes(12),
        };
        a.stopListening = socket.onMessage((data, peer) => this.onPeerData(a, data, peer));
        this.allocations.set(from.host, from.port, a);
        this.byRelay.set(relayAddress.host, relayAddress.port, a);
        this.count++;
        this.counters.allocations++;
        this.counters.allocationsCreated++;
        this.o.send(response, from);
      },
      (err: unknown) => {
        release();
        if (this.closed) return;
        this.o.env.log.warn({ err: String(err) }, 'TURN: cannot bind a relay socket');
        this.sendError(msg, from, ErrorCode.InsufficientCapacity, auth.key);
      },
    );
  }

  /** Bind a relay socket; with EVEN-PORT an even port, with R also reserve port + 1. */
  private async bindRelay(
    family: 4 | 6,
    even: { reserve: boolean } | undefined,
  ): Promise<{ socket: DatagramSocket; token: Uint8Array | undefined }> {
    const host = family === 4 ? this.o.relayHost : this.o.relayHostV6!;
    const net = this.o.env.net;
    const options: BindOptions = { host, receiveBufferBytes: this.o.relayRecvBufferSize };
    if (!even) return { socket: await net.bind(options), token: undefined };
    for (let attempt = 0; attempt < 32; attempt++) {
      const s = await net.bind(options);
      if (s.address.port % 2 !== 0 || s.address.port === 65534) {
        s.close();
        continue;
      }
      if (!even.reserve) return { socket: s, token: undefined };
      let next: DatagramSocket;
      try {
        next = await net.bind({ ...options, port: s.address.port + 1 });
      } catch {
        s.close();
        continue;
      }
      const token = this.o.env.random.bytes(8);
      this.reservations.set(hex(token), { socket: next, expires: this.o.env.clock.now() + RESERVATION_MS });
      return { socket: s, token };
    }
    throw new Error('no even port available');
  }

  private lifetime(requested: number | undefined): number {
    if (requested === undefined) return this.o.defaultLifetimeS;
    return Math.max(this.o.defaultLifetimeS, Math.min(requested, this.o.maxLifetimeS));
  }

  private existingFor(msg: StunMessage, from: Address, auth: Authed): Allocation {
    const a = this.getAllocation(from);
    if (!a || a.expires <= this.o.env.clock.now()) throw new Reject(ErrorCode.AllocationMismatch);
    if (a.username !== auth.username) throw new Reject(ErrorCode.WrongCredentials);
    return a;
  }

  private onRefresh(msg: StunMessage, from: Address, auth: Authed): void {
    const a = this.existingFor(msg, from, auth);
    const famAttr = getAttribute(msg, Attr.RequestedAddressFamily);
    if (famAttr && decodeRequestedFamily(famAttr) !== a.family) throw new Reject(ErrorCode.PeerAddressFamilyMismatch);
    const lifetimeAttr = getAttribute(msg, Attr.Lifetime);
    const requested = lifetimeAttr ? decodeU32(lifetimeAttr, 'LIFETIME') : undefined;
    let lifetimeS: number;
    if (requested === 0) {
      lifetimeS = 0;
      this.counters.allocationsDeleted++;
      this.removeAllocation(a);
    } else {
      lifetimeS = this.lifetime(requested);
      a.expires = this.o.env.clock.now() + lifetimeS * 1000;
    }
    this.sendSuccess(msg, from, auth.key, (w) => w.add(Attr.Lifetime, encodeU32(lifetimeS)));
  }

  private peerAddresses(msg: StunMessage, a: Allocation): StunAddress[] {
    const values = getAttributes(msg, Attr.XorPeerAddress);
    if (values.length === 0) throw new Reject(ErrorCode.BadRequest);
    const peers = values.map((v) => decodeAddress(v, true, msg.transactionId));
    for (const p of peers) {
      if (p.family !== a.family) throw new Reject(ErrorCode.PeerAddressFamilyMismatch);
      if (!this.peers.allows(p.host)) {
        this.bump(this.counters.drops, 'forbiddenPeer');
        throw new Reject(ErrorCode.Forbidden);
      }
    }
    return peers;
  }

  private onCreatePermission(msg: StunMessage, from: Address, auth: Authed): void {
    const a = this.existingFor(msg, from, auth);
    const peers = this.peerAddresses(msg, a);
    const fresh = new Set(peers.map((p) => p.host).filter((h) => !a.permissions.has(h)));
    if (a.permissions.size + fresh.size > this.o.maxPermissionsPerAllocation) throw new Reject(ErrorCode.InsufficientCapacity);
    const expires = this.o.env.clock.now() + this.o.permissionLifetimeS * 1000;
    for (const p of peers) this.installPermission(a, p.host, expires);
    this.sendSuccess(msg, from, auth.key);
  }

  private installPermission(a: Allocation, ip: string, expires: number): Permission {
    let p = a.permissions.get(ip);
    if (p) p.expires = expires;
    else {
      p = { expires };
      a.permissions.set(ip, p);
      this.counters.permissions++;
      this.counters.permissionsCreated++;
    }
    return p;
  }

  private onChannelBind(msg: StunMessage, from: Address, auth: Authed): void {
    const a = this.existingFor(msg, from, auth);
    const cn = getAttribute(msg, Attr.ChannelNumber);
    if (!cn) throw new Reject(ErrorCode.BadRequest);
    const number = decodeChannelNumber(cn);
    if (number < CHANNEL_MIN || number > CHANNEL_MAX) throw new Reject(ErrorCode.BadRequest);
    const peers = this.peerAddresses(msg, a);
    if (peers.length !== 1) throw new Reject(ErrorCode.BadRequest);
    const peer = peers[0]!;
    const now = this.o.env.clock.now();
    // Bound or in its hold-down after expiry, a number stays with its peer and a peer
    // with its number (RFC 8656 12); refreshing or re-binding the same pair is fine.
    const byNumber = a.channels.get(number);
    const byPeer = a.channelsByPeer.get(peer.host, peer.port);
    if (byNumber && (byNumber.peer.host !== peer.host || byNumber.peer.port !== peer.port)) throw new Reject(ErrorCode.BadRequest);
    if (byPeer && byPeer.number !== number) throw new Reject(ErrorCode.BadRequest);
    const permissionNew = !a.permissions.has(peer.host);
    if (permissionNew && a.permissions.size >= this.o.maxPermissionsPerAllocation) throw new Reject(ErrorCode.InsufficientCapacity);
    if (!byNumber?.live && a.liveChannels >= this.o.maxChannelsPerAllocation) throw new Reject(ErrorCode.InsufficientCapacity);
    const expires = now + this.o.channelLifetimeS * 1000;
    const perm = this.installPermission(a, peer.host, now + this.o.permissionLifetimeS * 1000);
    if (byNumber) {
      byNumber.expires = expires;
      byNumber.perm = perm;
      if (!byNumber.live) {
        byNumber.live = true;
        a.liveChannels++;
        this.counters.channels++;
      }
    } else {
      const ch: Channel = { number, peer: { host: peer.host, port: peer.port }, expires, live: true, perm };
      a.channels.set(number, ch);
      a.channelsByPeer.set(peer.host, peer.port, ch);
      a.liveChannels++;
      this.counters.channels++;
      this.counters.channelsCreated++;
    }
    this.sendSuccess(msg, from, auth.key);
  }

  // ---- data ----------------------------------------------------------------------
  // The per-datagram paths: no string keys built, no closures, one allocation at most
  // (the ChannelData or Data indication toward a client; payloads toward peers are views).

  private onIndication(msg: StunMessage, from: Address): void {
    if (msg.method !== Method.Send) {
      if (msg.method !== Method.Binding) this.drop('unexpectedIndication');
      return;
    }
    const a = this.allocations.get(from.host, from.port);
    const now = this.o.env.clock.now();
    if (!a || a.expires <= now) return this.drop('noAllocation');
    if (msg.attributes.some((x) => isComprehensionRequired(x.type) && !KNOWN.has(x.type))) return this.drop('unknownAttribute');
    const peerAttr = getAttribute(msg, Attr.XorPeerAddress);
    const data = getAttribute(msg, Attr.Data);
    if (!peerAttr || !data) return this.drop('badIndication');
    const peer = decodeAddress(peerAttr, true, msg.transactionId);
    if (peer.family !== a.family) return this.drop('familyMismatch');
    // A permission is only ever installed for a peer the (fixed) policy allows.
    const perm = a.permissions.get(peer.host);
    if (perm === undefined) return this.drop(this.peers.allows(peer.host) ? 'noPermission' : 'forbiddenPeer');
    if (perm.expires <= now) return this.drop('noPermission');
    if (data.length > this.o.maxPayload) return this.drop('tooLarge');
    this.toPeer(a, data, peer, undefined);
  }

  /**
   * Send `payload` from allocation `a`'s relayed address to `peer`. `frame`, if given, is
   * the client's whole ChannelData datagram around `payload`: a hairpinned packet that
   * leaves as ChannelData reuses it, rewriting only the channel number.
   */
  private toPeer(a: Allocation, payload: Uint8Array, peer: Address, frame: Uint8Array | undefined): void {
    this.counters.relayedToPeerPackets++;
    this.counters.relayedToPeerBytes += payload.length;
    if (this.o.hairpin) {
      const b = this.byRelay.get(peer.host, peer.port);
      if (b !== undefined) {
        this.counters.hairpinPackets++;
        this.onPeerData(b, payload, a.relayAddress, frame);
        return;
      }
    }
    // The payload is a view of a datagram we received and own: no copy needed.
    if (a.relay.sendOwned) a.relay.sendOwned(payload, peer);
    else a.relay.send(payload, peer);
  }

  /** ChannelData from a client (RFC 8656 12.4), checked without any STUN parsing. */
  private onChannelData(data: Uint8Array, from: Address): void {
    const n = data.length;
    if (n < 4) return this.drop('malformed');
    const len = (data[2]! << 8) | data[3]!;
    if (4 + len > n || n > 4 + ((len + 3) & ~3)) return this.drop('malformed');
    const a = this.allocations.get(from.host, from.port);
    if (a === undefined) return this.drop('noAllocation');
    const now = this.o.env.clock.now();
    if (a.expires <= now) return this.drop('noAllocation');
    const ch = a.channels.get((data[0]! << 8) | data[1]!);
    if (ch === undefined || ch.expires <= now) return this.drop('noChannel');
    if (!this.permitted(a, ch, now)) return this.drop('noPermission');
    if (len > this.o.maxPayload) return this.drop('tooLarge');
    const payload = data.subarray(4, 4 + len);
    this.toPeer(a, payload, ch.peer, this.o.hairpin ? (n === 4 + len ? data : data.subarray(0, 4 + len)) : undefined);
  }

  /** A datagram from `peer` to allocation `a`'s relayed address: forward it to the client. */
  private onPeerData(a: Allocation, data: Uint8Array, peer: Address, frame?: Uint8Array): void {
    const now = this.o.env.clock.now();
    if (a.expires <= now) return this.drop('noAllocation');
    const len = data.length;
    if (len > this.o.maxPayload) return this.drop('tooLarge');
    const ch = a.channelsByPeer.get(peer.host, peer.port);
    let out: Uint8Array;
    if (ch !== undefined && ch.expires > now) {
      if (!this.permitted(a, ch, now)) return this.drop('noPermission');
      if (frame !== undefined) {
        out = frame; // same length and layout: only the channel number differs
      } else {
        out = new Uint8Array(4 + len);
        out[2] = len >> 8;
        out[3] = len & 0xff;
        out.set(data, 4);
      }
      out[0] = ch.number >> 8;
      out[1] = ch.number & 0xff;
    } else {
      const perm = a.permissions.get(peer.host);
      if (perm === undefined || perm.expires <= now) return this.drop('noPermission');
      const tid = a.dataTid;
      for (let i = 11; i >= 0 && ++tid[i]! === 256; i--) tid[i] = 0;
      out = new StunWriter(Method.Data, StunClass.Indication, tid)
        .add(Attr.XorPeerAddress, encodeAddress(peer, true, tid))
        .add(Attr.Data, data)
        .encode();
    }
    this.sendRelayed(out, a.client);
    this.counters.relayedToClientPackets++;
    this.counters.relayedToClientBytes += len;
  }

  /** True if `ch`'s peer has a permission at `now` (the channel caches it). */
  private permitted(a: Allocation, ch: Channel, now: number): boolean {
    if (ch.perm.expires > now) return true;
    const p = a.permissions.get(ch.peer.host);
    if (p === undefined || p.expires <= now) return false;
    ch.perm = p;
    return true;
  }

  // ---- helpers -------------------------------------------------------------------

  private getAllocation(client: Address): Allocation | undefined {
    return this.allocations.get(client.host, client.port);
  }

  private removeChannel(a: Allocation, ch: Channel): void {
    a.channels.delete(ch.number);
    a.channelsByPeer.delete(ch.peer.host, ch.peer.port);
    if (ch.live) {
      a.liveChannels--;
      this.counters.channels--;
    }
  }

  private removeAllocation(a: Allocation): void {
    if (this.allocations.get(a.client.host, a.client.port) !== a) return;
    this.allocations.delete(a.client.host, a.client.port);
    if (this.byRelay.get(a.relayAddress.host, a.relayAddress.port) === a) this.byRelay.delete(a.relayAddress.host, a.relayAddress.port);
    a.stopListening();
    a.relay.close();
    this.count--;
    this.counters.allocations--;
    this.counters.permissions -= a.permissions.size;
    this.counters.channels -= a.liveChannels;
    const left = (this.perUser.get(a.user) ?? 1) - 1;
    if (left > 0) this.perUser.set(a.user, left);
    else this.perUser.delete(a.user);
  }

  private sendSuccess(msg: StunMessage, to: Address, key: Uint8Array, extra?: (w: StunWriter) => void): void {
    const w = new StunWriter(msg.method, StunClass.SuccessResponse, msg.transactionId);
    extra?.(w);
    if (this.o.software) w.add(Attr.Software, encodeText(this.o.software));
    this.o.send(w.encode({ integrityKey: key, fingerprint: msg.fingerprintOffset >= 0 }), to);
  }

  private sendError(
    msg: StunMessage,
    to: Address,
    code: number,
    key?: Uint8Array,
    reason?: string,
    extra?: (w: StunWriter) => void,
  ): void {
    // Unauthenticated answers cost an attacker nothing to trigger with a spoofed source:
    // limit them per source IP (see challenge-limiter.ts).
    if (!key && !this.limiter.allow(to.host, this.o.env.clock.now())) {
      this.drop('challengeRateLimited');
      return;
    }
    this.bump(this.counters.errors, code);
    const w = new StunWriter(msg.method, StunClass.ErrorResponse, msg.transactionId).add(
      Attr.ErrorCode,
      encodeErrorCode(code, reason),
    );
    extra?.(w);
    if (this.o.software) w.add(Attr.Software, encodeText(this.o.software));
    // Responses to authenticated requests carry MESSAGE-INTEGRITY, except these (RFC 8489 9.2.4).
    const integrityKey = key && code !== 400 && code !== 401 && code !== 420 && code !== 438 ? key : undefined;
    this.o.send(w.encode({ integrityKey, fingerprint: msg.fingerprintOffset >= 0 }), to);
  }

  private drop(reason: string): void {
    this.bump(this.counters.drops, reason);
  }

  private bump<K extends string | number>(table: Record<K, number>, key: K): void {
    table[key] = (table[key] ?? 0) + 1;
  }
}

function clientKey(a: Address): string {
  return `${a.host}|${a.port}`;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
