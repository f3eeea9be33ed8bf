/**
 * Randomness as an input. Real nodes use the platform CSPRNG; the simulator uses a
 * seeded generator so a whole run is reproducible from one number.
 *
 * @module
 */

/** Source of randomness. */
export interface Random {
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
}

/** The platform's cryptographically secure generator (for keys, nonces, IDs). */
export class SecureRandom implements Random {
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) {
      globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
    }
    return out;
  }
  float(): number {
    const b = this.bytes(8);
    const v = new DataView(b.buffer);
    // 53 random bits
    return (v.getUint32(0) * 2 ** 21 + (v.getUint32(4) >>> 11)) / 2 ** 53;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }
}

/**
 * Deterministic generator (sfc32 seeded through splitmix32). Not for secrets: only for
 * simulation and tests.
 *
 * @example
 * ```ts
 * const a = new SeededRandom(42), b = new SeededRandom(42);
 * a.int(100) === b.int(100); // true
 * ```
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Next raw 32-bit unsigned value. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      out[i] = v & 0xff;
      if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff;
      if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff;
      if (i + 3 < n) out[i + 3] = v >>> 24;
    }
    return out;
  }

  float(): number {
    return (this.u32() * 2 ** 21 + (this.u32() >>> 11)) / 2 ** 53;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }

  /** An independent generator derived from this one (for per-node streams). */
  fork(): SeededRandom {
    return new SeededRandom(this.u32());
  }
}
