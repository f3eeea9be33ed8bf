/**
 * The swap of a split SimNet (sim-share.ts) between threads: one SharedArrayBuffer holds
 * a ring of slots per sending and receiving share; a share writes its batch for each peer
 * into the next slot, publishes the swap's number, and blocks (`Atomics.wait`) until every
 * peer has published the batch it needs now.
 *
 * With `depth` d, swap k returns the peers' batches of swap k - d + 1: a share may run up
 * to d - 1 windows ahead of the slowest, which absorbs the windows' uneven work. That is
 * exact when windows are at most lookahead / d long (share-stepper.ts): a datagram sent in
 * window j arrives after window j + d - 1 ends. Rings of 2d slots suffice: a share writes
 * swap k + 2d only after reading the peers' swap k + d, which each peer wrote after
 * reading swap k from the same slot.
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

/** Int32 fields before the slots' sequence numbers: share count, slot capacity, failed share + 1, depth. */
const HEADER_INTS = 4;
const COUNT = 0;
const CAPACITY = 1;
const FAILED = 2;
const DEPTH = 3;

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
  /** Swaps a batch takes to be delivered (see {@link swap}). */
  readonly depth: number;
  private swaps = 0;

  /**
   * A buffer for `count` shares with `slotBytes` per slot (4 MiB by default; a batch that
   * does not fit is an error naming the size).
   */
  static allocate(count: number, slotBytes = DEFAULT_SLOT_BYTES, depth = 1): SharedArrayBuffer {
    if (!(Number.isInteger(count) && count >= 2)) throw new RangeError(`a mailbox needs at least 2 shares, got ${count}`);
    if (!(Number.isInteger(depth) && depth >= 1 && depth <= 16)) throw new RangeError(`depth must be a whole number from 1 to 16, got ${depth}`);
    const slots = count * (count - 1) * 2 * depth;
    const controlBytes = (HEADER_INTS + 2 * slots) * 4;
    const sab = new SharedArrayBuffer(controlBytes + slots * slotBytes);
    const control = new Int32Array(sab, 0, HEADER_INTS + 2 * slots);
    control[COUNT] = count;
    control[CAPACITY] = slotBytes;
    control[DEPTH] = depth;
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
    this.depth = head[DEPTH]!;
    if (!(Number.isInteger(index) && index >= 0 && index < this.count)) throw new RangeError(`share ${index} is not one of the mailbox's ${this.count}`);
    const slots = this.count * (this.count - 1) * 2 * this.depth;
    this.control = new Int32Array(buffer, 0, HEADER_INTS + 2 * slots);
    this.data = new Uint8Array(buffer, (HEADER_INTS + 2 * slots) * 4);
    this.spinMs = options.spinMs ?? (availableParallelism() >= this.count ? 2 : 0);
  }

  /** Swaps done so far. */
  get swapsDone(): number {
    return this.swaps;
  }

  /**
   * Publish `outgoing[r]` for every other share r as swap k's batch, then wait for and
   * return the peers' batches of swap k - depth + 1 (indexed by share; none in the first
   * depth - 1 swaps): views into the shared buffer, valid until the next swap returns.
   */
  swap(outgoing: ShareBatch[]): (ShareBatch | undefined)[] {
    const k = ++this.swaps;
    const ring = 2 * this.depth;
    const me = this.index;
    const incoming: (ShareBatch | undefined)[] = new Array(this.count).fill(undefined);
    const due = k - this.depth + 1;
    for (let r = 0; r < this.count; r++) {
      if (r === me) continue;
      const slot = this.slot(me, r, k % ring);
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
    if (due < 1) return incoming;
    for (let r = 0; r < this.count; r++) {
      if (r === me) continue;
      const slot = this.slot(r, me, due % ring);
      const seq = this.seqIndex(slot);
      // Spin first: a peer that is about done answers sooner than a sleeping thread is
      // woken (tens of microseconds or more in a VM), which matters when windows are short.
      if (this.spinMs > 0 && Atomics.load(this.control, seq) !== due) {
        const until = performance.now() + this.spinMs;
        for (let i = 1; Atomics.load(this.control, seq) !== due; i++) if ((i & 1023) === 0 && performance.now() > until) break;
      }
      const deadline = Date.now() + this.timeoutMs;
      for (let v = Atomics.load(this.control, seq); v !== due; v = Atomics.load(this.control, seq)) {
        this.checkFailed();
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`share ${r} did not reach swap ${due} within ${this.timeoutMs} ms`);
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

  /** Slot of batches from share `from` to share `to` (from != to) at ring `position`. */
  private slot(from: number, to: number, position: number): number {
    const pair = from * (this.count - 1) + (to > from ? to - 1 : to);
    return pair * 2 * this.depth + position;
  }

  private seqIndex(slot: number): number {
    return HEADER_INTS + 2 * slot;
  }

  private lengthIndex(slot: number): number {
    return HEADER_INTS + 2 * slot + 1;
  }
}
