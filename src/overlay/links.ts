/**
 * Links: the overlay node's authenticated channels to its peers, behind one small
 * interface so the simulator can swap the Noise sessions for something cheaper.
 *
 * {@link OverlayLinks} is what {@link OverlayNode} uses: open (or reuse) a link to the
 * node with a given link-key ID at an address, be told of links peers opened, feed
 * received datagrams. The default, {@link sessionLinks}, is the wire layer's
 * SessionManager (Noise XX, identity-bound); a simulator passes its own
 * {@link LinksFactory} (e.g. links authenticated by SimNet addressing with session-sized
 * packets).
 *
 * @module
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Address } from '../net/net.ts';
import type { Random } from '../random.ts';
import type { MessageChannel } from '../wire/channel.ts';
import { SessionManager } from '../wire/session-manager.ts';
import type { Session } from '../wire/session.ts';
import type { SessionOptions } from '../wire/session/options.ts';
import type { SessionIdentity } from '../wire/session/identity-binding.ts';

/** One authenticated channel to one peer: whole payloads up to ~1100 bytes (fragment above). */
export interface OverlayLink extends MessageChannel {
  /** The peer's link-key node ID (hex SHA-256 of {@link peerKey}), proven by the handshake. */
  readonly peerId: string;
  /** The peer's Ed25519 link key. */
  readonly peerKey: Uint8Array;
  /** Where the peer's packets come from (its public address, or its NAT's). */
  readonly address: Address;
  readonly isClosed: boolean;
  /** Clock time of the last packet received on this link. */
  lastReceivedAt(): number;
  /** Send an empty packet (keeps NAT bindings open). */
  keepalive(): void;
  onClose(handler: (reason: string) => void): () => void;
  close(reason?: string): void;
  /** Free slot for the owner (the node keeps its per-peer state here). */
  user?: unknown;
}

/** The link layer as the node sees it. */
export interface OverlayLinks {
  /** Open (or reuse) a link to the node whose link-key ID is `peerId`, at `address`. */
  connect(address: Address, peerId: string, signal?: AbortSignal): Promise<OverlayLink>;
  /** The open link to `peerId`, if any. */
  get(peerId: string): OverlayLink | undefined;
  /** Be told of every new link (opened by us or by the peer); returns a remover. */
  onLink(handler: (link: OverlayLink, inbound: boolean) => void): () => void;
  /** Feed one overlay-class datagram (first byte 0xE0-0xEF). */
  receive(data: Uint8Array, from: Address): void;
  /** Open links. */
  readonly size: number;
  /** Close every link; idempotent. */
  close(): void;
}

/** What a {@link LinksFactory} gets. */
export interface LinksContext {
  /** The node's link identity (Ed25519; its SHA-256 is the node's overlay ID). */
  identity: SessionIdentity;
  clock: Clock;
  random: Random;
  log: Logger;
  /** Send a datagram from the node's socket. */
  send: (data: Uint8Array, to: Address) => void;
  /** The node's socket address. */
  localAddress: Address;
  /** Accept or refuse an inbound peer (capacity). */
  authorize: (peerId: string, from: Address) => boolean;
  /** Most links at once. */
  maxLinks: number;
}

/** Builds the link layer of one node. */
export type LinksFactory = (ctx: LinksContext) => OverlayLinks;

class SessionLink implements OverlayLink {
  user?: unknown;
  constructor(readonly session: Session) {}
  get peerId(): string {
    return this.session.nodeId;
  }
  get peerKey(): Uint8Array {
    return this.session.publicKey;
  }
  get address(): Address {
    return this.session.address;
  }
  get isClosed(): boolean {
    return this.session.isClosed;
  }
  lastReceivedAt(): number {
    return this.session.stats().lastReceivedAt;
  }
  keepalive(): void {
    if (!this.session.isClosed) this.session.keepalive();
  }
  send(payload: Uint8Array): void {
    if (!this.session.isClosed) this.session.send(payload);
  }
  onMessage(handler: (payload: Uint8Array) => void): () => void {
    return this.session.onMessage(handler);
  }
  onClose(handler: (reason: string) => void): () => void {
    return this.session.onClose(handler);
  }
  close(reason = 'closed'): void {
    this.session.close(reason);
  }
}

/** Options of {@link sessionLinks}. */
export interface SessionLinksOptions {
  session?: Partial<SessionOptions>;
}

/** The default link layer: Noise XX sessions from the wire layer's SessionManager. */
export function sessionLinks(options: SessionLinksOptions = {}): LinksFactory {
  return (ctx) => {
    const manager = new SessionManager({
      identity: ctx.identity,
      clock: ctx.clock,
      random: ctx.random,
      log: ctx.log,
      send: ctx.send,
      options: options.session,
      authorize: (peer, from) => ctx.authorize(peer.nodeId, from),
    });
    const links = new Map<Session, SessionLink>();
    const byId = new Map<string, SessionLink>();
    const handlers: ((l: OverlayLink, inbound: boolean) => void)[] = [];
    const wrap = (s: Session, inbound: boolean): SessionLink => {
      let l = links.get(s);
      if (l) return l;
      l = new SessionLink(s);
      links.set(s, l);
      byId.set(s.nodeId, l);
      const link = l;
      s.onClose(() => {
        links.delete(s);
        if (byId.get(s.nodeId) === link) byId.delete(s.nodeId);
      });
      for (const h of handlers) h(l, inbound);
      return l;
    };
    const outbound = new Set<string>();
    manager.onSession((s) => {
      if (!outbound.has(s.nodeId)) wrap(s, true);
    });
    return {
      async connect(address, peerId, signal) {
        outbound.add(peerId);
        try {
          const s = await manager.connect(address, peerId, signal);
          return wrap(s, false);
        } finally {
          outbound.delete(peerId);
        }
      },
      get(peerId) {
        const l = byId.get(peerId);
        return l && !l.isClosed ? l : undefined;
      },
      onLink(h) {
        handlers.push(h);
        return () => {
          const i = handlers.indexOf(h);
          if (i >= 0) handlers.splice(i, 1);
        };
      },
      receive(data, from) {
        manager.receive(data, from);
      },
      get size() {
        return links.size;
      },
      close() {
        manager.close();
        links.clear();
        byId.clear();
      },
    };
  };
}
