/**
 * A {@link MessageChannel} of messages up to 64 KiB on top of a channel of small
 * payloads (a session): each message is cut into fragments (fragment.ts) and put back
 * together by a {@link Reassembler}. Delivery stays unreliable: a message arrives whole
 * and exactly once, or not at all (a lost fragment makes it time out).
 *
 * @example
 * ```ts
 * const messages = new FragmentedChannel(session.channel(peerId), { clock: env.clock });
 * messages.onMessage((m) => console.log('message of', m.length, 'bytes'));
 * messages.send(new Uint8Array(20_000)); // 19 datagrams
 * messages.close(); // closes the session channel too
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import { HandlerSet, type MessageChannel, type PayloadHandler } from './channel.ts';
import { DEFAULT_MAX_FRAGMENT_BYTES, MAX_MESSAGE_BYTES, fragmentMessage } from './fragment.ts';
import { Reassembler, type ReassemblerOptions, type ReassemblyStats } from './fragment-reassembler.ts';

/** Options of a {@link FragmentedChannel}. */
export interface FragmentedChannelOptions extends Omit<ReassemblerOptions, 'clock'> {
  clock: Clock;
  /** Largest payload the lower channel takes, header included (default 1100). */
  maxFragmentBytes?: number;
  /** Whether {@link FragmentedChannel.close} also closes the lower channel (default true). */
  closeLower?: boolean;
}

/** Messages up to 64 KiB over a channel of small payloads; see module docs. */
export class FragmentedChannel implements MessageChannel {
  /** Largest message {@link send} accepts. */
  readonly maxMessageBytes: number;
  private readonly reassembler: Reassembler;
  private readonly handlers = new HandlerSet<Uint8Array>();
  private readonly closeHandlers = new HandlerSet<string>();
  private readonly maxFragmentBytes: number;
  private readonly detach: (() => void)[] = [];
  private nextId = 0;
  private closed = false;
  private sentMessages = 0;
  private sentFragments = 0;
  private handlerErrors = 0;

  constructor(
    private readonly lower: MessageChannel,
    private readonly options: FragmentedChannelOptions,
  ) {
    this.maxFragmentBytes = options.maxFragmentBytes ?? DEFAULT_MAX_FRAGMENT_BYTES;
    this.maxMessageBytes = Math.min(options.maxMessageBytes ?? MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
    this.reassembler = new Reassembler(options);
    this.detach.push(
      lower.onMessage((payload) => {
        const message = this.reassembler.push(payload);
        if (message) this.handlerErrors += this.handlers.emit(message);
      }),
    );
    if (lower.onClose) this.detach.push(lower.onClose((reason) => this.shutdown(reason, false)));
  }

  /**
   * Send one message. Throws a RangeError if it is larger than {@link maxMessageBytes}
   * (a programming error: check sizes before sending); a no-op once closed.
   */
  send(message: Uint8Array): void {
    if (message.length > this.maxMessageBytes) throw new RangeError(`message of ${message.length} bytes exceeds ${this.maxMessageBytes}`);
    if (this.closed) return;
    const fragments = fragmentMessage(this.nextId, message, this.maxFragmentBytes);
    this.nextId = (this.nextId + 1) >>> 0;
    this.sentMessages++;
    for (const f of fragments) {
      this.sentFragments++;
      this.lower.send(f);
    }
  }

  onMessage(handler: PayloadHandler): () => void {
    return this.handlers.add(handler);
  }

  onClose(handler: (reason: string) => void): () => void {
    return this.closeHandlers.add(handler);
  }

  /** Counters: messages and fragments sent, and the reassembler's counters. */
  stats(): { sentMessages: number; sentFragments: number; handlerErrors: number; reassembly: ReassemblyStats } {
    return { sentMessages: this.sentMessages, sentFragments: this.sentFragments, handlerErrors: this.handlerErrors, reassembly: this.reassembler.stats() };
  }

  /** Close; cascades to the lower channel unless `closeLower: false`. Idempotent. */
  close(reason = 'channel closed'): void {
    this.shutdown(reason, this.options.closeLower ?? true);
  }

  private shutdown(reason: string, closeLower: boolean): void {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.detach) d();
    this.reassembler.close();
    this.handlers.clear();
    if (closeLower) this.lower.close();
    this.closeHandlers.emit(reason);
    this.closeHandlers.clear();
  }
}
