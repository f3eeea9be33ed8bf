/**
 * Token-bucket rate limiting: a single {@link TokenBucket}, and a {@link RateLimiter}
 * that keeps one bucket per key (peer ID, address, request type) in a bounded table.
 * Generic: used for overlay requests, search queries and anything else that must not
 * let one peer consume a node's capacity.
 *
 * Tokens refill continuously at `ratePerSec` up to `burst`. Time comes from a
 * {@link Clock}, so limits behave identically in the simulator.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter<string>({ clock, ratePerSec: 10, burst: 20, maxKeys: 10_000 });
 * if (!limiter.take(peerId)) { dropped++; return; } // over the limit: drop and count
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';

/** Shape of a bucket: steady rate and burst size. */
export interface RateSpec {
  /** Tokens added per second. */
  ratePerSec: number;
  /** Bucket capacity (largest burst). */
  burst: number;
}

function checkSpec(spec: RateSpec): void {
  if (!(spec.ratePerSec >= 0) || !Number.isFinite(spec.ratePerSec)) throw new RangeError('ratePerSec must be a finite number >= 0');
  if (!(spec.burst > 0) || !Number.isFinite(spec.burst)) throw new RangeError('burst must be a finite number > 0');
}

/** One token bucket; starts full. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly spec: RateSpec, private readonly clock: Pick<Clock, 'now'>) {
    checkSpec(spec);
    this.tokens = spec.burst;
    this.last = clock.now();
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Take `n` tokens if available; returns false (taking none) otherwise. */
  take(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** True when the bucket is full (an idle key that can be forgotten without changing behaviour). */
  isFull(): boolean {
    return this.available() >= this.spec.burst;
  }

  private refill(): void {
    const now = this.clock.now();
    const dt = now - this.last;
    if (dt > 0) {
      this.tokens = Math.min(this.spec.burst, this.tokens + (dt / 1000) * this.spec.ratePerSec);
      this.last = now;
    }
  }
}

/** Options for {@link RateLimiter}. */
export interface RateLimiterOptions extends RateSpec {
  clock: Pick<Clock, 'now'>;
  /** Most keys tracked at once (default 10,000). Beyond it the least recently used key is forgotten. */
  maxKeys?: number;
}

/**
 * Per-key token buckets in a bounded LRU table. A forgotten key starts again with a full
 * bucket, so `maxKeys` should exceed the number of peers a node talks to; an attacker
 * cycling through more identities than that is limited by the PoW/session layers.
 */
export class RateLimiter<K> {
  private readonly buckets = new Map<K, TokenBucket>();
  private readonly maxKeys: number;
  /** Requests refused, for metrics. */
  refused = 0;

  constructor(private readonly options: RateLimiterOptions) {
    checkSpec(options);
    this.maxKeys = Math.max(1, options.maxKeys ?? 10_000);
  }

  /** Number of keys tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /** Take `n` tokens from `key`'s bucket; false (and counted) when over the limit. */
  take(key: K, n = 1): boolean {
    let b = this.buckets.get(key);
    if (b) this.buckets.delete(key);
    else b = new TokenBucket(this.options, this.options.clock);
    this.buckets.set(key, b); // most recently used last
    while (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as K);
    const ok = b.take(n);
    if (!ok) this.refused++;
    return ok;
  }

  /** Forget keys whose buckets are full again (idle); returns how many were dropped. */
  prune(): number {
    let n = 0;
    for (const [k, b] of this.buckets) {
      if (b.isFull()) {
        this.buckets.delete(k);
        n++;
      }
    }
    return n;
  }
}
