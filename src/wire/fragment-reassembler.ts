/**
 * Reassembly of fragmented messages (format in fragment.ts), with every table bounded:
 * a limit on concurrent partial messages and on buffered bytes (the oldest partial is
 * evicted to make room), a per-message timeout on the {@link Clock}, and a
 * {@link SerialWindow} of finished ids so a late or duplicated fragment can never
 * deliver a message twice. Malformed fragments are dropped and counted, never thrown.
 *
 * One reassembler per peer session: ids are the sender's per-channel counter.
 *
 * @example
 * ```ts
 * const r = new Reassembler({ clock });
 * for (const frag of fragmentMessage(1, message)) {
 *   const whole = r.push(frag); // undefined until the last missing fragment arrives
 *   if (whole) deliver(whole);
 * }
 * r.stats().dropped; // { short: 0, version: 0, count: 0, ... }
 * r.close();
 * ```
 * @module
 */
import type { Clock, Timer } from '../clock.ts';
import { MAX_MESSAGE_BYTES, parseFragment } from './fragment.ts';
import { SerialWindow } from './serial-window.ts';

/** Limits of a {@link Reassembler}. */
export interface ReassemblerOptions {
  clock: Clock;
  /** Concurrent incomplete messages (default 16). */
  maxPartialMessages?: number;
  /** Bytes buffered across incomplete messages (default 512 KiB; at least 64 KiB). */
  maxBufferedBytes?: number;
  /** Largest message accepted (default and maximum 64 KiB). */
  maxMessageBytes?: number;
  /** An incomplete message is discarded this long after its first fragment (default 10 s). */
  timeoutMs?: number;
  /** Finished message ids remembered to suppress duplicates (default 1024). */
  windowSize?: number;
}

/** Why fragments were dropped (counts of fragments). */
export interface ReassemblyDrops {
  /** Shorter than the header. */
  short: number;
  /** Unknown version byte. */
  version: number;
  /** Count 0 or above the maximum. */
  count: number;
  /** Index >= count. */
  index: number;
  /** Count differs from earlier fragments of the same id. */
  inconsistent: number;
  /** The message would exceed the size limit (the partial is discarded too). */
  oversize: number;
  /** A fragment already held, or of a message already delivered / given up. */
  duplicate: number;
  /** An id too far behind the newest finished one to tell. */
  stale: number;
}

/** Counters of a {@link Reassembler}. */
export interface ReassemblyStats {
  fragments: number;
  delivered: number;
  /** Incomplete messages discarded at their timeout. */
  timedOut: number;
  /** Incomplete messages discarded to make room for newer ones. */
  evicted: number;
  dropped: ReassemblyDrops;
  /** Incomplete messages held now. */
  partialMessages: number;
  /** Bytes held now. */
  bufferedBytes: number;
}

interface Partial {
  id: number;
  count: number;
  received: number;
  bytes: number;
  chunks: (Uint8Array | undefined)[];
  timer: Timer;
}

/** See module docs. */
export class Reassembler {
  private readonly clock: Clock;
  private readonly maxPartial: number;
  private readonly maxBuffered: number;
  private readonly maxMessage: number;
  private readonly timeoutMs: number;
  private readonly finished: SerialWindow;
  /** Insertion order = age, for eviction. */
  private readonly partials = new Map<number, Partial>();
  private buffered = 0;
  private closed = false;
  private readonly counters = {
    fragments: 0,
    delivered: 0,
    timedOut: 0,
    evicted: 0,
    dropped: { short: 0, version: 0, count: 0, index: 0, inconsistent: 0, oversize: 0, duplicate: 0, stale: 0 } as ReassemblyDrops,
  };

  constructor(options: ReassemblerOptions) {
    this.clock = options.clock;
    this.maxPartial = options.maxPartialMessages ?? 16;
    this.maxMessage = Math.min(options.maxMessageBytes ?? MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
    this.maxBuffered = Math.max(options.maxBufferedBytes ?? 512 * 1024, this.maxMessage);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.finished = new SerialWindow(options.windowSize ?? 1024);
    if (this.maxPartial < 1) throw new RangeError('maxPartialMessages must be at least 1');
  }

  /**
   * Take one fragment; returns the whole message when this fragment completes one,
   * otherwise undefined. Never throws on any input.
   */
  push(bytes: Uint8Array): Uint8Array | undefined {
    if (this.closed) return undefined;
    this.counters.fragments++;
    const f = parseFragment(bytes);
    if (!f.ok) {
      this.counters.dropped[f.error]++;
      return undefined;
    }
    let p = this.partials.get(f.id);
    if (!p) {
      const status = this.finished.check(f.id);
      if (status !== 'new') {
        this.counters.dropped[status]++;
        return undefined;
      }
      if (f.count === 1) return this.complete(f.id, f.data.length <= this.maxMessage ? f.data.slice() : undefined);
      p = { id: f.id, count: f.count, received: 0, bytes: 0, chunks: new Array(f.count), timer: undefined as unknown as Timer };
      const id = f.id;
      p.timer = this.clock.setTimeout(() => this.expire(id), this.timeoutMs);
      this.partials.set(id, p);
    } else if (p.count !== f.count) {
      this.counters.dropped.inconsistent++;
      return undefined;
    }
    if (p.chunks[f.index]) {
      this.counters.dropped.duplicate++;
      return undefined;
    }
    if (p.bytes + f.data.length > this.maxMessage) {
      this.counters.dropped.oversize++;
      this.discard(p);
      this.finished.mark(p.id);
      return undefined;
    }
    this.makeRoom(f.data.length, p);
    p.chunks[f.index] = f.data.slice();
    p.received++;
    p.bytes += f.data.length;
    this.buffered += f.data.length;
    if (p.received < p.count) return undefined;
    const out = new Uint8Array(p.bytes);
    let at = 0;
    for (const c of p.chunks) {
      out.set(c!, at);
      at += c!.length;
    }
    this.discard(p);
    return this.complete(p.id, out);
  }

  /** Counters and current occupancy. */
  stats(): ReassemblyStats {
    return {
      fragments: this.counters.fragments,
      delivered: this.counters.delivered,
      timedOut: this.counters.timedOut,
      evicted: this.counters.evicted,
      dropped: { ...this.counters.dropped },
      partialMessages: this.partials.size,
      bufferedBytes: this.buffered,
    };
  }

  /** Discard everything and cancel timers; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.partials.values()]) this.discard(p);
  }

  private complete(id: number, message: Uint8Array | undefined): Uint8Array | undefined {
    this.finished.mark(id);
    if (!message) {
      this.counters.dropped.oversize++;
      return undefined;
    }
    this.counters.delivered++;
    return message;
  }

  /** Evict the oldest partials (never `keep`) until `extra` bytes and a slot fit. */
  private makeRoom(extra: number, keep: Partial): void {
    for (const q of this.partials.values()) {
      const tooMany = this.partials.size > this.maxPartial;
      const tooBig = this.buffered + extra > this.maxBuffered;
      if (!tooMany && !tooBig) return;
      if (q === keep) continue;
      this.counters.evicted++;
      this.discard(q);
      this.finished.mark(q.id);
    }
  }

  private expire(id: number): void {
    const p = this.partials.get(id);
    if (!p) return;
    this.counters.timedOut++;
    this.discard(p);
    this.finished.mark(id);
  }

  private discard(p: Partial): void {
    p.timer.cancel();
    this.partials.delete(p.id);
    this.buffered -= p.bytes;
  }
}
