/**
 * Generated sources and a discarding sink: `--audio tone` (a sine at a frequency, or a
 * repeating logarithmic sweep) and `--audio null` (silence in, nothing out). Sources
 * are paced in real time on a {@link Clock} unless `realtime: false`.
 *
 * @example
 * ```ts
 * const tone = new ToneSource({ hz: 440, clock });                 // endless, real time
 * const sweep = new ToneSource({ sweep: { fromHz: 100, toHz: 8000, seconds: 5 }, clock, realtime: false, durationMs: 5000 });
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import { type CaptureSource, type CaptureStats, FRAME_MS, FRAME_SAMPLES, iterateFrames, type PlaybackSink, type PlaybackStats, SAMPLE_RATE, checkFrame } from './audio.ts';
import { Pacer } from './pacer.ts';

/** Common options of generated sources. */
export interface GeneratedOptions {
  clock: Clock;
  /** Pace frames in real time (default true); false = as fast as read. */
  realtime?: boolean;
  /** End after this much audio (default: endless). */
  durationMs?: number;
  /** Closing the source when aborted. */
  signal?: AbortSignal;
}

/** Options of {@link ToneSource}. */
export interface ToneOptions extends GeneratedOptions {
  /** Sine frequency in Hz (default 440). Ignored with `sweep`. */
  hz?: number;
  /** Logarithmic sweep from `fromHz` to `toHz` over `seconds`, repeating. */
  sweep?: { fromHz: number; toHz: number; seconds: number };
  /** Peak amplitude 0..1 (default 0.5, i.e. -6 dBFS). */
  amplitude?: number;
}

abstract class GeneratedSource implements CaptureSource {
  abstract readonly description: string;
  private readonly pacer: Pacer;
  private readonly abort = new AbortController();
  private produced = 0;
  private closed = false;
  private readonly maxFrames: number;

  constructor(o: GeneratedOptions) {
    this.pacer = new Pacer(o.clock, o.realtime ?? true);
    this.maxFrames = o.durationMs === undefined ? Infinity : Math.ceil(o.durationMs / FRAME_MS);
    if (o.signal) {
      if (o.signal.aborted) this.closed = true;
      else o.signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  protected abstract generate(frameIndex: number): Int16Array;

  async read(): Promise<Int16Array | null> {
    if (this.closed || this.produced >= this.maxFrames) return null;
    try {
      await this.pacer.next(this.abort.signal);
    } catch {
      return null;
    }
    if (this.closed) return null;
    return this.generate(this.produced++);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
  }

  stats(): CaptureStats {
    return { frames: this.produced, dropped: 0 };
  }

  [Symbol.asyncIterator](): AsyncIterator<Int16Array> {
    return iterateFrames(() => this.read());
  }
}

/** A sine or a sweep; phase-continuous across frames. */
export class ToneSource extends GeneratedSource {
  readonly description: string;
  private phase = 0;
  private readonly amp: number;

  constructor(private readonly o: ToneOptions) {
    super(o);
    const hz = o.hz ?? 440;
    if (o.sweep) {
      const { fromHz, toHz, seconds } = o.sweep;
      if (!(fromHz > 0 && toHz > 0 && fromHz < SAMPLE_RATE / 2 && toHz < SAMPLE_RATE / 2 && seconds > 0)) {
        throw new RangeError(`tone sweep needs 0 < Hz < ${SAMPLE_RATE / 2} and seconds > 0`);
      }
      this.description = `tone:sweep ${fromHz}-${toHz} Hz/${seconds} s`;
    } else {
      if (!(hz > 0 && hz < SAMPLE_RATE / 2)) throw new RangeError(`tone frequency must be in (0, ${SAMPLE_RATE / 2}) Hz, got ${hz}`);
      this.description = `tone:${hz} Hz`;
    }
    const a = o.amplitude ?? 0.5;
    if (!(a >= 0 && a <= 1)) throw new RangeError(`tone amplitude must be in [0, 1], got ${a}`);
    this.amp = a * 32767;
  }

  /** Instantaneous frequency at sample `i` of the whole stream. */
  private freqAt(i: number): number {
    const s = this.o.sweep;
    if (!s) return this.o.hz ?? 440;
    const period = Math.round(s.seconds * SAMPLE_RATE);
    const t = (i % period) / period;
    return s.fromHz * (s.toHz / s.fromHz) ** t;
  }

  protected generate(frameIndex: number): Int16Array {
    const out = new Int16Array(FRAME_SAMPLES);
    const base = frameIndex * FRAME_SAMPLES;
    for (let k = 0; k < FRAME_SAMPLES; k++) {
      out[k] = Math.round(this.amp * Math.sin(this.phase));
      this.phase += (2 * Math.PI * this.freqAt(base + k)) / SAMPLE_RATE;
      if (this.phase > 2 * Math.PI) this.phase -= 2 * Math.PI;
    }
    return out;
  }
}

/** Silence. */
export class NullSource extends GeneratedSource {
  readonly description = 'null';
  protected generate(): Int16Array {
    return new Int16Array(FRAME_SAMPLES);
  }
}

/** Discards frames (counting them). */
export class NullSink implements PlaybackSink {
  readonly description = 'null';
  private frames = 0;
  write(frame: Int16Array): void {
    checkFrame(frame);
    this.frames++;
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  stats(): PlaybackStats {
    return { frames: this.frames, dropped: 0 };
  }
}
