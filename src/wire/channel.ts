/**
 * The message channel: the one seam between a per-peer transport and everything above
 * it. The session layer provides one per authenticated peer (payloads of up to ~1100
 * bytes, at most once, unreliable and unordered); {@link FragmentedChannel} turns one
 * of those into a channel of messages up to 64 KiB; the RPC layer runs on top.
 *
 * @example
 * ```ts
 * function echo(channel: MessageChannel): void {
 *   const off = channel.onMessage((payload) => channel.send(payload));
 *   channel.onClose?.(() => off());
 * }
 * ```
 * @module
 */

/** Receives one payload. */
export type PayloadHandler = (payload: Uint8Array) => void;

/** An unreliable, message-oriented link to one peer. */
export interface MessageChannel {
  /**
   * Send one payload. Delivery is best effort: loss is silent. Throws only on programming
   * errors (a payload larger than the channel's limit); sending on a closed channel is a
   * silent no-op.
   */
  send(payload: Uint8Array): void;
  /** Add a receive handler; returns a function that removes it. */
  onMessage(handler: PayloadHandler): () => void;
  /** Close the channel; idempotent. Handlers are not called afterwards. */
  close(): void;
  /**
   * Optional: be told when the channel closes, by {@link close} or from below (session
   * expired, peer gone). Layers above use it to cascade the close with a reason.
   */
  onClose?(handler: (reason: string) => void): () => void;
}

const NO_HANDLERS: readonly never[] = Object.freeze([]);

/**
 * A small helper for channel implementations: a handler list that survives handlers
 * removing themselves while being called, and isolates handler exceptions. Handlers
 * take one value (a payload, a message, a close reason): called directly, with no
 * argument array per call (emitted for every datagram in the simulator).
 */
export class HandlerSet<T> {
  // Copied on every change, never changed in place: an empty set shares one empty list
  // (the simulator keeps several sets per link, most of them empty).
  private list: readonly ((value: T) => void)[] = NO_HANDLERS;

  /** Add a handler; returns its remover. */
  add(h: (value: T) => void): () => void {
    // concat, not a spread: a spread array keeps room for 16 more (a simulated network
    // holds hundreds of thousands of these lists).
    this.list = this.list.concat([h]);
    let added = true;
    return () => {
      if (!added) return;
      added = false;
      const i = this.list.indexOf(h);
      if (i >= 0) this.list = this.list.slice(0, i).concat(this.list.slice(i + 1));
    };
  }

  /** Call every handler; returns how many threw (their errors are swallowed). */
  emit(value: T): number {
    let failed = 0;
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(value);
      } catch {
        failed++;
      }
    }
    return failed;
  }

  /** Remove all handlers. */
  clear(): void {
    this.list = NO_HANDLERS;
  }

  /** Number of handlers. */
  get size(): number {
    return this.list.length;
  }
}
