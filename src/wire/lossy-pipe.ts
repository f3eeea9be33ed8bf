/**
 * An in-memory pair of {@link MessageChannel}s joined by a simulated unreliable link:
 * configurable loss, duplication and latency with jitter (which reorders), driven by a
 * {@link Clock} and a {@link Random}, so tests of fragmentation and RPC run
 * deterministically on a VirtualClock with a SeededRandom. Stands in for a session.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const pipe = createLossyPipe({ clock, random: new SeededRandom(1), loss: 0.1, duplicate: 0.05,
 *   latencyMs: 20, jitterMs: 30 });
 * pipe.b.onMessage((p) => console.log('got', p.length));
 * pipe.a.send(new Uint8Array(100));
 * await clock.advance(100);
 * pipe.close();
 * ```
 * @module
 */
import type { Clock, Timer } from '../clock.ts';
import type { Random } from '../random.ts';
import { HandlerSet, type MessageChannel, type PayloadHandler } from './channel.ts';

/** Link behaviour of a {@link createLossyPipe}, applied independently per direction. */
export interface LossyPipeOptions {
  clock: Clock;
  random: Random;
  /** Probability a payload is lost, 0..1 (default 0). */
  loss?: number;
  /** Probability a payload is delivered twice, 0..1 (default 0). */
  duplicate?: number;
  /** Base one-way latency in ms (default 10). */
  latencyMs?: number;
  /** Extra uniform random latency 0..jitterMs per copy; > 0 reorders (default 0). */
  jitterMs?: number;
  /** Largest payload accepted by `send` (default 1100, the session payload size). */
  maxPayload?: number;
  /** Payloads in flight per direction before new ones are dropped (default 4096). */
  maxInFlight?: number;
}

/** Counters of one direction of a {@link LossyPipe}. */
export interface LossyPipeStats {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  /** Dropped because too many payloads were in flight. */
  overflow: number;
}

/** Two connected channels; `a.send` arrives at `b` and vice versa. */
export interface LossyPipe {
  readonly a: MessageChannel;
  readonly b: MessageChannel;
  /** Counters for the a->b and b->a directions. */
  stats(): { ab: LossyPipeStats; ba: LossyPipeStats };
  /** Change link behaviour on the fly (e.g. a partition: `loss: 1`). */
  configure(change: Partial<Omit<LossyPipeOptions, 'clock' | 'random'>>): void;
  /** Close both ends and cancel everything in flight. */
  close(): void;
}

class PipeEnd implements MessageChannel {
  readonly handlers = new HandlerSet<Uint8Array>();
  readonly closeHandlers = new HandlerSet<string>();
  peer!: PipeEnd;
  closed = false;
  readonly timers = new Set<Timer>();
  readonly counters: LossyPipeStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, overflow: 0 };

  constructor(private readonly o: Required<LossyPipeOptions>) {}

  send(payload: Uint8Array): void {
    if (payload.length > this.o.maxPayload) throw new RangeError(`payload of ${payload.length} bytes exceeds the channel limit of ${this.o.maxPayload}`);
    if (this.closed) return;
    this.counters.sent++;
    const { random } = this.o;
    if (random.float() < this.o.loss) {
      this.counters.lost++;
      return;
    }
    const copies = random.float() < this.o.duplicate ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    const data = payload.slice();
    for (let i = 0; i < copies; i++) {
      if (this.timers.size >= this.o.maxInFlight) {
        this.counters.overflow++;
        continue;
      }
      const delay = this.o.latencyMs + (this.o.jitterMs > 0 ? random.float() * this.o.jitterMs : 0);
      const timer = this.o.clock.setTimeout(() => {
        this.timers.delete(timer);
        if (this.peer.closed || this.closed) return;
        this.counters.delivered++;
        this.peer.handlers.emit(data);
      }, delay);
      this.timers.add(timer);
    }
  }

  onMessage(handler: PayloadHandler): () => void {
    return this.handlers.add(handler);
  }

  onClose(handler: (reason: string) => void): () => void {
    return this.closeHandlers.add(handler);
  }

  close(reason = 'channel closed'): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.handlers.clear();
    this.closeHandlers.emit(reason);
    this.closeHandlers.clear();
  }
}

/** Create a {@link LossyPipe}; see module docs. */
export function createLossyPipe(options: LossyPipeOptions): LossyPipe {
  const o: Required<LossyPipeOptions> = {
    loss: 0,
    duplicate: 0,
    latencyMs: 10,
    jitterMs: 0,
    maxPayload: 1100,
    maxInFlight: 4096,
    ...options,
  };
  const a = new PipeEnd(o);
  const b = new PipeEnd(o);
  a.peer = b;
  b.peer = a;
  return {
    a,
    b,
    stats: () => ({ ab: { ...a.counters }, ba: { ...b.counters } }),
    configure: (change) => Object.assign(o, change),
    close: () => {
      a.close();
      b.close();
    },
  };
}
