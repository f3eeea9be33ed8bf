/**
 * Adaptive jitter buffer for RTP-style audio packets (one frame per packet, 20 ms by
 * default), in the manner of WebRTC's NetEQ but at packet granularity. Pure: time is
 * passed in as numbers, there are no timers and no I/O.
 *
 * How it decides:
 * - Each arriving packet's **transit** (`arrivalMs - timestamp/rate`) is compared with
 *   the smallest transit in a sliding window (`historyMs`, 2 s); the difference is the
 *   packet's *relative delay*. Relative delays go into a histogram with exponential
 *   forgetting, and the **target delay** is its `quantile` (99 %). A jitter increase
 *   reaches the 1 % tail within a few packets (grows fast); a decrease is forgotten over
 *   ~300 packets (shrinks slowly). The sliding minimum also absorbs sender/receiver
 *   clock drift.
 * - The **current delay** is how much later than the fastest recent packet the frame
 *   being played is played: `(nowMs - playTs/rate) - minTransit`.
 * - On each `pull(nowMs)` (one per 20 ms playout tick) the buffer returns one
 *   {@link PlayoutDecision}: play a packet (`normal`), merge two packets into one frame
 *   (`accelerate`, when the delay exceeds the target by a frame, at most once per
 *   `accelerateCooldownMs`: shrinks slowly), conceal without consuming (`preemptive`
 *   expand, when the delay is below target: grows fast), recover a missing frame from
 *   the next packet's in-band FEC (`fec`), conceal (`conceal`: lost, or `underrun` when
 *   the buffer ran dry, in which case a packet that then arrives late rewinds the
 *   playout point so the delay grows instead of the packet being lost), or comfort
 *   noise (`dtx`) during discontinuous transmission.
 * - **DTX** is told apart from loss by sequence numbers: a timestamp gap with no
 *   sequence gap is silence, not loss. During silence the delay is re-tuned for free by
 *   skipping or repeating silent frames.
 * - Sequence numbers (16-bit) and timestamps (32-bit) are unwrapped, so wraparound is
 *   invisible. Duplicates are dropped and counted; packets behind the playout point are
 *   dropped and counted as late (and no longer counted as lost).
 * - Everything is bounded: at most `maxPackets` are held (the oldest is discarded on
 *   overflow and the playout point jumps past it), the target never exceeds
 *   `maxDelayMs`, and all bookkeeping sets are capped.
 *
 * @example
 * ```ts
 * const jb = new JitterBuffer();
 * // on every RTP packet:
 * jb.insert({ seq: rtp.sequenceNumber, timestamp: rtp.timestamp, arrivalMs: clock.now(),
 *             payload: rtp.payload, marker: rtp.marker });
 * // every 20 ms:
 * const d = jb.pull(clock.now());
 * // d.kind: 'normal' | 'fec' | 'conceal' | 'dtx' | 'silence'  (see PlayoutDecision)
 * ```
 * @module
 */

/** One received packet. `seq` is 16-bit, `timestamp` 32-bit in clock-rate units. */
export interface RtpPacket {
  seq: number;
  timestamp: number;
  /** Local receive time in milliseconds (any epoch, same as `pull`'s `nowMs`). */
  arrivalMs: number;
  payload: Uint8Array;
  /** RTP marker bit: first packet of a talkspurt (after DTX silence). */
  marker?: boolean;
  /**
   * A redundant copy recovered from a later packet (RFC 2198 RED): it fills a gap if it
   * is still useful, is silently dropped if its frame is already here, and does not
   * feed the delay statistics (it rode in a later packet).
   */
  redundant?: boolean;
}

/** Why a frame is being concealed. */
export type ConcealReason =
  /** The packet for this slot is missing and a later one has arrived. */
  | 'lost'
  /** The buffer is empty (packet late or lost: not known yet). */
  | 'underrun'
  /** The packet is here, but the delay is below target: stretch by one frame. */
  | 'preemptive';

/** The time-stretch operation a decision performs on the playout timeline. */
export type TimeStretch = 'normal' | 'expand' | 'accelerate' | 'preemptiveExpand';

/** What to play for one frame; returned by {@link JitterBuffer.pull}. */
export type PlayoutDecision =
  | {
      kind: 'normal';
      action: 'normal' | 'accelerate';
      payload: Uint8Array;
      seq: number;
      timestamp: number;
      /**
       * Only with `action: 'accelerate'`: the next frame's payload. Decode both and
       * compress the two frames into one (e.g. cross-fade), dropping one frame of delay.
       */
      merge?: Uint8Array;
    }
  | {
      kind: 'fec';
      action: 'normal';
      /** Payload of the *next* packet: decode its in-band FEC to get this frame. */
      payload: Uint8Array;
      /** Sequence number and timestamp of the frame being recovered. */
      seq: number;
      timestamp: number;
    }
  | { kind: 'conceal'; action: 'expand' | 'preemptiveExpand'; reason: ConcealReason }
  | { kind: 'dtx'; action: TimeStretch }
  | { kind: 'silence'; action: 'normal' };

/** Counters and the current delays; see {@link JitterBuffer.stats}. */
export interface JitterStats {
  /** Delay of the frame played last, relative to the fastest recent packet (ms). */
  currentDelayMs: number;
  /** Target delay from the relative-delay histogram (ms). */
  targetDelayMs: number;
  /** Packets held. */
  bufferedPackets: number;
  /** Audio held ahead of the playout point (ms). */
  bufferedMs: number;
  /** Packets given to insert() (including invalid and duplicates). */
  received: number;
  /** Packets decoded normally (merged ones included). */
  played: number;
  /** Packets that arrived after their playout time (dropped). */
  late: number;
  /** Sequence numbers never available at their playout time (late ones excluded). */
  lost: number;
  /** Frames concealed because data was missing (lost or underrun). */
  concealed: number;
  /** Frames recovered from the next packet's in-band FEC. */
  fecRecovered: number;
  duplicates: number;
  /** Packets that arrived with a lower sequence number than one already received. */
  reordered: number;
  /** Frames of DTX silence (comfort noise). */
  dtxFrames: number;
  /** Frames dropped by merging (delay shrunk by one frame each). */
  accelerate: number;
  /** Concealed frames while the buffer was empty (delay may have grown). */
  expand: number;
  /** Frames inserted to grow the delay while data was present. */
  preemptiveExpand: number;
  /** Packets discarded because the buffer was full. */
  overflow: number;
  /** Times the buffer was flushed and restarted (stream discontinuity). */
  resets: number;
  /** Malformed packets dropped. */
  invalid: number;
  /** Redundant (RED) copies that filled a gap before its playout time. */
  redundantUsed: number;
}

/** Tuning; every field has a sensible default for 48 kHz / 20 ms Opus. */
export interface JitterBufferOptions {
  /** RTP clock rate (Hz). Default 48000. */
  clockRate?: number;
  /** Duration of one packet and of one playout tick (ms). Default 20. */
  frameMs?: number;
  /** Quantile of relative delay used as target. Default 0.99. */
  quantile?: number;
  /** Histogram forgetting factor per packet. Default 0.99 (memory ~ 100 packets). */
  forgetFactor?: number;
  /** Lower bound of the target (ms). Default 20. */
  minDelayMs?: number;
  /** Upper bound of the target (ms). Default 500. */
  maxDelayMs?: number;
  /** Prior target before measurements dominate (ms). Default 60. */
  initialDelayMs?: number;
  /** Maximum packets held. Default 50 (1 s of 20 ms frames). */
  maxPackets?: number;
  /** Emit `fec` decisions (codec has in-band FEC). Default true. */
  fec?: boolean;
  /** Minimum time between two accelerates (ms): shrink slowly. Default 300. */
  accelerateCooldownMs?: number;
  /** Window of the minimum-transit reference (ms). Default 2000. */
  historyMs?: number;
  /** An underrun up to this long is undone when the packet turns up late. Default 120. */
  maxRewindMs?: number;
  /** A packet this far ahead of the playout point restarts the stream (ms). Default 4000. */
  maxFutureMs?: number;
  /** This many consecutive late packets restart the stream. Default 8. */
  lateResetCount?: number;
  /**
   * Playout moves in whole frames, so the delay is kept in
   * [target, target + frame + hysteresis): below it a frame is added at once, above it
   * one is removed. Default 0.
   */
  hysteresisMs?: number;
  /**
   * Recognises a codec's DTX/comfort-noise payload (e.g. Opus packets of 1-2 bytes).
   * After one is played, an empty buffer means silence (`dtx`), not an underrun.
   */
  isDtxPayload?: (payload: Uint8Array) => boolean;
  /** The delay must exceed the band this long before a frame is removed (ms). Default 200. */
  accelerateHoldMs?: number;
}

interface Entry {
  seq: number; // extended
  ts: number; // extended
  arrivalMs: number;
  payload: Uint8Array;
  marker: boolean;
}

const BUCKET_MS = 5;
const SEEN_CAP = 512;
const SET_CAP = 256;
const TRANSIT_CAP = 1024;
// Extended counters start here so that reordering before the first packet stays positive.
const SEQ_BASE = 65536 * 16;
const TS_BASE = 4294967296 * 16;

function safe(fn: (p: Uint8Array) => boolean, p: Uint8Array): boolean {
  try {
    return fn(p) === true;
  } catch {
    return false;
  }
}

/** A bounded insertion-ordered set (oldest evicted first). */
class BoundedSet {
  private set = new Set<number>();
  constructor(private cap: number) {}
  add(v: number): void {
    if (this.set.has(v)) return;
    this.set.add(v);
    if (this.set.size > this.cap) this.set.delete(this.set.values().next().value!);
  }
  has(v: number): boolean {
    return this.set.has(v);
  }
  delete(v: number): boolean {
    return this.set.delete(v);
  }
  clear(): void {
    this.set.clear();
  }
}

/** The adaptive jitter buffer; see the module documentation. */
export class JitterBuffer {
  readonly clockRate: number;
  readonly frameMs: number;
  /** One frame in timestamp units. */
  readonly frameTs: number;
  private readonly o: Required<Omit<JitterBufferOptions, 'isDtxPayload'>>;
  private readonly isDtxPayload: ((payload: Uint8Array) => boolean) | undefined;

  private buf: Entry[] = [];
  private state: 'idle' | 'buffering' | 'playing' = 'idle';
  private hiSeq: number | undefined;
  private hiTs: number | undefined;
  private playTs = 0;
  private lastSeq = 0; // extended seq of the last frame accounted for
  private inDtx = false;
  private underrun: { ts: number; seq: number; frames: number } | undefined;
  private lastAccelMs = -Infinity;
  private overSinceMs = Infinity;
  private consecutiveLate = 0;
  private seen = new BoundedSet(SEEN_CAP);
  private lostSeqs = new BoundedSet(SET_CAP);
  private lateSeqs = new BoundedSet(SET_CAP);

  // Sliding minimum of transit: monotonic deque.
  private trArrival: number[] = [];
  private trValue: number[] = [];
  private maxArrival = -Infinity;

  // Relative-delay histogram with exponential forgetting (scaled weights).
  private hist: Float64Array;
  private weight = 1;
  private target: number;
  private curDelay = 0;

  private s: JitterStats = {
    currentDelayMs: 0,
    targetDelayMs: 0,
    bufferedPackets: 0,
    bufferedMs: 0,
    received: 0,
    played: 0,
    late: 0,
    lost: 0,
    concealed: 0,
    fecRecovered: 0,
    duplicates: 0,
    reordered: 0,
    dtxFrames: 0,
    accelerate: 0,
    expand: 0,
    preemptiveExpand: 0,
    overflow: 0,
    resets: 0,
    invalid: 0,
    redundantUsed: 0,
  };

  constructor(options: JitterBufferOptions = {}) {
    this.o = {
      clockRate: 48000,
      frameMs: 20,
      quantile: 0.99,
      forgetFactor: 0.99,
      minDelayMs: 20,
      maxDelayMs: 500,
      initialDelayMs: 60,
      maxPackets: 50,
      fec: true,
      accelerateCooldownMs: 300,
      historyMs: 2000,
      maxRewindMs: 120,
      maxFutureMs: 4000,
      lateResetCount: 8,
      hysteresisMs: 0,
      accelerateHoldMs: 200,
      ...options,
    };
    delete (this.o as JitterBufferOptions).isDtxPayload;
    const o = this.o;
    if (!(o.clockRate > 0) || !(o.frameMs > 0) || !(o.quantile > 0 && o.quantile < 1) || !(o.forgetFactor > 0 && o.forgetFactor < 1)) {
      throw new RangeError('JitterBuffer: clockRate and frameMs must be > 0, quantile and forgetFactor in (0, 1)');
    }
    if (!(o.maxPackets >= 2) || !(o.maxDelayMs >= o.minDelayMs)) throw new RangeError('JitterBuffer: maxPackets >= 2 and maxDelayMs >= minDelayMs');
    this.isDtxPayload = options.isDtxPayload;
    this.clockRate = o.clockRate;
    this.frameMs = o.frameMs;
    this.frameTs = Math.round((o.clockRate * o.frameMs) / 1000);
    this.hist = new Float64Array(Math.ceil(o.maxDelayMs / BUCKET_MS) + 1);
    this.hist[this.bucketOf(o.initialDelayMs)] = 1;
    this.target = this.computeTarget();
  }

  /**
   * Add a received packet. Returns true if it was buffered, false if it was dropped
   * (duplicate, late, malformed). Never throws on bad input.
   */
  insert(p: RtpPacket): boolean {
    const s = this.s;
    s.received++;
    if (
      p === null ||
      typeof p !== 'object' ||
      !Number.isFinite(p.seq) ||
      !Number.isFinite(p.timestamp) ||
      !Number.isFinite(p.arrivalMs) ||
      !(p.payload instanceof Uint8Array)
    ) {
      s.invalid++;
      return false;
    }
    const seq16 = Math.trunc(p.seq) & 0xffff;
    const ts32 = Math.trunc(p.timestamp) >>> 0;
    let seq: number;
    let ts: number;
    if (this.hiSeq === undefined || this.hiTs === undefined) {
      seq = SEQ_BASE + seq16;
      ts = TS_BASE + ts32;
      this.hiSeq = seq;
      this.hiTs = ts;
    } else {
      seq = this.hiSeq + (((seq16 - (this.hiSeq & 0xffff)) << 16) >> 16);
      ts = this.hiTs + ((ts32 - (this.hiTs % 4294967296)) | 0);
    }

    const redundant = p.redundant === true;
    if (this.seen.has(seq) || this.buf.some((e) => e.seq === seq)) {
      if (!redundant) s.duplicates++;
      return false;
    }
    if (redundant) {
      // Only useful to fill a gap in a stream that is already playing.
      if (this.state !== 'playing' || seq <= this.lastSeq || ts < this.playTs - this.frameTs / 2 || seq > this.hiSeq) return false;
      this.seen.add(seq);
      s.redundantUsed++;
      this.put({ seq, ts, arrivalMs: p.arrivalMs, payload: p.payload, marker: false });
      return true;
    }
    if (seq < this.hiSeq) s.reordered++;
    this.hiSeq = Math.max(this.hiSeq, seq);
    this.hiTs = Math.max(this.hiTs, ts);
    this.seen.add(seq);
    this.measure(ts, p.arrivalMs);

    const e: Entry = { seq, ts, arrivalMs: p.arrivalMs, payload: p.payload, marker: p.marker === true };
    const half = this.frameTs / 2;

    if (this.state === 'idle') {
      this.state = 'buffering';
      this.buf.push(e);
      this.updateBuffered();
      return true;
    }

    if (this.state === 'buffering') {
      const first = this.buf[0];
      if (first && Math.abs(ts - first.ts) > this.msToTs(this.o.maxFutureMs)) {
        this.restart(e);
        return true;
      }
      this.put(e);
      return true;
    }

    // playing
    if (ts < this.playTs - half || seq <= this.lastSeq) {
      const u = this.underrun;
      if (u && seq >= u.seq && ts >= u.ts - half && ts < this.playTs && this.playTs - ts <= this.msToTs(this.o.maxRewindMs)) {
        // The buffer ran dry waiting for this packet: play it late instead of losing it.
        this.playTs = ts;
        this.advanceSeq(seq);
        this.lastSeq = seq - 1;
        this.underrun = undefined;
        this.consecutiveLate = 0;
        this.put(e);
        return true;
      }
      s.late++;
      if (this.lostSeqs.delete(seq)) s.lost--;
      else if (seq > this.lastSeq) this.lateSeqs.add(seq);
      if (++this.consecutiveLate >= this.o.lateResetCount && this.buf.length === 0) this.restart(e);
      return false;
    }
    this.consecutiveLate = 0;
    if (ts > this.playTs + this.msToTs(this.o.maxFutureMs) && this.buf.length > 0) {
      this.restart(e);
      return true;
    }
    const u = this.underrun;
    if (u && seq >= u.seq && this.buf.length === 0) {
      // More frames of time passed than sequence numbers: the excess was a DTX gap,
      // so the frames concealed while waiting for it were silence, not loss.
      const silent = Math.min(u.frames, Math.round((ts - u.ts) / this.frameTs) - (seq - u.seq));
      if (silent > 0) {
        s.concealed -= silent;
        s.expand -= silent;
        s.dtxFrames += silent;
        this.underrun = undefined;
        this.inDtx = true;
      }
    }
    if (e.marker && this.buf.length === 0) this.inDtx = true;
    this.put(e);
    return true;
  }

  /**
   * What to play for the 20 ms tick at `nowMs`. Call once per frame, at the frame
   * rate of the playback device.
   */
  pull(nowMs: number): PlayoutDecision {
    if (!Number.isFinite(nowMs) || this.state === 'idle') return { kind: 'silence', action: 'normal' };
    this.target = this.computeTarget();
    const minTransit = this.minTransit();
    const s = this.s;
    const half = this.frameTs / 2;

    if (this.state === 'buffering') {
      const first = this.buf[0];
      if (!first) return { kind: 'silence', action: 'normal' };
      const delay = nowMs - this.tsToMs(first.ts) - minTransit;
      if (delay < this.target) {
        this.updateBuffered();
        return { kind: 'silence', action: 'normal' };
      }
      this.state = 'playing';
      this.playTs = first.ts;
      this.lastSeq = first.seq - 1;
    }

    // Anything now behind the playout point is late.
    while (this.buf.length > 0 && this.buf[0]!.ts < this.playTs - half) {
      const e = this.buf.shift()!;
      s.late++;
      if (e.seq > this.lastSeq) this.lateSeqs.add(e.seq);
    }

    const delay = nowMs - this.tsToMs(this.playTs) - minTransit;
    this.curDelay = delay;
    s.currentDelayMs = delay;
    s.targetDelayMs = this.target;
    const p = this.buf[0];
    let d: PlayoutDecision;

    if (p && p.ts < this.playTs + half) {
      // The frame for this slot is here.
      this.playTs = p.ts;
      this.inDtx = false;
      this.underrun = undefined;
      if (delay < this.target) {
        s.preemptiveExpand++;
        d = { kind: 'conceal', action: 'preemptiveExpand', reason: 'preemptive' };
      } else {
        const q = this.buf[1];
        this.buf.shift();
        this.advanceSeq(p.seq);
        s.played++;
        const over = delay >= this.target + this.frameMs + this.o.hysteresisMs;
        if (!over) this.overSinceMs = Infinity;
        else if (this.overSinceMs === Infinity) this.overSinceMs = nowMs;
        if (
          q &&
          over &&
          nowMs - this.overSinceMs >= this.o.accelerateHoldMs &&
          q.seq === p.seq + 1 &&
          Math.abs(q.ts - (p.ts + this.frameTs)) < half &&
          nowMs - this.lastAccelMs >= this.o.accelerateCooldownMs
        ) {
          this.buf.shift();
          this.advanceSeq(q.seq);
          s.played++;
          s.accelerate++;
          this.lastAccelMs = nowMs;
          this.playTs = q.ts + this.frameTs;
          d = { kind: 'normal', action: 'accelerate', payload: p.payload, seq: p.seq & 0xffff, timestamp: p.ts % 4294967296, merge: q.payload };
        } else {
          this.playTs = p.ts + this.frameTs;
          if (this.isDtxPayload) this.inDtx = safe(this.isDtxPayload, p.payload);
          d = { kind: 'normal', action: 'normal', payload: p.payload, seq: p.seq & 0xffff, timestamp: p.ts % 4294967296 };
        }
      }
    } else if (p) {
      // A later packet is here, but nothing for this slot.
      const expected = this.lastSeq + 1;
      this.underrun = undefined;
      if (p.seq === expected || this.inDtx) {
        // No sequence number missing: a DTX gap. Re-tune the delay for free.
        this.inDtx = true;
        s.dtxFrames++;
        const slots = Math.max(1, Math.floor((p.ts - this.playTs + half) / this.frameTs));
        if (delay >= this.target + this.frameMs + this.o.hysteresisMs && slots >= 2) {
          const skip = Math.min(slots - 1, Math.floor((delay - this.target) / this.frameMs));
          this.playTs += this.frameTs * (1 + skip);
          d = { kind: 'dtx', action: 'accelerate' };
        } else if (delay < this.target) {
          d = { kind: 'dtx', action: 'preemptiveExpand' };
        } else {
          this.playTs += this.frameTs;
          d = { kind: 'dtx', action: 'normal' };
        }
      } else {
        this.advanceSeq(expected);
        this.lostSeqs.add(expected);
        s.lost++;
        const lostTs = this.playTs;
        this.playTs += this.frameTs;
        if (this.o.fec && p.seq === expected + 1 && Math.abs(p.ts - this.playTs) < half) {
          s.fecRecovered++;
          d = { kind: 'fec', action: 'normal', payload: p.payload, seq: expected & 0xffff, timestamp: lostTs % 4294967296 };
        } else {
          s.concealed++;
          d = { kind: 'conceal', action: 'expand', reason: 'lost' };
        }
      }
    } else if (this.inDtx) {
      s.dtxFrames++;
      this.playTs += this.frameTs;
      d = { kind: 'dtx', action: 'normal' };
    } else {
      // Empty: late or lost, we cannot tell yet. Conceal; a late arrival rewinds.
      this.underrun ??= { ts: this.playTs, seq: this.lastSeq + 1, frames: 0 };
      this.underrun.frames++;
      s.concealed++;
      s.expand++;
      this.playTs += this.frameTs;
      d = { kind: 'conceal', action: 'expand', reason: 'underrun' };
    }
    this.updateBuffered();
    return d;
  }

  /** A snapshot of the counters and delays. */
  stats(): JitterStats {
    this.s.targetDelayMs = this.target;
    return { ...this.s };
  }

  /** Current target delay (ms). */
  get targetDelayMs(): number {
    this.target = this.computeTarget();
    return this.target;
  }

  /** Delay of the last frame pulled (ms). */
  get currentDelayMs(): number {
    return this.curDelay;
  }

  /** Forget all packets and timing state (keeps counters and the delay histogram). */
  reset(): void {
    this.buf = [];
    this.state = 'idle';
    this.hiSeq = undefined;
    this.hiTs = undefined;
    this.underrun = undefined;
    this.inDtx = false;
    this.consecutiveLate = 0;
    this.seen.clear();
    this.lostSeqs.clear();
    this.lateSeqs.clear();
    this.trArrival = [];
    this.trValue = [];
    this.maxArrival = -Infinity;
    this.updateBuffered();
  }

  private restart(e: Entry): void {
    this.s.resets++;
    const transitHi = { seq: e.seq, ts: e.ts };
    this.reset();
    this.hiSeq = transitHi.seq;
    this.hiTs = transitHi.ts;
    this.seen.add(e.seq);
    this.measure(e.ts, e.arrivalMs);
    this.state = 'buffering';
    this.buf.push(e);
    this.updateBuffered();
  }

  /** Insert in timestamp order, evicting the oldest when full. */
  private put(e: Entry): void {
    const b = this.buf;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = b[mid]!;
      if (m.ts < e.ts || (m.ts === e.ts && m.seq < e.seq)) lo = mid + 1;
      else hi = mid;
    }
    b.splice(lo, 0, e);
    while (b.length > this.o.maxPackets) {
      const old = b.shift()!;
      this.s.overflow++;
      if (this.state === 'playing') {
        this.playTs = Math.max(this.playTs, old.ts + this.frameTs);
        this.lastSeq = Math.max(this.lastSeq, old.seq);
      }
    }
    this.updateBuffered();
  }

  /** Account for every sequence number up to and including `seq`. */
  private advanceSeq(seq: number): void {
    const gap = seq - this.lastSeq - 1;
    if (gap > 0) {
      const n = Math.min(gap, SET_CAP);
      let lost = gap - n;
      for (let k = seq - n; k < seq; k++) {
        if (this.lateSeqs.delete(k)) continue;
        this.lostSeqs.add(k);
        lost++;
      }
      this.s.lost += lost;
    }
    if (seq > this.lastSeq) this.lastSeq = seq;
  }

  private measure(ts: number, arrivalMs: number): void {
    const transit = arrivalMs - this.tsToMs(ts);
    if (arrivalMs > this.maxArrival) this.maxArrival = arrivalMs;
    const A = this.trArrival;
    const V = this.trValue;
    while (V.length > 0 && V[V.length - 1]! >= transit) {
      V.pop();
      A.pop();
    }
    V.push(transit);
    A.push(arrivalMs);
    while (A.length > 1 && (A[0]! < this.maxArrival - this.o.historyMs || A.length > TRANSIT_CAP)) {
      A.shift();
      V.shift();
    }
    const rel = transit - V[0]!;
    // Forgetting: older samples' weights shrink relative to new ones.
    const f = this.o.forgetFactor;
    this.hist[this.bucketOf(rel)]! += this.weight * (1 - f);
    this.weight /= f;
    if (this.weight > 1e100) {
      for (let i = 0; i < this.hist.length; i++) this.hist[i]! /= this.weight;
      this.weight = 1;
    }
  }

  private minTransit(): number {
    return this.trValue.length > 0 ? this.trValue[0]! : 0;
  }

  private bucketOf(ms: number): number {
    if (!(ms > 0)) return 0;
    return Math.min(this.hist.length - 1, Math.floor(ms / BUCKET_MS));
  }

  private computeTarget(): number {
    const h = this.hist;
    let total = 0;
    for (let i = 0; i < h.length; i++) total += h[i]!;
    const want = total * this.o.quantile;
    let acc = 0;
    let q = h.length * BUCKET_MS;
    for (let i = 0; i < h.length; i++) {
      const v = h[i]!;
      if (acc + v >= want && v > 0) {
        // Interpolate inside the bucket.
        q = (i + (want - acc) / v) * BUCKET_MS;
        break;
      }
      acc += v;
    }
    return Math.min(this.o.maxDelayMs, Math.max(this.o.minDelayMs, q));
  }

  private updateBuffered(): void {
    const b = this.buf;
    this.s.bufferedPackets = b.length;
    if (b.length === 0) this.s.bufferedMs = 0;
    else {
      const from = this.state === 'playing' ? Math.min(this.playTs, b[0]!.ts) : b[0]!.ts;
      this.s.bufferedMs = this.tsToMs(b[b.length - 1]!.ts + this.frameTs - from);
    }
  }

  private tsToMs(ts: number): number {
    return (ts * 1000) / this.clockRate;
  }

  private msToTs(ms: number): number {
    return (ms * this.clockRate) / 1000;
  }
}
