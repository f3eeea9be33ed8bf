/**
 * The swap of a split SimNet (sim-share.ts) between threads: one SharedArrayBuffer holds
 * a slot per sending share, receiving share and swap parity; a share writes its batch for
 * each peer into the slot, publishes the swap's number, and blocks (`Atomics.wait`) until
 * every peer has published its own. Two parities suffice: a share writes swap k's slot
 * only after it has read every peer's swap k - 1, which each peer wrote after reading
 * swap k - 2 from the same slot.
 *
 * Create the buffer once ({@link ShareMailbox.allocate}), hand it to every share's thread
 * (workers' `workerData`), and open a mailbox per share on it. A share that fails calls
 * {@link ShareMailbox.fail}: its peers' waits end with an error instead of a timeout.
 *
 * @example
 * ```ts
 * const buffer = ShareMailbox.allocate(2);
 * // in share i's worker:
 * const mailbox = new ShareMailbox(buffer, i);
 * await stepShare({ clock, net }, mailbox, until);
 * ```
 * @module
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ShareBatch } from './sim-share.ts';
import type { ShareExchange } from './share-stepper.ts';

/** Int32 fields before the slots' sequence numbers: share count, slot capacity, failed share + 1. */
const HEADER_INTS = 4;
const COUNT = 0;
const CAPACITY = 1;
const FAILED = 2;

/** Default bytes per slot (a swap's batch from one share to another). */
export const DEFAULT_SLOT_BYTES = 4 << 20;

/** Options of a {@link ShareMailbox}. */
export interface ShareMailboxOptions {
  /** How long a swap waits for a silent peer before it throws (default 120 s). */
  timeoutMs?: number;
  /**
   * How long a swap spins on a peer's swap number before it sleeps (default 2 ms when the
   * machine has a core per share, else 0: spinning on a shared core only delays the peer).
   */
  spinMs?: number;
}

/** One share's end of the shared swap buffer; see module docs. */
export class ShareMailbox implements ShareExchange {
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  private readonly count: number;
  private readonly capacity: number;
  private swaps = 0;

  /**
   * A buffer for `count` shares with `slotBytes` per slot (4 MiB by default; a batch that
   * does not fit is an error naming the size).
   */
  static allocate(count: number, slotBytes = DEFAULT_SLOT_BYTES): SharedArrayBuffer {
    if (!(Number.isInteger(count) && count >= 2)) throw new RangeError(`a mailbox needs at least 2 shares, got ${count}`);
    const slots = count * count * 2;
    const controlBytes = (HEADER_INTS + 2 * slots) * 4;
    const sab = new SharedArrayBuffer(controlBytes + slots * slotBytes);
    const control = new Int32Array(sab, 0, HEADER_INTS + 2 * slots);
    control[COUNT] = count;
    control[CAPACITY] = slotBytes;
    return sab;
  }

  private readonly timeoutMs: number;
  private readonly spinMs: number;

  /** Open share `index`'s end of `buffer`. */
  constructor(buffer: SharedArrayBuffer, readonly index: number, options: ShareMailboxOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
    const head = new Int32Array(buffer, 0, HEADER_INTS);
    this.count = head[COUNT]!;
    this.capacity = head[CAPACITY]!;
    if (!(Number.isInteger(index) && index >= 0 && index < this.count)) throw new RangeError(`share ${index} is not one of the mailbox's ${this.count}`);
    const slots = this.count * this.count * 2;
    this.control = new Int32Array(buffer, 0, HEADER_INTS + 2 * slots);
    this.data = new Uint8Array(buffer, (HEADER_INTS + 2 * slots) * 4);
    this.spinMs = options.spinMs ?? (availableParallelism() >= this.count ? 2 : 0);
  }

  /** Swaps done so far. */
  get swapsDone(): number {
    return this.swaps;
  }

  /**
   * Publish `outgoing[r]` for every other share r, then wait for and return theirs
   * (indexed by share): views into the shared buffer, valid until the next swap returns.
   */
  swap(outgoing: ShareBatch[]): (ShareBatch | undefined)[] {
    const k = ++this.swaps;
    const parity = k & 1;
    const me = this.index;
    for (let r = 0; r < this.count; r++) {
      if (r === me) continue;
      const slot = this.slot(me, r, parity);
      const at = slot * this.capacity;
      const bytes = outgoing[r]!;
      if (bytes.byteLength > this.capacity) {
        this.fail();
        throw new RangeError(`share ${me}'s batch for share ${r} (${bytes.byteLength} bytes) does not fit the mailbox's ${this.capacity}-byte slot`);
      }
      this.data.set(bytes, at);
      Atomics.store(this.control, this.lengthIndex(slot), bytes.byteLength);
      Atomics.store(this.control, this.seqIndex(slot), k);
      Atomics.notify(this.control, this.seqIndex(slot));
    }
    const incoming: (ShareBatch | undefined)[] = new Array(this.count).fill(undefined);
    for (let r = 0; r < this.count; r++) {
      if (r === me) continue;
      const slot = this.slot(r, me, parity);
      const seq = this.seqIndex(slot);
      // Spin first: a peer that is about done answers sooner than a sleeping thread is
      // woken (tens of microseconds or more in a VM), which matters when windows are short.
      if (this.spinMs > 0 && Atomics.load(this.control, seq) !== k) {
        const until = performance.now() + this.spinMs;
        for (let i = 1; Atomics.load(this.control, seq) !== k; i++) if ((i & 1023) === 0 && performance.now() > until) break;
      }
      const deadline = Date.now() + this.timeoutMs;
      for (let v = Atomics.load(this.control, seq); v !== k; v = Atomics.load(this.control, seq)) {
        this.checkFailed();
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`share ${r} did not reach swap ${k} within ${this.timeoutMs} ms`);
        Atomics.wait(this.control, seq, v, Math.min(left, 1000));
      }
      const at = slot * this.capacity;
      incoming[r] = this.data.subarray(at, at + Atomics.load(this.control, this.lengthIndex(slot)));
    }
    return incoming;
  }

  /** Tell every peer this share has failed: their swaps throw instead of waiting. */
  fail(): void {
    Atomics.compareExchange(this.control, FAILED, 0, this.index + 1);
    for (let i = HEADER_INTS; i < this.control.length; i++) Atomics.notify(this.control, i);
  }

  private checkFailed(): void {
    const f = Atomics.load(this.control, FAILED);
    if (f !== 0) throw new Error(`share ${f - 1} failed; share ${this.index} stops`);
  }

  private slot(from: number, to: number, parity: number): number {
    return (from * this.count + to) * 2 + parity;
  }

  private seqIndex(slot: number): number {
    return HEADER_INTS + 2 * slot;
  }

  private lengthIndex(slot: number): number {
    return HEADER_INTS + 2 * slot + 1;
  }
}
