/**
 * The simulator's link layer for {@link OverlayNode} (its `links` option): the same
 * packet sizes as Noise sessions (INIT {@link INIT_LEN}, RESP {@link RESP_LEN}, FINISH
 * {@link FINISH_LEN}, DATA with a 13-byte header and a 16-byte tag, empty DATA as
 * keepalive) but no cryptography, no rekeys. See sim-links.ts for the stand-in node's
 * variant; this one speaks OverlayNode's {@link OverlayLinks} interface (peers named by
 * their link-key ID).
 *
 * Authentication by simulated addressing: INIT and RESP carry the sender's 32-byte link
 * key; the receiver accepts it only if the {@link SimKeyDirectory} says the node owning
 * that key currently sends from the packet's public IP (SimNet cannot spoof). The
 * initiator also checks that the key is the one it dialled. Passive keepalive as in
 * sessions: an empty DATA is answered unless we sent something in the last 10 s.
 *
 * ```
 * INIT    E0 | sender-link u32 | key[32] | zero padding            (INIT_LEN bytes)
 * RESP    E1 | sender-link u32 | receiver-link u32 | key[32] | pad (RESP_LEN bytes)
 * FINISH  E2 | receiver-link u32 | pad                            (FINISH_LEN bytes)
 * DATA    E3 | receiver-link u32 | counter u64 | payload | tag[16]
 * ```
 *
 * @example
 * ```ts
 * const keys = new SimKeyDirectory();
 * let host!: SimHost;
 * const node = new OverlayNode({ ...env, net: host = sim.addHost(ip) }, { ..., links: simOverlayLinks(keys, () => host) });
 * ```
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Timer } from '../../clock.ts';
import type { Address } from '../../net/net.ts';
import type { SimHost } from '../../net/sim.ts';
import { HandlerSet } from '../../wire/channel.ts';
import { DATA_HEADER_LEN, FINISH_LEN, INIT_LEN, RESP_LEN } from '../../wire/session/packets.ts';
import { TAGLEN } from '../../wire/noise/crypto.ts';
import type { LinksContext, LinksFactory, OverlayLink, OverlayLinks } from '../links.ts';
import { toHex } from '../node-id.ts';

const INIT = 0xe0;
const RESP = 0xe1;
const FINISH = 0xe2;
const DATA = 0xe3;
const EMPTY = new Uint8Array(0);

/** Which host owns which link key: the simulator's authentication oracle. */
export class SimKeyDirectory {
  private readonly owners = new Map<string, () => SimHost | undefined>();

  /** Register the owner of link key ID `peerId` (hex). */
  register(peerId: string, host: () => SimHost | undefined): void {
    this.owners.set(peerId, host);
  }

  /** Forget a key (its node is gone). */
  unregister(peerId: string): void {
    this.owners.delete(peerId);
  }

  /** The public IP the owner of `peerId` sends from, if it is online. */
  publicIpOf(peerId: string): string | undefined {
    const h = this.owners.get(peerId)?.();
    return h && !h.closed ? h.publicIp : undefined;
  }

  /** Number of registered keys. */
  get size(): number {
    return this.owners.size;
  }
}

/** Options of {@link simOverlayLinks}. */
export interface SimOverlayLinksOptions {
  /** Close a link after this long without receiving (default 180 s, as sessions). */
  idleTimeoutMs?: number;
  /** Answer a keepalive unless we sent within this long (default 10 s, as sessions). */
  passiveKeepaliveMs?: number;
  /** Handshake: first retransmission (250 ms, doubling to 2 s) and give-up time (10 s). */
  handshakeRetryMs?: number;
  handshakeTimeoutMs?: number;
}

class Link implements OverlayLink {
  user?: unknown;
  remoteId = -1;
  established = false;
  closed = false;
  lastReceived: number;
  lastSent = 0;
  counter = 0;
  tries = 0;
  timer: Timer | undefined;
  queue: Uint8Array[] | undefined = [];
  readonly handlers = new HandlerSet<Uint8Array>();
  readonly closeHandlers = new HandlerSet<string>();
  settle: ((error?: Error) => void) | undefined;

  constructor(
    private readonly owner: SimOverlayLinks,
    readonly id: number,
    readonly peerId: string,
    public peerKey: Uint8Array,
    public address: Address,
    readonly initiator: boolean,
    now: number,
  ) {
    this.lastReceived = now;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  lastReceivedAt(): number {
    return this.lastReceived;
  }

  keepalive(): void {
    if (!this.closed && this.established) this.owner.sendData(this, EMPTY);
  }

  send(payload: Uint8Array): void {
    if (this.closed) return;
    if (!this.established) {
      if (this.queue!.length < 64) this.queue!.push(payload);
      return;
    }
    this.owner.sendData(this, payload);
  }

  onMessage(handler: (payload: Uint8Array) => void): () => void {
    return this.handlers.add(handler);
  }

  onClose(handler: (reason: string) => void): () => void {
    return this.closeHandlers.add(handler);
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.queue = undefined;
    this.settle?.(new Error(`link closed: ${reason}`));
    this.owner.forget(this);
    this.handlers.clear();
    this.closeHandlers.emit(reason);
    this.closeHandlers.clear();
  }
}

class SimOverlayLinks implements OverlayLinks {
  private readonly byId = new Map<number, Link>();
  private readonly byPeer = new Map<string, Link>();
  private readonly handlers: ((l: OverlayLink, inbound: boolean) => void)[] = [];
  private readonly key: Uint8Array;
  private readonly selfId: string;
  private readonly idleMs: number;
  private readonly passiveMs: number;
  private readonly retryMs: number;
  private readonly handshakeMs: number;
  private readonly sweeper: Timer;
  private nextId = 1;
  private closedAll = false;

  constructor(
    private readonly ctx: LinksContext,
    private readonly keys: SimKeyDirectory,
    host: () => SimHost | undefined,
    options: SimOverlayLinksOptions,
  ) {
    this.key = ctx.identity.publicKey;
    this.selfId = toHex(sha256(this.key));
    this.idleMs = options.idleTimeoutMs ?? 180_000;
    this.passiveMs = options.passiveKeepaliveMs ?? 10_000;
    this.retryMs = options.handshakeRetryMs ?? 250;
    this.handshakeMs = options.handshakeTimeoutMs ?? 10_000;
    keys.register(this.selfId, host);
    this.sweeper = ctx.clock.setInterval(() => this.sweep(), Math.max(1000, Math.min(30_000, this.idleMs / 4)));
  }

  get size(): number {
    return this.byId.size;
  }

  connect(address: Address, peerId: string, signal?: AbortSignal): Promise<OverlayLink> {
    const existing = this.byPeer.get(peerId);
    if (existing && !existing.closed && existing.established) return Promise.resolve(existing);
    if (this.closedAll) return Promise.reject(new Error('links closed'));
    return new Promise<OverlayLink>((resolve, reject) => {
      const link = existing && !existing.closed && existing.initiator ? existing : this.newLink(peerId, new Uint8Array(32), address, true);
      const prev = link.settle;
      const onAbort = () => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      link.settle = (error) => {
        prev?.(error);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(link);
      };
      if (link.tries === 0) this.sendInit(link);
    });
  }

  get(peerId: string): OverlayLink | undefined {
    const l = this.byPeer.get(peerId);
    return l && !l.closed && l.established ? l : undefined;
  }

  onLink(h: (l: OverlayLink, inbound: boolean) => void): () => void {
    this.handlers.push(h);
    return () => {
      const i = this.handlers.indexOf(h);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  close(): void {
    if (this.closedAll) return;
    this.closedAll = true;
    this.sweeper.cancel();
    for (const l of [...this.byId.values()]) l.close('links closed');
    this.keys.unregister(this.selfId);
  }

  forget(link: Link): void {
    if (this.byId.get(link.id) === link) this.byId.delete(link.id);
    if (this.byPeer.get(link.peerId) === link) this.byPeer.delete(link.peerId);
  }

  sendData(link: Link, payload: Uint8Array): void {
    const out = new Uint8Array(DATA_HEADER_LEN + payload.byteLength + TAGLEN);
    out[0] = DATA;
    writeU32(out, 1, link.remoteId);
    writeU32(out, 5, link.counter++);
    out.set(payload, DATA_HEADER_LEN);
    link.lastSent = this.ctx.clock.now();
    this.ctx.send(out, link.address);
  }

  receive(data: Uint8Array, from: Address): void {
    if (this.closedAll || data.byteLength < 5) return;
    const now = this.ctx.clock.now();
    switch (data[0]) {
      case DATA: {
        if (data.byteLength < DATA_HEADER_LEN + TAGLEN) return;
        const link = this.byId.get(readU32(data, 1));
        if (!link || link.closed || !sameAddress(link.address, from)) return;
        link.lastReceived = now;
        if (!link.established) {
          if (link.initiator) return;
          this.establish(link, true); // DATA overtook FINISH
        }
        if (data.byteLength === DATA_HEADER_LEN + TAGLEN) {
          if (now - link.lastSent >= this.passiveMs) this.sendData(link, EMPTY);
          return;
        }
        link.handlers.emit(data.subarray(DATA_HEADER_LEN, data.byteLength - TAGLEN));
        return;
      }
      case INIT: {
        if (data.byteLength !== INIT_LEN) return;
        const remoteId = readU32(data, 1);
        const key = data.slice(5, 37);
        const peerId = toHex(sha256(key));
        if (peerId === this.selfId || this.keys.publicIpOf(peerId) !== from.host) return;
        let link = this.byPeer.get(peerId);
        if (!(link && !link.initiator && link.remoteId === remoteId && sameAddress(link.address, from))) {
          if (link && link.initiator && !link.established && this.selfId < peerId) return; // simultaneous open: lower ID keeps its own
          if (!this.ctx.authorize(peerId, from) || this.byId.size >= this.ctx.maxLinks) return;
          link = this.newLink(peerId, key, { host: from.host, port: from.port }, false);
          link.remoteId = remoteId;
        }
        link.lastReceived = now;
        const p = new Uint8Array(RESP_LEN);
        p[0] = RESP;
        writeU32(p, 1, link.id);
        writeU32(p, 5, remoteId);
        p.set(this.key, 9);
        link.lastSent = now;
        this.ctx.send(p, from);
        return;
      }
      case RESP: {
        if (data.byteLength !== RESP_LEN) return;
        const link = this.byId.get(readU32(data, 5));
        if (!link || link.closed || !link.initiator || !sameAddress(link.address, from)) return;
        const key = data.slice(9, 41);
        const peerId = toHex(sha256(key));
        if (peerId !== link.peerId || this.keys.publicIpOf(peerId) !== from.host) {
          link.close('handshake: not the peer dialled');
          return;
        }
        link.peerKey = key;
        link.lastReceived = now;
        link.remoteId = readU32(data, 1);
        const p = new Uint8Array(FINISH_LEN);
        p[0] = FINISH;
        writeU32(p, 1, link.remoteId);
        link.lastSent = now;
        this.ctx.send(p, from);
        if (!link.established) this.establish(link, false);
        return;
      }
      case FINISH: {
        if (data.byteLength !== FINISH_LEN) return;
        const link = this.byId.get(readU32(data, 1));
        if (!link || link.closed || link.initiator || !sameAddress(link.address, from)) return;
        link.lastReceived = now;
        if (!link.established) this.establish(link, true);
        return;
      }
    }
  }

  private newLink(peerId: string, key: Uint8Array, address: Address, initiator: boolean): Link {
    let id = this.nextId;
    while (this.byId.has(id) || id === 0) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    const link = new Link(this, id, peerId, key, address, initiator, this.ctx.clock.now());
    this.byId.set(id, link);
    const old = this.byPeer.get(peerId);
    if (old && old !== link) old.close('replaced');
    this.byPeer.set(peerId, link);
    return link;
  }

  private sendInit(link: Link): void {
    const p = new Uint8Array(INIT_LEN);
    p[0] = INIT;
    writeU32(p, 1, link.id);
    p.set(this.key, 5);
    this.ctx.send(p, link.address);
    const wait = Math.min(2000, this.retryMs * 2 ** link.tries);
    link.tries++;
    link.timer = this.ctx.clock.setTimeout(() => {
      link.timer = undefined;
      if (link.closed || link.established) return;
      if (this.ctx.clock.now() - link.lastReceived >= this.handshakeMs) link.close('handshake timed out');
      else this.sendInit(link);
    }, wait);
  }

  private establish(link: Link, inbound: boolean): void {
    link.established = true;
    link.timer?.cancel();
    link.timer = undefined;
    const q = link.queue;
    link.queue = undefined;
    for (const h of this.handlers) h(link, inbound);
    if (q) for (const payload of q) this.sendData(link, payload);
    const settle = link.settle;
    link.settle = undefined;
    settle?.();
  }

  private sweep(): void {
    const limit = this.ctx.clock.now() - this.idleMs;
    for (const l of [...this.byId.values()]) if (l.established && l.lastReceived < limit) l.close('idle');
  }
}

/** A {@link LinksFactory} of simulated links; see module docs. */
export function simOverlayLinks(keys: SimKeyDirectory, host: () => SimHost | undefined, options: SimOverlayLinksOptions = {}): LinksFactory {
  return (ctx) => new SimOverlayLinks(ctx, keys, host, options);
}

function sameAddress(a: Address, b: Address): boolean {
  return a.host === b.host && a.port === b.port;
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
