/**
 * A deterministic clock for simulation: time only moves when {@link VirtualClock.advance}
 * (or {@link VirtualClock.runUntil}) is called, and timers fire in time order (ties in
 * scheduling order).
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * clock.setTimeout(() => console.log('fired at', clock.now()), 50);
 * await clock.advance(100); // prints "fired at 1700000000050"
 * ```
 * @module
 */
import { type Clock, type Timer, sleepOn } from './clock.ts';

/** A scheduled timer; also the {@link Timer} handed out (no closure per timer). */
class Entry implements Timer {
  cancelled = false;
  /** In the heap (cancelled entries stay there until their time). */
  queued = true;
  constructor(
    public at: number,
    public seq: number,
    public fn: () => void,
    public every: number, // 0 for one-shot
    /** @internal */
    readonly owner: VirtualClock,
  ) {}
  cancel(): void {
    if (!this.cancelled) {
      this.cancelled = true;
      // The entry stays in the heap until its time; its callback (and all the callback
      // holds, e.g. a node that left) need not.
      this.fn = NOOP;
      this.owner.timerCancelled();
    }
  }
}

const NOOP = (): void => {};

/** Default epoch of a virtual clock: 2023-11-14T22:13:20Z. */
export const VIRTUAL_EPOCH = 1_700_000_000_000;

/**
 * A start for a clock of whole milliseconds ({@link VirtualClock} `wholeMs`) whose times
 * stay small integers (below 2^30, V8's unboxed range) for 6.2 days of virtual time:
 * 2^29 ms, 1970-01-07T05:07:50.912Z.
 */
export const SMALL_EPOCH = 2 ** 29;

/**
 * Binary min-heap of timer entries ordered by (at, seq). The keys live in typed arrays
 * beside the entries, so sifting compares numbers in a few contiguous cache lines instead
 * of loading an entry object per comparison (with tens of thousands of timers, those
 * loads were most of the clock's cost).
 */
class TimerHeap implements TimerQueue {
  private items: Entry[] = [];
  private ats = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  get size(): number {
    return this.items.length;
  }
  peek(): Entry | undefined {
    return this.items[0];
  }
  // Sift with a hole instead of swaps (no temporary arrays).
  push(e: Entry): void {
    const a = this.items;
    let i = a.length;
    if (i === this.ats.length) this.grow();
    const ats = this.ats;
    const seqs = this.seqs;
    const at = e.at;
    const seq = e.seq;
    a.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pa = ats[p]!;
      if (pa < at || (pa === at && seqs[p]! < seq)) break;
      a[i] = a[p]!;
      ats[i] = pa;
      seqs[i] = seqs[p]!;
      i = p;
    }
    a[i] = e;
    ats[i] = at;
    seqs[i] = seq;
  }
  pop(): Entry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    const n = a.length;
    if (n > 0 && last) {
      const ats = this.ats;
      const seqs = this.seqs;
      const at = ats[n]!;
      const seq = seqs[n]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        let ma = ats[l]!;
        let ms = seqs[l]!;
        if (r < n) {
          const ra = ats[r]!;
          if (ra < ma || (ra === ma && seqs[r]! < ms)) {
            m = r;
            ma = ra;
            ms = seqs[r]!;
          }
        }
        if (!(ma < at || (ma === at && ms < seq))) break;
        a[i] = a[m]!;
        ats[i] = ma;
        seqs[i] = ms;
        i = m;
      }
      a[i] = last;
      ats[i] = at;
      seqs[i] = seq;
    }
    return top;
  }
  private grow(): void {
    const ats = new Float64Array(this.ats.length * 2);
    ats.set(this.ats);
    const seqs = new Float64Array(this.seqs.length * 2);
    seqs.set(this.seqs);
    this.ats = ats;
    this.seqs = seqs;
  }
}

/** The queue of a {@link VirtualClock}: entries come out in (at, seq) order. */
interface TimerQueue {
  readonly size: number;
  peek(): Entry | undefined;
  pop(): Entry | undefined;
  push(e: Entry): void;
}

/** Whether the heap's top `h` fires before the slots' head `w` (by time, then scheduling order). */
function farFirst(h: Entry | undefined, w: Entry): boolean {
  return h !== undefined && (h.at < w.at || (h.at === w.at && h.seq < w.seq));
}

/** Milliseconds a {@link TimerWheel} holds in its slots (a power of two). */
const WHEEL_SLOTS = 8192;
const WHEEL_MASK = WHEEL_SLOTS - 1;

/**
 * The queue of a clock of whole milliseconds: a slot per millisecond for the next
 * {@link WHEEL_SLOTS} ms from a cursor, and a {@link TimerHeap} for everything else.
 * Entries of one millisecond arrive in seq order (seq grows with every scheduling), so a
 * slot is a FIFO and a push or pop is O(1) for the near timers that make up most of a
 * simulation (datagrams in flight, liveness checks); the heap keeps the far ones and any
 * that land behind the cursor, and every peek takes the earlier of the slot's head and
 * the heap's top, so the order is exactly the heap's.
 */
class TimerWheel implements TimerQueue {
  private readonly slots: Entry[][] = Array.from({ length: WHEEL_SLOTS }, () => []);
  private readonly far = new TimerHeap();
  /** The millisecond of the slot being read; slots from here hold [cursor, cursor + WHEEL_SLOTS). */
  private cursor = 0;
  /** Entries of the cursor's slot already taken. */
  private head = 0;
  /** Entries in the slots not yet taken. */
  private near = 0;

  get size(): number {
    return this.near + this.far.size;
  }

  push(e: Entry): void {
    const at = e.at;
    if (this.near === 0 && at > this.cursor) this.moveCursor(at);
    if (at >= this.cursor && at < this.cursor + WHEEL_SLOTS) {
      const slot = this.slots[at & WHEEL_MASK]!;
      if (slot.length === 0 || slot[0]!.at === at) {
        slot.push(e);
        this.near++;
        return;
      }
    }
    this.far.push(e);
  }

  peek(): Entry | undefined {
    const w = this.nearHead();
    const h = this.far.peek();
    return w !== undefined && !farFirst(h, w) ? w : h;
  }

  pop(): Entry | undefined {
    const w = this.nearHead();
    if (w === undefined || farFirst(this.far.peek(), w)) return this.far.pop();
    this.head++;
    this.near--;
    return w;
  }

  /** The first untaken entry in the slots (the cursor moves to its millisecond). */
  private nearHead(): Entry | undefined {
    if (this.near === 0) return undefined;
    for (;;) {
      const slot = this.slots[this.cursor & WHEEL_MASK]!;
      if (this.head < slot.length) return slot[this.head];
      this.moveCursor(this.cursor + 1);
    }
  }

  /** Leave the cursor's slot (all of it taken) for millisecond `at`. */
  private moveCursor(at: number): void {
    this.slots[this.cursor & WHEEL_MASK]!.length = 0;
    this.head = 0;
    this.cursor = at;
  }
}

/** Virtual time; see module docs. */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private heap: TimerQueue;
  private live = 0;
  private readonly batchMs: number;
  private readonly wholeMs: boolean;

  /**
   * @param start the initial time (ms since the epoch)
   * @param options.batchMs timers due within this many ms of the first one after a flush
   *   fire one after another, with no promise callbacks run between them (as the simulated
   *   network delivers the datagrams of one time step); their async continuations run
   *   after the batch, at the time of the last timer. 0 (default): a flush after every timer.
   * @param options.wholeMs timers fall due on whole milliseconds (their time rounded up, an
   *   interval's period too). With a whole `start` below 2^30 (see {@link SMALL_EPOCH}) every
   *   time the clock shows is then a small integer, which V8 keeps unboxed in object fields
   *   and maps (a simulator stores such times by the million). Default false: exact times.
   */
  constructor(start = VIRTUAL_EPOCH, options: { batchMs?: number; wholeMs?: boolean } = {}) {
    this.t = start;
    this.batchMs = options.batchMs ?? 0;
    this.wholeMs = options.wholeMs ?? false;
    this.heap = this.wholeMs ? new TimerWheel() : new TimerHeap();
    if (!(this.batchMs >= 0)) throw new RangeError(`batchMs must be >= 0, got ${options.batchMs}`);
    if (this.wholeMs && !Number.isInteger(start)) throw new RangeError(`a clock of whole milliseconds starts at a whole number, got ${start}`);
  }

  now(): number {
    return this.t;
  }

  /** Number of timers still scheduled. */
  get pending(): number {
    return this.live;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.schedule(fn, Math.max(0, ms), 0);
  }

  setTimeoutReusing(spent: Timer | undefined, fn: () => void, ms: number): Timer {
    // Reused only when it is ours, a one-shot, and no longer in the heap (fired, or
    // cancelled and since reached): then nothing else refers to it but the caller.
    if (spent instanceof Entry && spent.owner === this && spent.cancelled && !spent.queued && spent.every === 0) {
      spent.cancelled = false;
      spent.at = this.dueAt(Math.max(0, ms));
      spent.seq = this.seq++;
      spent.fn = fn;
      spent.queued = true;
      return this.enqueue(spent);
    }
    return this.setTimeout(fn, ms);
  }

  setInterval(fn: () => void, ms: number): Timer {
    const every = this.wholeMs ? Math.max(1, Math.ceil(ms)) : Math.max(1, ms);
    return this.schedule(fn, every, every);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /**
   * Move time forward by `ms`, firing every timer that falls due, in order. Between
   * timers, pending promise callbacks (microtasks) are allowed to run so async code
   * awaiting a sleep continues at the right virtual time.
   */
  async advance(ms: number): Promise<void> {
    await this.runUntil(this.t + ms);
  }

  /** Fire timers up to and including time `until`, then set the clock to `until`. */
  async runUntil(until: number): Promise<void> {
    let flushed = false;
    /** Timers due before this fire one after another, without a flush (see `batchMs`). */
    let batchEnd = -Infinity;
    for (;;) {
      // Cancelled timers are dropped without a flush: no code ran since the last one.
      // The flush is inlined (a few rounds of `await` on one resolved promise): it runs
      // after every timer (or batch), so it allocates as little as it can.
      let next = this.heap.peek();
      if (!flushed && !(next !== undefined && next.at < batchEnd)) {
        for (let i = 0; i < FLUSH_ROUNDS; i++) await RESOLVED;
        flushed = true;
        next = this.heap.peek();
      }
      if (!next || next.at > until) break;
      this.heap.pop();
      next.queued = false;
      if (next.cancelled) continue;
      if (flushed) batchEnd = next.at + this.batchMs;
      flushed = false;
      this.fire(next);
    }
    this.t = Math.max(this.t, until);
    await flushMicrotasks();
  }

  /**
   * Synchronous variant of {@link runUntil} for hot simulation loops that do not rely
   * on promises settling between timers.
   */
  runUntilSync(until: number): void {
    for (;;) {
      const next = this.heap.peek();
      if (!next || next.at > until) break;
      this.heap.pop();
      next.queued = false;
      if (next.cancelled) continue;
      this.fire(next);
    }
    this.t = Math.max(this.t, until);
  }

  /** Fire a timer just taken off the heap (an interval goes back on it first). */
  private fire(e: Entry): void {
    this.t = Math.max(this.t, e.at);
    if (e.every > 0) {
      e.at += e.every;
      e.seq = this.seq++;
      e.queued = true;
      this.heap.push(e);
      e.fn();
    } else {
      e.cancelled = true;
      this.live--;
      const fn = e.fn;
      e.fn = NOOP; // a fired handle kept by its owner need not keep the callback
      fn();
    }
  }

  /** @internal Called by a timer when it is cancelled. */
  timerCancelled(): void {
    this.live--;
  }

  private schedule(fn: () => void, delay: number, every: number): Timer {
    return this.enqueue(new Entry(this.dueAt(delay), this.seq++, fn, every, this));
  }

  /** When a timer set now for `delay` ms falls due. */
  private dueAt(delay: number): number {
    return this.wholeMs ? Math.ceil(this.t + delay) : this.t + delay;
  }

  private enqueue(e: Entry): Entry {
    this.heap.push(e);
    this.live++;
    return e;
  }
}

/** Rounds of microtasks let run after each timer (chained awaits continue at the timer's time). */
const FLUSH_ROUNDS = 9;
const RESOLVED: Promise<void> = Promise.resolve();

/** Let queued promise reactions run (a few rounds, for chained awaits). */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < FLUSH_ROUNDS; i++) await RESOLVED;
}
