/**
 * SRTP replay protection (RFC 3711 section 3.3.2) applied after decryption: werift
 * authenticates SRTP packets but does not reject replays, so a recorded packet could be
 * injected again. This guard tracks, per SSRC, the highest extended sequence number
 * (rollover-aware) and a sliding window of recently seen ones; duplicates and packets
 * older than the window are rejected and counted.
 *
 * @example
 * ```ts
 * const guard = new RtpReplayGuard();
 * guard.accept(ssrc, seq); // true the first time
 * guard.accept(ssrc, seq); // false: replay
 * ```
 * @module
 */

/** Packets further behind the newest than this are rejected as too old. */
export const REPLAY_WINDOW = 1024;
/** Most SSRCs tracked per guard (a call has a handful; bounded against floods). */
export const MAX_SSRCS = 16;

interface SsrcState {
  /** Highest extended sequence number seen (seq + 65536 * rollovers). */
  highest: number;
  /** Bit i set = highest - i was seen. */
  window: Uint32Array;
}

/** Counters of rejected packets. */
export interface ReplayStats {
  accepted: number;
  duplicates: number;
  tooOld: number;
  unknownSsrcDropped: number;
}

/** Per-SSRC sliding replay window over 16-bit RTP sequence numbers. */
export class RtpReplayGuard {
  private states = new Map<number, SsrcState>();
  readonly stats: ReplayStats = { accepted: 0, duplicates: 0, tooOld: 0, unknownSsrcDropped: 0 };

  /** True if the packet is new and should be processed; false for a replay. */
  accept(ssrc: number, seq: number): boolean {
    let st = this.states.get(ssrc);
    if (!st) {
      if (this.states.size >= MAX_SSRCS) {
        this.stats.unknownSsrcDropped++;
        return false;
      }
      st = { highest: seq, window: new Uint32Array(REPLAY_WINDOW / 32) };
      st.window[0] = 1;
      this.states.set(ssrc, st);
      this.stats.accepted++;
      return true;
    }
    const ext = extend(st.highest, seq);
    const delta = ext - st.highest;
    if (delta > 0) {
      shift(st.window, delta);
      st.window[0]! |= 1;
      st.highest = ext;
      this.stats.accepted++;
      return true;
    }
    const age = -delta;
    if (age >= REPLAY_WINDOW) {
      this.stats.tooOld++;
      return false;
    }
    const word = age >>> 5;
    const bit = 1 << (age & 31);
    if (st.window[word]! & bit) {
      this.stats.duplicates++;
      return false;
    }
    st.window[word]! |= bit;
    this.stats.accepted++;
    return true;
  }
}

/** The extended sequence number closest to `highest` whose low 16 bits are `seq`. */
function extend(highest: number, seq: number): number {
  const base = highest - (highest & 0xffff);
  let ext = base + seq;
  if (ext - highest > 32768) ext -= 65536;
  else if (highest - ext > 32768) ext += 65536;
  return ext;
}

/** Shift the bitmap so that bit i moves to bit i + n (older). */
function shift(w: Uint32Array, n: number): void {
  if (n >= REPLAY_WINDOW) {
    w.fill(0);
    return;
  }
  const words = n >>> 5;
  const bits = n & 31;
  for (let i = w.length - 1; i >= 0; i--) {
    const src = i - words;
    let v = src >= 0 ? (w[src]! << bits) >>> 0 : 0;
    if (bits > 0 && src - 1 >= 0) v |= w[src - 1]! >>> (32 - bits);
    w[i] = v;
  }
}
