/**
 * Playout: turns {@link JitterBuffer} decisions into 20 ms PCM frames through a
 * {@link FrameDecoder}, with packet-loss concealment policy on top of the codec's own:
 *
 * - `normal`: decode; `accelerate` decodes both frames and cross-fades them into one.
 * - `fec`: the codec's in-band FEC from the next packet (`decodeFec`), else concealment.
 * - `conceal`: the codec's concealment for the first `fadeAfterFrames` consecutive
 *   frames, then a linear fade to zero over `fadeFrames`, then comfort noise (or
 *   silence). Audio that resumes after a fade ramps back in over one frame.
 * - `dtx`: comfort noise; `silence`: zeros (nothing received yet).
 * - A payload the decoder rejects is concealed and counted, never thrown.
 *
 * Pure: no I/O, no timers; the caller pulls once per playout tick.
 *
 * @example
 * ```ts
 * const playout = new Playout(new JitterBuffer(), new OpusDecoder()); // OpusDecoder fits FrameDecoder
 * playout.insert({ seq, timestamp, arrivalMs: clock.now(), payload, marker });  // per RTP packet
 * const { pcm } = playout.pull(clock.now());   // every 20 ms: Int16Array(960) to the speaker
 * ```
 * @module
 */
import type { JitterBuffer, JitterStats, PlayoutDecision, RtpPacket } from './jitter-buffer.ts';

/**
 * What the playout needs from a codec: frames of `frameSamples` Int16 samples (48 kHz
 * mono, 960 for 20 ms). `OpusDecoder` from codecs/opus.ts satisfies it as is.
 */
export interface FrameDecoder {
  /** Decode one packet. May throw on a corrupt packet (it is then concealed). */
  decode(payload: Uint8Array): Int16Array;
  /** Decode the previous frame from the in-band FEC carried in `payload` (optional). */
  decodeFec?(payload: Uint8Array): Int16Array;
  /** Synthesize the next frame when data is missing. */
  conceal(): Int16Array;
}

/** Where a frame's samples came from. */
export type FrameSource = 'decoded' | 'merged' | 'fec' | 'concealed' | 'faded' | 'comfort' | 'silence';

/** One output frame. */
export interface PlayoutFrame {
  pcm: Int16Array;
  source: FrameSource;
  decision: PlayoutDecision;
}

/** Counters of the playout on top of {@link JitterStats}. */
export interface PlayoutStats extends JitterStats {
  decodeErrors: number;
  /** Concealed frames that were faded (partly or fully). */
  fadedFrames: number;
  /** Frames of comfort noise or silence after a fade, and DTX frames. */
  comfortFrames: number;
  /** Decoder outputs of the wrong length (padded or cut). */
  lengthMismatches: number;
}

/** Playout settings. */
export interface PlayoutOptions {
  /** Samples per frame. Default 960 (20 ms at 48 kHz). */
  frameSamples?: number;
  /** Consecutive concealed frames played at full level. Default 2 (40 ms). */
  fadeAfterFrames?: number;
  /** Frames over which concealment fades to zero. Default 3 (60 ms). */
  fadeFrames?: number;
  /** After the fade, and during DTX: 'noise' (default) or 'silence'. */
  comfort?: 'noise' | 'silence';
  /** Comfort-noise RMS level, dBFS. Default -65. */
  comfortNoiseDbfs?: number;
  /** Seed of the comfort-noise generator (deterministic). */
  seed?: number;
}

/** The playout; see the module documentation. */
export class Playout {
  readonly frameSamples: number;
  private readonly o: Required<PlayoutOptions>;
  private concealRun = 0;
  private lastGain = 1;
  private noiseState: number;
  private readonly noiseAmp: number;
  private decodeErrors = 0;
  private fadedFrames = 0;
  private comfortFrames = 0;
  private lengthMismatches = 0;

  constructor(
    readonly buffer: JitterBuffer,
    readonly decoder: FrameDecoder,
    options: PlayoutOptions = {},
  ) {
    this.o = { frameSamples: 960, fadeAfterFrames: 2, fadeFrames: 3, comfort: 'noise', comfortNoiseDbfs: -65, seed: 0x2545f491, ...options };
    if (!Number.isInteger(this.o.frameSamples) || this.o.frameSamples <= 0) throw new RangeError('Playout: frameSamples must be a positive integer');
    if (!(this.o.fadeFrames >= 1) || !(this.o.fadeAfterFrames >= 0)) throw new RangeError('Playout: fadeFrames >= 1 and fadeAfterFrames >= 0');
    this.frameSamples = this.o.frameSamples;
    this.noiseState = this.o.seed >>> 0 || 1;
    // Uniform noise in [-a, a] has RMS a / sqrt(3).
    this.noiseAmp = 32767 * 10 ** (this.o.comfortNoiseDbfs / 20) * Math.sqrt(3);
  }

  /** Hand a received packet to the jitter buffer. */
  insert(packet: RtpPacket): boolean {
    return this.buffer.insert(packet);
  }

  /** Produce the frame for the playout tick at `nowMs`. */
  pull(nowMs: number): PlayoutFrame {
    const d = this.buffer.pull(nowMs);
    let pcm: Int16Array;
    let source: FrameSource;
    switch (d.kind) {
      case 'normal': {
        const a = this.decode(d.payload);
        if (d.merge) {
          const b = this.decode(d.merge);
          pcm = a && b ? crossfade(a, b) : (a ?? b ?? this.concealFrame());
          source = a || b ? 'merged' : 'concealed';
        } else {
          pcm = a ?? this.concealFrame();
          source = a ? 'decoded' : 'concealed';
        }
        break;
      }
      case 'fec': {
        let out: Int16Array | undefined;
        if (this.decoder.decodeFec) {
          try {
            out = this.fit(this.decoder.decodeFec(d.payload));
          } catch {
            this.decodeErrors++;
          }
        }
        pcm = out ?? this.concealFrame();
        source = out ? 'fec' : 'concealed';
        break;
      }
      case 'conceal':
        pcm = this.concealFrame();
        source = 'concealed';
        break;
      case 'dtx':
        pcm = this.comfort();
        source = 'comfort';
        this.comfortFrames++;
        this.lastGain = 0;
        this.concealRun = 0;
        return { pcm, source, decision: d };
      default:
        pcm = new Int16Array(this.frameSamples);
        source = 'silence';
        this.lastGain = 0;
        return { pcm, source, decision: d };
    }
    if (source === 'concealed') return this.fadeConcealed(pcm, d);
    this.concealRun = 0;
    if (this.lastGain < 1) {
      pcm = ramp(pcm, this.lastGain, 1);
      this.lastGain = 1;
    }
    return { pcm, source, decision: d };
  }

  /** Jitter-buffer counters plus the playout's own. */
  stats(): PlayoutStats {
    return {
      ...this.buffer.stats(),
      decodeErrors: this.decodeErrors,
      fadedFrames: this.fadedFrames,
      comfortFrames: this.comfortFrames,
      lengthMismatches: this.lengthMismatches,
    };
  }

  private fadeConcealed(pcm: Int16Array, d: PlayoutDecision): PlayoutFrame {
    const n = ++this.concealRun;
    const { fadeAfterFrames, fadeFrames } = this.o;
    if (n <= fadeAfterFrames) {
      this.lastGain = 1;
      return { pcm, source: 'concealed', decision: d };
    }
    const k = n - fadeAfterFrames; // 1..fadeFrames fades, beyond is comfort
    if (k > fadeFrames) {
      this.comfortFrames++;
      this.lastGain = 0;
      return { pcm: this.comfort(), source: 'comfort', decision: d };
    }
    const from = 1 - (k - 1) / fadeFrames;
    const to = 1 - k / fadeFrames;
    this.fadedFrames++;
    this.lastGain = to;
    const out = ramp(pcm, from, to);
    if (to === 0) mixInto(out, this.comfort());
    return { pcm: out, source: 'faded', decision: d };
  }

  private decode(payload: Uint8Array): Int16Array | undefined {
    try {
      return this.fit(this.decoder.decode(payload));
    } catch {
      this.decodeErrors++;
      return undefined;
    }
  }

  private concealFrame(): Int16Array {
    try {
      return this.fit(this.decoder.conceal());
    } catch {
      this.decodeErrors++;
      return new Int16Array(this.frameSamples);
    }
  }

  private fit(pcm: Int16Array): Int16Array {
    if (pcm.length === this.frameSamples) return pcm;
    this.lengthMismatches++;
    const out = new Int16Array(this.frameSamples);
    out.set(pcm.subarray(0, this.frameSamples));
    return out;
  }

  private comfort(): Int16Array {
    const out = new Int16Array(this.frameSamples);
    if (this.o.comfort === 'silence') return out;
    let x = this.noiseState;
    for (let i = 0; i < out.length; i++) {
      // xorshift32
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = Math.round(((x >>> 0) / 4294967296 - 0.5) * 2 * this.noiseAmp);
    }
    this.noiseState = x >>> 0 || 1;
    return out;
  }
}

/** Linear cross-fade from `a` to `b` (equal lengths): two frames compressed into one. */
export function crossfade(a: Int16Array, b: Int16Array): Int16Array {
  const n = a.length;
  const out = new Int16Array(n);
  const den = Math.max(1, n - 1);
  for (let i = 0; i < n; i++) {
    const w = i / den;
    out[i] = Math.round(a[i]! * (1 - w) + (b[i] ?? 0) * w);
  }
  return out;
}

/** `pcm` with a gain going linearly from `from` to `to` across the frame. */
export function ramp(pcm: Int16Array, from: number, to: number): Int16Array {
  const n = pcm.length;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(pcm[i]! * (from + ((to - from) * (i + 1)) / n));
  return out;
}

function mixInto(dst: Int16Array, src: Int16Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] = Math.max(-32768, Math.min(32767, dst[i]! + (src[i] ?? 0)));
}
