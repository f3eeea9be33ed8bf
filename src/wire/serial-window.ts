/**
 * A sliding window over 32-bit serial numbers (RFC 1982 arithmetic): remembers which of
 * the last `size` ids have been seen, so a duplicate is recognised and anything older
 * than the window is refused as stale. Fixed memory whatever the input.
 *
 * Used by reassembly (message ids already delivered or given up) and by the RPC
 * responder (request ids already executed).
 *
 * @example
 * ```ts
 * const w = new SerialWindow(64);
 * w.check(7); // 'new'
 * w.mark(7);
 * w.check(7); // 'duplicate'
 * w.mark(100);
 * w.check(7); // 'stale' (more than 64 behind the highest id)
 * ```
 * @module
 */

/** What a window says about an id. */
export type SerialStatus = 'new' | 'duplicate' | 'stale';

/** Sliding window of seen u32 ids; see module docs. */
export class SerialWindow {
  /**
   * One bit per slot (id modulo `size`), made when a slot from {@link INLINE_SLOTS} on is
   * first set: until then the bits of slots 0-29 live in `low` (an RPC peer's ids start at
   * 0, and most peers of a large node serve a few requests in their lifetime: no array).
   */
  private bits: Uint32Array | undefined;
  private low = 0;
  private highest = 0;
  private empty = true;

  /** How many ids behind the highest one are remembered. */
  readonly size: number;

  /** @param size window length, rounded up to a power of two (so slots stay consistent across u32 wrap-around). */
  constructor(size = 1024) {
    SerialWindow.checkSize(size);
    let n = 32;
    while (n < size) n *= 2;
    this.size = n;
  }

  /** Throw the RangeError the constructor would for `size` (for an owner that makes its window later). */
  static checkSize(size: number): void {
    if (!Number.isInteger(size) || size < 1 || size > 1 << 20) throw new RangeError('SerialWindow size must be an integer in 1..2^20');
  }

  /** Classify `id` without recording it. */
  check(id: number): SerialStatus {
    id >>>= 0;
    if (this.empty) return 'new';
    const ahead = (id - this.highest) >>> 0;
    if (ahead !== 0 && ahead < 0x80000000) return 'new';
    const behind = (this.highest - id) >>> 0;
    if (behind >= this.size) return 'stale';
    return this.get(id) ? 'duplicate' : 'new';
  }

  /** Record `id` as seen. Stale ids are ignored (they are already refused by {@link check}). */
  mark(id: number): void {
    id >>>= 0;
    if (this.empty) {
      this.empty = false;
      this.highest = id;
      this.set(id);
      return;
    }
    const ahead = (id - this.highest) >>> 0;
    if (ahead !== 0 && ahead < 0x80000000) {
      if (ahead >= this.size) {
        this.bits?.fill(0);
        this.low = 0;
      }
      else for (let i = 1; i <= ahead; i++) this.clear((this.highest + i) >>> 0);
      this.highest = id;
      this.set(id);
      return;
    }
    const behind = (this.highest - id) >>> 0;
    if (behind < this.size) this.set(id);
  }

  private get(id: number): boolean {
    const slot = id % this.size;
    const bits = this.bits;
    if (bits === undefined) return slot < INLINE_SLOTS && (this.low & (1 << slot)) !== 0;
    return (bits[slot >>> 5]! & (1 << (slot & 31))) !== 0;
  }
  private set(id: number): void {
    const slot = id % this.size;
    let bits = this.bits;
    if (bits === undefined) {
      if (slot < INLINE_SLOTS) {
        this.low |= 1 << slot;
        return;
      }
      bits = this.bits = new Uint32Array(this.size / 32);
      bits[0] = this.low;
    }
    bits[slot >>> 5]! |= 1 << (slot & 31);
  }
  private clear(id: number): void {
    const slot = id % this.size;
    const bits = this.bits;
    if (bits === undefined) {
      if (slot < INLINE_SLOTS) this.low &= ~(1 << slot);
      return;
    }
    bits[slot >>> 5]! &= ~(1 << (slot & 31));
  }
}

/** Slots kept in a small integer before the bit array is made (V8 keeps 30 bits unboxed). */
const INLINE_SLOTS = 30;
