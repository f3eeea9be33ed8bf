/**
 * A small TURN client (RFC 8656 over UDP) on a `DatagramSocket`: Allocate with
 * long-term credentials (answering 401/438 challenges), Refresh, CreatePermission,
 * ChannelBind, Send indications / ChannelData out, Data indications / ChannelData in.
 * Used by tests and by supernode health checks; media itself uses werift's client.
 *
 * @example
 * ```ts
 * const socket = await env.net.bind({ host: '127.0.0.1' });
 * const c = new TurnClient({ socket, clock: env.clock, random: env.random, server, username, password });
 * const { relayed } = await c.allocate();
 * await c.createPermission(peer);
 * await c.channelBind(peer, 0x4000);
 * c.onData((data, from) => console.log(from, data));
 * c.send(peer, new TextEncoder().encode('hi'));
 * ```
 * @module
 */
import type { Clock, Timer } from '../../src/clock.ts';
import type { Random } from '../../src/random.ts';
import type { Address, DatagramSocket } from '../../src/net/net.ts';
import { Attr, Method, StunClass, TRANSPORT_UDP } from '../stun/constants.ts';
import {
  decodeAddress,
  decodeErrorCode,
  decodeText,
  decodeU32,
  encodeAddress,
  encodeChannelNumber,
  encodeRequestedTransport,
  encodeText,
  encodeU32,
  type StunAddress,
} from '../stun/attributes.ts';
import { verifyIntegrity } from '../stun/integrity.ts';
import { StunError, StunWriter, getAttribute, parseStun, type StunMessage } from '../stun/message.ts';
import { decodeChannelData, encodeChannelData } from './channel-data.ts';
import { longTermKey } from './credentials.ts';

/** A request that failed with a STUN error response (or timed out: code 0). */
export class TurnClientError extends Error {
  override readonly name = 'TurnClientError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Options for {@link TurnClient}. */
export interface TurnClientOptions {
  socket: DatagramSocket;
  clock: Clock;
  random: Random;
  server: Address;
  username: string;
  password: string;
  /** First retransmission timeout, ms (doubles each time); default 250. */
  rtoMs?: number;
  /** Transmissions per request; default 5. */
  attempts?: number;
}

interface Pending {
  resolve(msg: StunMessage): void;
  reject(err: Error): void;
  timer: Timer;
}

/** Result of {@link TurnClient.allocate}. */
export interface AllocateResult {
  relayed: StunAddress;
  mapped: StunAddress;
  lifetime: number;
}

/** See module docs. */
export class TurnClient {
  private readonly pending = new Map<string, Pending>();
  private realm: string | undefined;
  private nonce: string | undefined;
  private key: Uint8Array | undefined;
  private readonly channels = new Map<string, number>();
  private readonly channelPeers = new Map<number, Address>();
  private handlers: ((data: Uint8Array, from: Address) => void)[] = [];
  private readonly stopListening: () => void;
  private closed = false;

  constructor(private readonly o: TurnClientOptions) {
    this.stopListening = o.socket.onMessage((data, from) => this.onMessage(data, from));
  }

  /** Receive relayed data (from Data indications and ChannelData). */
  onData(handler: (data: Uint8Array, from: Address) => void): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  /** Allocate a relayed UDP address. */
  async allocate(lifetimeS?: number): Promise<AllocateResult> {
    const res = await this.request(Method.Allocate, (w) => {
      w.add(Attr.RequestedTransport, encodeRequestedTransport(TRANSPORT_UDP));
      if (lifetimeS !== undefined) w.add(Attr.Lifetime, encodeU32(lifetimeS));
    });
    const relayed = getAttribute(res, Attr.XorRelayedAddress);
    const mapped = getAttribute(res, Attr.XorMappedAddress);
    const lifetime = getAttribute(res, Attr.Lifetime);
    if (!relayed || !mapped || !lifetime) throw new TurnClientError(0, 'Allocate response lacks addresses or LIFETIME');
    return {
      relayed: decodeAddress(relayed, true, res.transactionId),
      mapped: decodeAddress(mapped, true, res.transactionId),
      lifetime: decodeU32(lifetime),
    };
  }

  /** Refresh the allocation; 0 deletes it. Returns the granted lifetime. */
  async refresh(lifetimeS: number): Promise<number> {
    const res = await this.request(Method.Refresh, (w) => w.add(Attr.Lifetime, encodeU32(lifetimeS)));
    const l = getAttribute(res, Attr.Lifetime);
    return l ? decodeU32(l) : 0;
  }

  /** Install or refresh permissions for the peers' IP addresses. */
  async createPermission(...peers: Address[]): Promise<void> {
    await this.request(Method.CreatePermission, (w, tid) => {
      for (const p of peers) w.add(Attr.XorPeerAddress, encodeAddress(p, true, tid));
    });
  }

  /** Bind `channel` (0x4000-0x4FFF) to `peer`; later sends to `peer` use ChannelData. */
  async channelBind(peer: Address, channel: number): Promise<void> {
    await this.request(Method.ChannelBind, (w, tid) => {
      w.add(Attr.ChannelNumber, encodeChannelNumber(channel)).add(Attr.XorPeerAddress, encodeAddress(peer, true, tid));
    });
    this.channels.set(`${peer.host}|${peer.port}`, channel);
    this.channelPeers.set(channel, { host: peer.host, port: peer.port });
  }

  /** Relay `data` to `peer`: ChannelData if a channel is bound, else a Send indication. */
  send(peer: Address, data: Uint8Array): void {
    const ch = this.channels.get(`${peer.host}|${peer.port}`);
    if (ch !== undefined) {
      this.o.socket.send(encodeChannelData(ch, data), this.o.server);
      return;
    }
    const tid = this.o.random.bytes(12);
    const msg = new StunWriter(Method.Send, StunClass.Indication, tid)
      .add(Attr.XorPeerAddress, encodeAddress(peer, true, tid))
      .add(Attr.Data, data)
      .encode();
    this.o.socket.send(msg, this.o.server);
  }

  /** Stop listening and fail outstanding requests (the socket is the caller's). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.reject(new TurnClientError(0, 'client closed'));
    }
    this.pending.clear();
  }

  /**
   * Send any request (authenticated once challenged) and resolve with the success
   * response; rejects with {@link TurnClientError} on an error response or timeout.
   */
  async request(method: number, fill: (w: StunWriter, tid: Uint8Array) => void): Promise<StunMessage> {
    for (let round = 0; round < 3; round++) {
      const tid = this.o.random.bytes(12);
      const w = new StunWriter(method, StunClass.Request, tid);
      fill(w, tid);
      if (this.key && this.realm && this.nonce) {
        w.add(Attr.Username, encodeText(this.o.username))
          .add(Attr.Realm, encodeText(this.realm))
          .add(Attr.Nonce, encodeText(this.nonce));
      }
      const res = await this.transact(tid, this.key ? w.encode({ integrityKey: this.key, fingerprint: true }) : w.encode({ fingerprint: true }));
      if (res.cls === StunClass.SuccessResponse) {
        if (this.key && !verifyIntegrity(res, this.key)) throw new TurnClientError(0, 'response failed MESSAGE-INTEGRITY');
        return res;
      }
      const ec = getAttribute(res, Attr.ErrorCode);
      const err = ec ? decodeErrorCode(ec) : { code: 0, reason: 'error response without ERROR-CODE' };
      const realm = getAttribute(res, Attr.Realm);
      const nonce = getAttribute(res, Attr.Nonce);
      if ((err.code === 401 && !this.key) || err.code === 438) {
        if (!nonce || (!realm && !this.realm)) throw new TurnClientError(err.code, `${err.code} without REALM/NONCE`);
        this.nonce = decodeText(nonce, 763);
        if (realm) this.realm = decodeText(realm, 763);
        this.key = longTermKey(this.o.username, this.realm!, this.o.password);
        continue;
      }
      throw new TurnClientError(err.code, `${err.code} ${err.reason}`);
    }
    throw new TurnClientError(401, 'authentication failed');
  }

  private transact(tid: Uint8Array, bytes: Uint8Array): Promise<StunMessage> {
    const id = hex(tid);
    const rto = this.o.rtoMs ?? 250;
    const attempts = this.o.attempts ?? 5;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new TurnClientError(0, 'client closed'));
      let sent = 0;
      const fire = () => {
        if (sent >= attempts) {
          this.pending.delete(id);
          reject(new TurnClientError(0, `no response after ${attempts} transmissions`));
          return;
        }
        this.o.socket.send(bytes, this.o.server);
        const p = this.pending.get(id);
        if (p) p.timer = this.o.clock.setTimeout(fire, rto * 2 ** sent);
        sent++;
      };
      this.pending.set(id, { resolve, reject, timer: { cancel() {} } });
      fire();
    });
  }

  private onMessage(data: Uint8Array, from: Address): void {
    if (from.host !== this.o.server.host || from.port !== this.o.server.port || data.length === 0) return;
    const cd = decodeChannelData(data);
    if (cd) {
      const peer = this.channelPeers.get(cd.channel);
      if (peer) for (const h of this.handlers) h(cd.payload, peer);
      return;
    }
    let msg: StunMessage;
    try {
      msg = parseStun(data);
    } catch (err) {
      if (err instanceof StunError) return;
      throw err;
    }
    if (msg.cls === StunClass.Indication && msg.method === Method.Data) {
      const p = getAttribute(msg, Attr.XorPeerAddress);
      const d = getAttribute(msg, Attr.Data);
      if (!p || !d) return;
      let peer: StunAddress;
      try {
        peer = decodeAddress(p, true, msg.transactionId);
      } catch {
        return;
      }
      for (const h of this.handlers) h(d, peer);
      return;
    }
    if (msg.cls === StunClass.SuccessResponse || msg.cls === StunClass.ErrorResponse) {
      const id = hex(msg.transactionId);
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      p.timer.cancel();
      p.resolve(msg);
    }
  }
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
