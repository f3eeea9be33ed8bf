/**
 * `--audio file`: a WAV file as the microphone and a WAV file as the speaker.
 *
 * - {@link WavFileSource} reads any WAV that codecs/wav.ts understands (PCM 8/16/24/32
 *   bit, float, mono or stereo), down-mixes to mono, resamples to 48 kHz with
 *   codecs/resample.ts, and yields 20 ms frames (the last one zero-padded), paced in
 *   real time on a Clock or as fast as read; optionally looping.
 * - {@link WavFileSink} streams 48 kHz mono 16-bit PCM to disk as frames arrive and
 *   completes the header on close. In real-time mode it consumes one frame per 20 ms
 *   like a sound card (a bounded queue in front, oldest dropped when full); otherwise
 *   it writes everything.
 *
 * @example
 * ```ts
 * const src = await WavFileSource.open({ path: 'in.wav', clock });
 * const sink = await WavFileSink.open({ path: 'out.wav', clock, realtime: false });
 * for await (const f of src) sink.write(f);
 * await sink.close();
 * ```
 * @module
 */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import type { Clock, Timer } from '../clock.ts';
import { readWav, writeWav } from '../../codecs/wav.ts';
import { resample } from '../../codecs/resample.ts';
import { floatToInt16 } from '../../codecs/pcm.ts';
import {
  AudioError,
  type CaptureSource,
  type CaptureStats,
  checkFrame,
  FRAME_MS,
  FRAME_SAMPLES,
  iterateFrames,
  type PlaybackSink,
  type PlaybackStats,
  SAMPLE_RATE,
} from './audio.ts';
import { Pacer } from './pacer.ts';
import { FrameQueue } from './frame-queue.ts';
import { encodeS16le } from './framer.ts';

/** Largest WAV file read (bytes): it is decoded in memory. */
export const MAX_WAV_BYTES = 1 << 30;

/** Options of {@link WavFileSource.open}. */
export interface WavSourceOptions {
  path: string;
  clock: Clock;
  /** Real-time pacing (default true). */
  realtime?: boolean;
  /** Start again at the end (default false). */
  loop?: boolean;
  signal?: AbortSignal;
}

/** A WAV file as a capture source. */
export class WavFileSource implements CaptureSource {
  readonly description: string;
  private readonly pacer: Pacer;
  private readonly abort = new AbortController();
  private at = 0;
  private frames = 0;
  private closed = false;

  private constructor(
    private readonly pcm: Int16Array,
    private readonly o: WavSourceOptions,
    /** Sample rate of the file before resampling. */
    readonly fileSampleRate: number,
  ) {
    this.description = `file:${o.path}`;
    this.pacer = new Pacer(o.clock, o.realtime ?? true);
    if (o.signal) {
      if (o.signal.aborted) this.closed = true;
      else o.signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  /** Read and convert the file; AudioError naming the file when it is missing or not a WAV we can read. */
  static async open(o: WavSourceOptions): Promise<WavFileSource> {
    let bytes: Uint8Array;
    try {
      const st = await stat(o.path);
      if (!st.isFile()) throw new AudioError(`"${o.path}" is not a file`);
      if (st.size > MAX_WAV_BYTES) throw new AudioError(`WAV file "${o.path}" is ${st.size} bytes, more than the ${MAX_WAV_BYTES} supported`);
      bytes = new Uint8Array(await readFile(o.path));
    } catch (err) {
      if (err instanceof AudioError) throw err;
      throw new AudioError(`cannot read WAV file "${o.path}": ${(err as Error).message}`);
    }
    let pcm: Int16Array;
    let rate: number;
    try {
      const wav = readWav(bytes);
      rate = wav.sampleRate;
      const mono = downmix(wav.channels);
      pcm = floatToInt16(rate === SAMPLE_RATE ? mono : resample(mono, rate, SAMPLE_RATE));
    } catch (err) {
      throw new AudioError(`cannot use WAV file "${o.path}": ${(err as Error).message}`);
    }
    return new WavFileSource(pcm, o, rate);
  }

  /** Duration of the (resampled) audio in ms. */
  get durationMs(): number {
    return (this.pcm.length / SAMPLE_RATE) * 1000;
  }

  async read(): Promise<Int16Array | null> {
    if (this.closed) return null;
    if (this.at >= this.pcm.length) {
      if (!this.o.loop || this.pcm.length === 0) return null;
      this.at = 0;
    }
    try {
      await this.pacer.next(this.abort.signal);
    } catch {
      return null;
    }
    if (this.closed) return null;
    const frame = new Int16Array(FRAME_SAMPLES);
    frame.set(this.pcm.subarray(this.at, this.at + FRAME_SAMPLES));
    this.at += FRAME_SAMPLES;
    this.frames++;
    return frame;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
  }

  stats(): CaptureStats {
    return { frames: this.frames, dropped: 0 };
  }

  [Symbol.asyncIterator](): AsyncIterator<Int16Array> {
    return iterateFrames(() => this.read());
  }
}

function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0]!;
  const n = Math.min(...channels.map((c) => c.length));
  const out = new Float32Array(n);
  for (const c of channels) for (let i = 0; i < n; i++) out[i]! += c[i]! / channels.length;
  return out;
}

/** Options of {@link WavFileSink.open}. */
export interface WavSinkOptions {
  path: string;
  clock: Clock;
  /** Consume one frame per 20 ms like a device (default false: write all, at once). */
  realtime?: boolean;
  /** Frames queued before the oldest is dropped (default 10 in real time, 500 otherwise). */
  queueFrames?: number;
}

/** A WAV file (48 kHz mono 16-bit) as a playback sink. */
export class WavFileSink implements PlaybackSink {
  readonly description: string;
  private readonly queue: FrameQueue<Int16Array>;
  private frames = 0;
  private dataBytes = 0;
  private writing: Promise<void> = Promise.resolve();
  private error: AudioError | undefined;
  private closed: Promise<void> | undefined;
  private timer: Timer | undefined;

  private constructor(
    private readonly fh: FileHandle,
    private readonly o: WavSinkOptions,
    private readonly header: Uint8Array,
    private readonly dataSizeAt: number,
  ) {
    this.description = `file:${o.path}`;
    this.queue = new FrameQueue(o.queueFrames ?? (o.realtime ? 10 : 500));
    if (o.realtime) this.timer = o.clock.setInterval(() => this.pump(1), FRAME_MS);
  }

  /** Create (truncate) the file and write the header; AudioError naming the file on failure. */
  static async open(o: WavSinkOptions): Promise<WavFileSink> {
    const header = writeWav({ sampleRate: SAMPLE_RATE, channels: [new Float32Array(0)] }, 'pcm16');
    const dataSizeAt = findDataSize(header);
    let fh: FileHandle;
    try {
      fh = await open(o.path, 'w');
      await fh.write(header, 0, header.length, 0);
    } catch (err) {
      throw new AudioError(`cannot write WAV file "${o.path}": ${(err as Error).message}`);
    }
    return new WavFileSink(fh, o, header, dataSizeAt);
  }

  write(frame: Int16Array): void {
    if (this.error) throw this.error;
    if (this.closed) throw new AudioError(`${this.description} is closed`);
    checkFrame(frame);
    this.frames++;
    this.queue.push(frame.slice());
    if (!this.o.realtime) this.pump(Infinity);
  }

  private pump(max: number): void {
    const batch: Int16Array[] = [];
    while (batch.length < max) {
      const f = this.queue.take();
      if (!f) break;
      batch.push(f);
    }
    if (batch.length === 0) return;
    const bytes = new Uint8Array(batch.length * FRAME_SAMPLES * 2);
    batch.forEach((f, k) => bytes.set(encodeS16le(f), k * FRAME_SAMPLES * 2));
    const at = this.header.length + this.dataBytes;
    this.dataBytes += bytes.length;
    this.writing = this.writing.then(async () => {
      if (this.error) return;
      try {
        await this.fh.write(bytes, 0, bytes.length, at);
      } catch (err) {
        this.error = new AudioError(`cannot write WAV file "${this.o.path}": ${(err as Error).message}`);
      }
    });
  }

  async flush(): Promise<void> {
    this.pump(Infinity);
    await this.writing;
    if (this.error) throw this.error;
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.timer?.cancel();
      try {
        await this.flush();
        const sizes = new Uint8Array(4);
        const dv = new DataView(sizes.buffer);
        dv.setUint32(0, this.header.length - 8 + this.dataBytes, true);
        await this.fh.write(sizes, 0, 4, 4);
        dv.setUint32(0, this.dataBytes, true);
        await this.fh.write(sizes, 0, 4, this.dataSizeAt);
      } finally {
        await this.fh.close();
      }
    })();
    return this.closed;
  }

  stats(): PlaybackStats {
    return { frames: this.frames, dropped: this.queue.dropped };
  }
}

/** Offset of the `data` chunk's size field in a header from writeWav. */
function findDataSize(h: Uint8Array): number {
  for (let i = 12; i + 8 <= h.length; i++) {
    if (h[i] === 0x64 && h[i + 1] === 0x61 && h[i + 2] === 0x74 && h[i + 3] === 0x61) return i + 4;
  }
  throw new AudioError('internal: WAV header without a data chunk');
}
