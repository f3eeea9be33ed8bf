/**
 * The simulator's event queue: a binary min-heap of in-flight datagrams ordered by
 * delivery time, ties broken by scheduling order (so equal-time events are FIFO and runs
 * are deterministic). Kept separate from the clock's timer heap so only the earliest
 * event occupies a clock timer.
 *
 * @module
 */

/** Anything with a due time and a tie-breaking sequence number. */
export interface QueuedEvent {
  at: number;
  seq: number;
}

/** Min-heap of events by (at, seq). */
export class EventQueue<T extends QueuedEvent> {
  private items: T[] = [];

  /** Number of queued events. */
  get size(): number {
    return this.items.length;
  }

  /** The earliest event, without removing it. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Add an event. O(log n). */
  push(e: T): void {
    const a = this.items;
    let i = a.length;
    a.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = a[p]!;
      if (q.at < e.at || (q.at === e.at && q.seq < e.seq)) break;
      a[i] = q;
      i = p;
    }
    a[i] = e;
  }

  /** Remove and return the earliest event. O(log n). */
  pop(): T | undefined {
    const a = this.items;
    const n = a.length;
    if (n === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (n > 1) {
      const len = n - 1;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= len) break;
        let m = l;
        let c = a[l]!;
        const r = l + 1;
        if (r < len) {
          const d = a[r]!;
          if (d.at < c.at || (d.at === c.at && d.seq < c.seq)) {
            m = r;
            c = d;
          }
        }
        if (last.at < c.at || (last.at === c.at && last.seq < c.seq)) break;
        a[i] = c;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }

  /** Remove every event. */
  clear(): void {
    this.items = [];
  }
}

/** Min-heap of numbers (the distinct times of a {@link CalendarQueue}). */
class TimeHeap {
  private a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): number {
    return this.a[0]!;
  }
  push(t: number): void {
    const a = this.a;
    let i = a.length;
    a.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= t) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = t;
  }
  pop(): void {
    const a = this.a;
    const last = a.pop()!;
    const n = a.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && a[r]! < a[l]! ? r : l;
      if (last <= a[m]!) break;
      a[i] = a[m]!;
      i = m;
    }
    a[i] = last;
  }
}

/**
 * The same contract as {@link EventQueue} for times on a grid (many events share a
 * time): one FIFO bucket per distinct time and a heap of the distinct times, so an
 * event costs O(1) and only a new time costs O(log times). Events pushed with the same
 * `at` come out in push order, which is also (at, seq) order.
 */
export class CalendarQueue<T extends QueuedEvent> {
  private readonly buckets = new Map<number, T[]>();
  private readonly times = new TimeHeap();
  private readonly spare: T[][] = [];
  /** Read position in the earliest bucket. */
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  peek(): T | undefined {
    if (this.count === 0) return undefined;
    return this.buckets.get(this.times.peek())![this.head];
  }

  push(e: T): void {
    let b = this.buckets.get(e.at);
    if (b === undefined) {
      if (this.head > 0 && e.at < this.times.peek()) {
        // A new earliest time while the current earliest bucket is half read (the
        // simulator never does this): compact that bucket so `head` can restart at 0.
        this.buckets.get(this.times.peek())!.splice(0, this.head);
        this.head = 0;
      }
      b = this.spare.pop() ?? [];
      this.buckets.set(e.at, b);
      this.times.push(e.at);
    }
    b.push(e);
    this.count++;
  }

  pop(): T | undefined {
    if (this.count === 0) return undefined;
    const t = this.times.peek();
    const b = this.buckets.get(t)!;
    const e = b[this.head]!;
    b[this.head] = undefined as unknown as T; // let the event be collected
    this.count--;
    if (++this.head === b.length) {
      this.buckets.delete(t);
      this.times.pop();
      this.head = 0;
      b.length = 0;
      if (this.spare.length < 64) this.spare.push(b);
    }
    return e;
  }

  clear(): void {
    this.buckets.clear();
    while (this.times.size > 0) this.times.pop();
    this.head = 0;
    this.count = 0;
  }
}
