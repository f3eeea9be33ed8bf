/**
 * Receive-side RTP statistics of one stream, as RFC 3550 defines them: interarrival
 * jitter (section 6.4.1 / A.8: J += (|D| - J) / 16, D the change in transit time, in
 * timestamp units) and cumulative loss from the extended highest sequence number
 * (A.3: expected = highest - first + 1, lost = expected - received). Only primary
 * packets count (not RED copies, which rode in a later packet); duplicates are not
 * counted twice because the replay guard drops them first.
 *
 * @example
 * ```ts
 * const rx = new RtpReceiveStats(48000);
 * rx.onPacket(seq, timestamp, clock.now());
 * rx.jitterMs; rx.lossPct;
 * ```
 * @module
 */

/** Counters of {@link RtpReceiveStats}. */
export interface RtpReceiveSnapshot {
  received: number;
  expected: number;
  lost: number;
  /** Cumulative loss, percent (0 before two packets). */
  lossPct: number;
  /** RFC 3550 interarrival jitter, ms. */
  jitterMs: number;
}

/** RFC 3550 jitter and loss for one incoming stream. */
export class RtpReceiveStats {
  private first: number | undefined;
  private highest = 0;
  private received = 0;
  private jitter = 0;
  private lastTransit: number | undefined;
  private carried = { expected: 0, received: 0 };

  constructor(private readonly clockRate = 48000) {}

  /** Count a primary packet with 16-bit `seq`, 32-bit `timestamp`, arriving at `arrivalMs`. */
  onPacket(seq: number, timestamp: number, arrivalMs: number): void {
    this.received++;
    if (this.first === undefined) {
      this.first = seq;
      this.highest = seq;
    } else {
      const ext = extend(this.highest, seq);
      if (ext > this.highest) this.highest = ext;
      if (ext < this.first) this.first = ext;
    }
    // Transit in timestamp units, modulo 2^32 so that wraparound cancels out in D.
    const arrival = Math.round((arrivalMs * this.clockRate) / 1000);
    const transit = (arrival - timestamp) | 0;
    if (this.lastTransit !== undefined) {
      const d = Math.abs((transit - this.lastTransit) | 0);
      // A jump over a few seconds is a stream restart, not jitter.
      if (d < this.clockRate * 2) this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }

  /** The current figures. */
  snapshot(): RtpReceiveSnapshot {
    const expected = this.carried.expected + (this.first === undefined ? 0 : this.highest - this.first + 1);
    const received = this.carried.received + this.received;
    const lost = Math.max(0, expected - received);
    return {
      received,
      expected,
      lost,
      lossPct: expected > 0 ? (100 * lost) / expected : 0,
      jitterMs: (this.jitter * 1000) / this.clockRate,
    };
  }

  /**
   * A new stream starts (e.g. the media session was replaced: new SSRC and sequence
   * numbers). Loss counts carry over; the sequence tracking starts again.
   */
  reset(): void {
    const s = this.snapshot();
    this.carried = { expected: s.expected, received: s.received };
    this.first = undefined;
    this.highest = 0;
    this.received = 0;
    this.lastTransit = undefined;
  }

  /** RFC 3550 interarrival jitter, ms. */
  get jitterMs(): number {
    return (this.jitter * 1000) / this.clockRate;
  }
}

/** The extended sequence number closest to `highest` with low 16 bits `seq`. */
function extend(highest: number, seq: number): number {
  let ext = highest - (highest & 0xffff) + seq;
  if (ext - highest > 32768) ext -= 65536;
  else if (highest - ext > 32768) ext += 65536;
  return ext;
}
