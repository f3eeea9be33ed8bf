/**
 * A bounded FIFO of frames with an async `shift()`: the producer never waits (when the
 * queue is full the oldest frame is dropped and counted), the consumer awaits the
 * next frame, the end, or an error.
 *
 * @module
 */

/** See module docs. */
export class FrameQueue<T> {
  private items: T[] = [];
  private waiters: { resolve: (v: T | null) => void; reject: (e: unknown) => void }[] = [];
  private ended = false;
  private error: unknown;
  /** Items dropped because the queue was full. */
  dropped = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('FrameQueue capacity must be >= 1');
  }

  get length(): number {
    return this.items.length;
  }

  /** Whether end() or fail() was called. */
  get done(): boolean {
    return this.ended;
  }

  /** Add an item (ignored after end). */
  push(item: T): void {
    if (this.ended) return;
    const w = this.waiters.shift();
    if (w) return w.resolve(item);
    this.items.push(item);
    if (this.items.length > this.capacity) {
      this.items.shift();
      this.dropped++;
    }
  }

  /** Remove the oldest item without waiting (undefined if empty). */
  take(): T | undefined {
    return this.items.shift();
  }

  /** The next item; null after end() once drained; rejects after fail() once drained. */
  shift(): Promise<T | null> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    if (this.ended) return this.error !== undefined ? Promise.reject(this.error) : Promise.resolve(null);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** No more items: pending and later shift() calls get null once drained. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.waiters.splice(0)) w.resolve(null);
  }

  /** Fail: pending and later shift() calls reject with `error` once drained. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.error = error;
    this.ended = true;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  /** Drop everything queued. */
  clear(): void {
    this.items = [];
  }
}
