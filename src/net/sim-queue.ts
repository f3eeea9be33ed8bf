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
