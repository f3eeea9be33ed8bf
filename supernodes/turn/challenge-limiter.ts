/**
 * Rate limit for unauthenticated error responses (401 and 438 challenges, and the
 * 400/420 answers to requests that carry no valid credentials). Such a response is
 * bigger than the request that caused it and needs no handshake, so without a limit a
 * spoofed stream of tiny requests would make the server flood (and amplify toward) the
 * spoofed source. A token bucket per source IP, plus one for the whole server, bounds
 * that; a request over the limit is dropped silently (the client retransmits, as STUN
 * clients do).
 *
 * Loopback sources are not limited: the kernel never accepts a loopback source address
 * from the network, so they cannot be spoofed from off the host.
 *
 * The table of sources is bounded: past `maxSources` the oldest entry is forgotten.
 *
 * @module
 */

/** Limits (responses per second and burst sizes). */
export interface ChallengeLimits {
  /** Sustained unauthenticated responses per second to one source IP; default 20. */
  perSourceRate?: number;
  /** Burst allowed per source IP; default 100 (a NAT with many clients starting at once). */
  perSourceBurst?: number;
  /** Sustained unauthenticated responses per second in total; default 2000. */
  totalRate?: number;
  /** Burst in total; default 4000. */
  totalBurst?: number;
  /** Source IPs tracked at most; default 10,000. */
  maxSources?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host.startsWith('::ffff:127.');
}

/** Token buckets per source IP and in total; see module docs. */
export class ChallengeLimiter {
  private readonly rate: number;
  private readonly burst: number;
  private readonly totalRate: number;
  private readonly totalBurst: number;
  private readonly maxSources: number;
  private readonly sources = new Map<string, Bucket>();
  private readonly total: Bucket;

  constructor(limits: ChallengeLimits = {}, now = 0) {
    this.rate = limits.perSourceRate ?? 20;
    this.burst = limits.perSourceBurst ?? 100;
    this.totalRate = limits.totalRate ?? 2000;
    this.totalBurst = limits.totalBurst ?? 4000;
    this.maxSources = limits.maxSources ?? 10_000;
    this.total = { tokens: this.totalBurst, at: now };
  }

  /** True if a response to `host` may be sent at `now` (ms); takes a token if so. */
  allow(host: string, now: number): boolean {
    if (isLoopback(host)) return true;
    let b = this.sources.get(host);
    if (!b) {
      if (this.sources.size >= this.maxSources) this.sources.delete(this.sources.keys().next().value!);
      b = { tokens: this.burst, at: now };
      this.sources.set(host, b);
    }
    refill(b, now, this.rate, this.burst);
    refill(this.total, now, this.totalRate, this.totalBurst);
    if (b.tokens < 1 || this.total.tokens < 1) return false;
    b.tokens--;
    this.total.tokens--;
    return true;
  }

  /** Forget sources whose bucket is full again (called from the server's sweep). */
  sweep(now: number): void {
    for (const [host, b] of this.sources) {
      refill(b, now, this.rate, this.burst);
      if (b.tokens >= this.burst) this.sources.delete(host);
    }
  }

  /** Sources tracked now (tests, diagnostics). */
  get size(): number {
    return this.sources.size;
  }
}

function refill(b: Bucket, now: number, rate: number, burst: number): void {
  if (now > b.at) {
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) * rate) / 1000);
    b.at = now;
  }
}
