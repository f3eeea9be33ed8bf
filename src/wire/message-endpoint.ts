/**
 * A {@link MessageChannel} speaking typed messages: outgoing messages are validated
 * and encoded by a {@link MessageRegistry}, incoming bytes are decoded and dispatched by
 * `type` to the handlers registered for it. Undecodable input is dropped and counted
 * by reason. The overlay uses one endpoint per peer for one-way messages and the
 * {@link RpcPeer} on the same endpoint for requests.
 *
 * @example
 * ```ts
 * const endpoint = new MessageEndpoint(new FragmentedChannel(sessionChannel, { clock }), registry);
 * endpoint.on(Ping, (m) => endpoint.send({ type: 'overlay.pong', nonce: m.nonce }));
 * endpoint.stats().dropped; // { size: 0, utf8: 0, json: 0, shape: 0, 'unknown-type': 0, schema: 0, unhandled: 0 }
 * ```
 * @module
 */
import { HandlerSet, type MessageChannel } from './channel.ts';
import type { DecodeReason, MessageDef, MessageRegistry, WireMessage } from './messages.ts';

/** Counters of a {@link MessageEndpoint}. */
export interface EndpointStats {
  sent: number;
  received: number;
  /** Incoming messages dropped, by decode failure, or because no handler took their type. */
  dropped: Record<DecodeReason | 'unhandled' | 'handlerError', number>;
}

/** Typed messages over a channel; see module docs. */
export class MessageEndpoint {
  private readonly handlers = new Map<string, HandlerSet<WireMessage>>();
  private readonly closeHandlers = new HandlerSet<string>();
  private readonly detach: (() => void)[] = [];
  private closed = false;
  private readonly counters: EndpointStats = {
    sent: 0,
    received: 0,
    dropped: { size: 0, utf8: 0, json: 0, shape: 0, 'unknown-type': 0, schema: 0, unhandled: 0, handlerError: 0 },
  };

  /**
   * @param channel carries whole messages (a {@link FragmentedChannel} over a session);
   *   owned by the endpoint: {@link close} closes it.
   * @param onDrop optional hook per dropped message (e.g. debug logging).
   */
  constructor(
    private readonly channel: MessageChannel,
    readonly registry: MessageRegistry,
    private readonly onDrop?: (reason: string, error: string) => void,
  ) {
    this.detach.push(channel.onMessage((bytes) => this.receive(bytes)));
    if (channel.onClose) this.detach.push(channel.onClose((reason) => this.shutdown(reason, false)));
  }

  /** Validate, encode and send. Throws MessageEncodeError on an invalid or oversize message. */
  send(message: WireMessage): void {
    this.sendEncoded(this.registry.encode(message));
  }

  /** Send bytes already produced by `registry.encode` (e.g. a cached response). */
  sendEncoded(bytes: Uint8Array): void {
    if (this.closed) return;
    this.counters.sent++;
    this.channel.send(bytes);
  }

  /**
   * Handle the messages of one type (its definition must be in the registry); returns
   * a remover. Several handlers may share a type.
   */
  on<M extends { type: string }>(def: MessageDef<M>, handler: (message: M) => void): () => void {
    if (this.registry.get(def.type) !== (def as unknown)) throw new Error(`message type "${def.type}" is not in this endpoint's registry`);
    let set = this.handlers.get(def.type);
    if (!set) this.handlers.set(def.type, (set = new HandlerSet()));
    return set.add(handler as unknown as (m: WireMessage) => void);
  }

  /** Be told when the endpoint closes (itself or because the channel closed). */
  onClose(handler: (reason: string) => void): () => void {
    return this.closeHandlers.add(handler);
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** A copy of the counters. */
  stats(): EndpointStats {
    return { sent: this.counters.sent, received: this.counters.received, dropped: { ...this.counters.dropped } };
  }

  /** Close the endpoint and its channel; idempotent. */
  close(reason = 'endpoint closed'): void {
    this.shutdown(reason, true);
  }

  private receive(bytes: Uint8Array): void {
    if (this.closed) return;
    const r = this.registry.decode(bytes);
    if (!r.ok) {
      this.counters.dropped[r.reason]++;
      this.onDrop?.(r.reason, r.error);
      return;
    }
    const set = this.handlers.get(r.message.type);
    if (!set || set.size === 0) {
      this.counters.dropped.unhandled++;
      this.onDrop?.('unhandled', `no handler for ${r.message.type}`);
      return;
    }
    this.counters.received++;
    const failed = set.emit(r.message);
    this.counters.dropped.handlerError += failed;
  }

  private shutdown(reason: string, closeChannel: boolean): void {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.detach) d();
    this.handlers.clear();
    if (closeChannel) this.channel.close();
    this.closeHandlers.emit(reason);
    this.closeHandlers.clear();
  }
}
