/**
 * Per-source token buckets with a bounded table: each key (a source IP) may start
 * `burst` handshakes at once and `perSecond` afterwards. When the table is full the
 * least recently used entry is forgotten (a forgotten source starts with a full bucket,
 * which only errs towards admitting).
 *
 * @module
 */

/** Token-bucket parameters. */
export interface RateLimit {
  burst: number;
  perSecond: number;
  /** Most sources tracked at once. */
  maxSources: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** A bounded map of token buckets. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limit: RateLimit) {}

  /** Take one token for `key` at time `now` (ms); false when the source is over its rate. */
  allow(key: string, now: number): boolean {
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      b.tokens = Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * this.limit.perSecond);
      b.at = now;
    } else {
      b = { tokens: this.limit.burst, at: now };
      while (this.buckets.size >= this.limit.maxSources) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
      }
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Number of tracked sources. */
  get size(): number {
    return this.buckets.size;
  }
}
