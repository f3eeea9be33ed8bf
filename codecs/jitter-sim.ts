/**
 * A deterministic network model for exercising the {@link JitterBuffer}: a sender
 * emitting one 20 ms packet per frame (optionally with a skewed clock and DTX
 * silences), a link with base delay, uniform jitter, random or bursty loss, extra
 * reordering and duplication, and a receiver pulling one frame every 20 ms. Pure: the
 * randomness is a function passed in (e.g. `SeededRandom.float`), time is simulated.
 *
 * Used by the tests and by `bench/jitter-buffer.bench.ts` so both report the same
 * figures.
 *
 * @example
 * ```ts
 * const r = new SeededRandom(1);
 * const res = simulateLink({ random: () => r.float(), seconds: 60, jitterMs: 30, loss: 0.05 });
 * res.excessConcealedPct; // concealed + FEC frames beyond the truly lost ones, in %
 * ```
 * @module
 */
import { JitterBuffer, type JitterBufferOptions, type JitterStats, type PlayoutDecision } from './jitter-buffer.ts';
import { type FrameDecoder, Playout, type PlayoutOptions } from './playout.ts';

/** Parameters of {@link simulateLink}. */
export interface LinkModel {
  /** Uniform [0, 1) source. */
  random: () => number;
  /** Simulated duration (s). Default 60. */
  seconds?: number;
  /** Minimum one-way delay (ms). Default 40. */
  baseDelayMs?: number;
  /** Each packet's extra delay is uniform in [0, jitterMs) (peak-to-peak). Default 0. */
  jitterMs?: number;
  /** Independent loss probability. Default 0. */
  loss?: number;
  /** Probability a loss starts a burst; bursts last `burstLength` packets. Default 0. */
  burstProbability?: number;
  burstLength?: number;
  /** Probability a packet is held back behind the next 1-3 packets (extra reordering). */
  reorder?: number;
  /** Probability a packet is delivered twice. */
  duplicate?: number;
  /** Sender clock runs this much fast (+) or slow (-), e.g. 0.01 = +1 %. */
  skew?: number;
  /** DTX: talk for `talkMs`, then silence for `silenceMs` (no packets), repeating. */
  talkMs?: number;
  silenceMs?: number;
  /** First sequence number / timestamp (to exercise wraparound). */
  seq0?: number;
  ts0?: number;
  /** Seconds at the start excluded from the delay figures. Default 5. */
  warmupSeconds?: number;
  /** Jitter buffer options. */
  buffer?: JitterBufferOptions;
  /** Payload of frame `n` (default: one byte). */
  payloadOf?: (n: number) => Uint8Array;
  /** Decode through a {@link Playout} with this decoder; the PCM is returned in `pcm`. */
  decoder?: FrameDecoder;
  playout?: PlayoutOptions;
  /** Called with every decision (for extra checks). */
  onDecision?: (d: PlayoutDecision, nowMs: number, jb: JitterBuffer) => void;
}

/** What {@link simulateLink} measured. */
export interface LinkResult {
  frames: number;
  sent: number;
  trulyLost: number;
  /** Frames played from real packets (merged ones count). */
  played: number;
  concealed: number;
  preemptive: number;
  fec: number;
  dtx: number;
  silence: number;
  /**
   * (concealed + preemptively expanded + FEC-recovered frames − truly lost packets) /
   * frames, in %: frames not played from their own packet although it was sent.
   */
  excessConcealedPct: number;
  /** Mean and max of (playout time − (send time + base delay)) after warm-up, ms. */
  addedDelayMeanMs: number;
  addedDelayMaxMs: number;
  addedDelayP95Ms: number;
  /** Mean time a packet waited in the buffer (playout − arrival) after warm-up, ms. */
  holdMeanMs: number;
  /** RFC 3550 interarrival jitter estimate of the simulated link, ms. */
  rfc3550JitterMs: number;
  /** Max packets held at any time. */
  maxBuffered: number;
  stats: JitterStats;
  /** With `decoder`: every output frame, concatenated (from the first tick). */
  pcm?: Int16Array;
}

interface Arrival {
  at: number;
  seq: number;
  ts: number;
  sentMs: number;
  n: number;
  marker: boolean;
}

/** Run the model; see {@link LinkModel}. */
export function simulateLink(m: LinkModel): LinkResult {
  const rnd = m.random;
  const seconds = m.seconds ?? 60;
  const base = m.baseDelayMs ?? 40;
  const jitter = m.jitterMs ?? 0;
  const loss = m.loss ?? 0;
  const skew = m.skew ?? 0;
  const warmupMs = (m.warmupSeconds ?? 5) * 1000;
  const seq0 = m.seq0 ?? 1000;
  const ts0 = m.ts0 ?? 123456;
  const t0 = 1_700_000_000_000;
  const frameCount = Math.floor((seconds * 1000) / 20);
  const arrivals: Arrival[] = [];
  let sent = 0;
  let trulyLost = 0;
  let burstLeft = 0;
  let prevTalk = true;
  let seq = seq0;
  for (let n = 0; n < frameCount; n++) {
    const mediaMs = n * 20;
    const talking = !m.talkMs || mediaMs % (m.talkMs + (m.silenceMs ?? 0)) < m.talkMs;
    if (!talking) {
      prevTalk = false;
      continue;
    }
    const marker = !prevTalk;
    prevTalk = true;
    const s = seq & 0xffff;
    seq++;
    sent++;
    const ts = (ts0 + n * 960) >>> 0;
    const sentMs = t0 + mediaMs * (1 - skew);
    let lost = false;
    if (burstLeft > 0) {
      burstLeft--;
      lost = true;
    } else if (rnd() < loss) {
      lost = true;
      if (m.burstProbability && rnd() < m.burstProbability) burstLeft = (m.burstLength ?? 5) - 1;
    }
    if (lost) {
      trulyLost++;
      continue;
    }
    let at = sentMs + base + rnd() * jitter;
    if (m.reorder && rnd() < m.reorder) at += 20 * (1 + Math.floor(rnd() * 3));
    arrivals.push({ at, seq: s, ts, sentMs, n, marker });
    if (m.duplicate && rnd() < m.duplicate) arrivals.push({ at: at + rnd() * 40, seq: s, ts, sentMs, n, marker });
  }
  // RFC 3550 jitter over send order.
  let J = 0;
  const inOrder = [...arrivals].sort((a, b) => a.n - b.n);
  for (let i = 1; i < inOrder.length; i++) {
    const D = inOrder[i]!.at - inOrder[i - 1]!.at - (inOrder[i]!.sentMs - inOrder[i - 1]!.sentMs);
    J += (Math.abs(D) - J) / 16;
  }
  arrivals.sort((a, b) => a.at - b.at);

  const jb = new JitterBuffer(m.buffer);
  const playout = m.decoder ? new Playout(jb, m.decoder, m.playout) : undefined;
  const frames: Int16Array[] = [];
  const byKey = new Map<number, Arrival>();
  for (const a of arrivals) byKey.set(a.seq, a);
  const res = { played: 0, concealed: 0, preemptive: 0, fec: 0, dtx: 0, silence: 0 };
  const added: number[] = [];
  let holdSum = 0;
  let maxBuffered = 0;
  const phase = rnd() * 20;
  const endMs = t0 + seconds * 1000 + base + jitter + 1000;
  let i = 0;
  let firstPlayAt = Infinity;
  for (let now = t0 + phase; now < endMs; now += 20) {
    while (i < arrivals.length && arrivals[i]!.at <= now) {
      const a = arrivals[i++]!;
      jb.insert({ seq: a.seq, timestamp: a.ts, arrivalMs: a.at, payload: m.payloadOf ? m.payloadOf(a.n) : new Uint8Array([a.n & 0xff]), marker: a.marker });
    }
    maxBuffered = Math.max(maxBuffered, jb.stats().bufferedPackets);
    let d: PlayoutDecision;
    if (playout) {
      const f = playout.pull(now);
      d = f.decision;
      frames.push(f.pcm);
    } else d = jb.pull(now);
    m.onDecision?.(d, now, jb);
    const record = (s: number) => {
      const a = byKey.get(s);
      if (!a) return;
      if (now >= t0 + warmupMs) {
        added.push(now - (a.sentMs + base));
        holdSum += now - a.at;
      }
    };
    switch (d.kind) {
      case 'normal':
        firstPlayAt = Math.min(firstPlayAt, now);
        res.played++;
        record(d.seq);
        if (d.merge) {
          res.played++;
          record((d.seq + 1) & 0xffff);
        }
        break;
      case 'conceal':
        if (d.reason === 'preemptive') res.preemptive++;
        else res.concealed++;
        break;
      case 'fec':
        res.fec++;
        break;
      case 'dtx':
        res.dtx++;
        break;
      case 'silence':
        if (firstPlayAt === Infinity) break;
        res.silence++;
        break;
    }
    if (i >= arrivals.length && jb.stats().bufferedPackets === 0 && !playout) break;
  }
  added.sort((a, b) => a - b);
  const mean = added.length ? added.reduce((x, y) => x + y, 0) / added.length : 0;
  let pcm: Int16Array | undefined;
  if (playout) {
    pcm = new Int16Array(frames.length * playout.frameSamples);
    frames.forEach((f, k) => pcm!.set(f, k * playout.frameSamples));
  }
  return {
    frames: frameCount,
    pcm,
    sent,
    trulyLost,
    ...res,
    // The buffer's own counters: concealment later recognised as a DTX gap is not counted.
    excessConcealedPct: (100 * Math.max(0, jb.stats().concealed + jb.stats().preemptiveExpand + jb.stats().fecRecovered - trulyLost)) / frameCount,
    addedDelayMeanMs: mean,
    addedDelayMaxMs: added.length ? added[added.length - 1]! : 0,
    addedDelayP95Ms: added.length ? added[Math.floor(added.length * 0.95)]! : 0,
    holdMeanMs: added.length ? holdSum / added.length : 0,
    rfc3550JitterMs: J,
    maxBuffered,
    stats: jb.stats(),
  };
}
