/**
 * A playback sink that keeps every frame in memory (bounded), for tests that compare
 * what came out of a call with what went in.
 */
import { checkFrame, type PlaybackSink, type PlaybackStats } from '../../src/audio/audio.ts';

/** Collects frames; `pcm()` joins them. Keeps at most `maxFrames` (default 30 s). */
export class MemorySink implements PlaybackSink {
  readonly description = 'memory';
  private frames: Int16Array[] = [];
  private count = 0;
  private dropped = 0;
  constructor(private readonly maxFrames = 1500) {}
  write(frame: Int16Array): void {
    checkFrame(frame);
    this.count++;
    if (this.frames.length >= this.maxFrames) {
      this.dropped++;
      return;
    }
    this.frames.push(frame.slice());
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  stats(): PlaybackStats {
    return { frames: this.count, dropped: this.dropped };
  }
  /** All kept frames joined. */
  pcm(): Int16Array {
    const out = new Int16Array(this.frames.length * 960);
    this.frames.forEach((f, i) => out.set(f, i * 960));
    return out;
  }
}
