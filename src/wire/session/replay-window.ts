/**
 * Sliding anti-replay window over 64-bit packet counters (RFC 6479 / WireGuard): a
 * 2048-bit ring bitmap. A counter is accepted once; counters more than
 * {@link REPLAY_WINDOW} behind the highest accepted one are refused as too old.
 *
 * Check before decrypting (cheap), mark only after the packet authenticated, so forged
 * packets cannot move the window.
 *
 * @module
 */

const WORDS = 64; // 2048 bits
/** Guaranteed reordering tolerance in packets (one word is the ring's slack). */
export const REPLAY_WINDOW = (WORDS - 1) * 32;

/** Why a counter was refused. */
export type ReplayVerdict = 'ok' | 'duplicate' | 'too-old';

/** One receive direction's replay state. */
export class ReplayWindow {
  private top = -1;
  private readonly bits = new Uint32Array(WORDS);

  /** Highest accepted counter (-1 before the first). */
  get highest(): number {
    return this.top;
  }

  /** Would `n` be accepted? Does not change state. */
  check(n: number): ReplayVerdict {
    if (n > this.top) return 'ok';
    if (this.top - n >= REPLAY_WINDOW) return 'too-old';
    const word = Math.floor(n / 32) % WORDS;
    return (this.bits[word]! & (1 << (n % 32))) !== 0 ? 'duplicate' : 'ok';
  }

  /** Mark `n` as seen; returns the verdict it had. */
  accept(n: number): ReplayVerdict {
    const v = this.check(n);
    if (v !== 'ok') return v;
    const idx = Math.floor(n / 32);
    if (n > this.top) {
      const cur = this.top < 0 ? -1 : Math.floor(this.top / 32);
      const steps = Math.min(idx - cur, WORDS);
      for (let i = 1; i <= steps; i++) this.bits[(cur + i) % WORDS] = 0;
      this.top = n;
    }
    this.bits[idx % WORDS]! |= 1 << (n % 32);
    return 'ok';
  }
}
