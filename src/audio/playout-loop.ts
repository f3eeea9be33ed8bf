/**
 * Drives a playout on the clock: every 20 ms, pull one frame (e.g. from
 * codecs/playout.ts `Playout.pull(now).pcm`) and write it to a {@link PlaybackSink}.
 * If the timer fires late, the missed frames are produced at once (up to `maxCatchUp`),
 * so the device gets 50 frames per second on average; beyond that the schedule slips.
 *
 * @example
 * ```ts
 * const playout = new Playout(new JitterBuffer(), opusFrameDecoder(new OpusDecoder()));
 * const loop = startPlayoutLoop({ clock: env.clock, sink: speaker, pull: (now) => playout.pull(now).pcm, signal });
 * // ... on every RTP packet: playout.insert({ seq, timestamp, arrivalMs: env.clock.now(), payload, marker });
 * loop.stop();
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import { FRAME_MS, type PlaybackSink } from './audio.ts';

/** Options of {@link startPlayoutLoop}. */
export interface PlayoutLoopOptions {
  clock: Clock;
  sink: PlaybackSink;
  /** Produce the frame for the tick at `nowMs` (960 samples). */
  pull: (nowMs: number) => Int16Array;
  /** Most frames produced in one late tick (default 3). */
  maxCatchUp?: number;
  /** Stops the loop. */
  signal?: AbortSignal;
  /** Called once if pulling or writing throws (the loop then stops). */
  onError?: (err: unknown) => void;
}

/** A running loop. */
export interface PlayoutLoop {
  /** Frames written so far. */
  readonly frames: number;
  /** Ticks that fell behind by more than `maxCatchUp` frames (schedule slipped). */
  readonly slips: number;
  stop(): void;
}

/** Start the loop; see module docs. */
export function startPlayoutLoop(o: PlayoutLoopOptions): PlayoutLoop {
  const maxCatchUp = o.maxCatchUp ?? 3;
  let start = o.clock.now();
  let frames = 0;
  let slips = 0;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    const now = o.clock.now();
    let due = Math.floor((now - start) / FRAME_MS) + 1 - frames;
    if (due > maxCatchUp) {
      slips++;
      start += (due - maxCatchUp) * FRAME_MS;
      due = maxCatchUp;
    }
    try {
      for (let k = 0; k < due; k++) {
        o.sink.write(o.pull(start + frames * FRAME_MS));
        frames++;
      }
    } catch (err) {
      stop();
      o.onError?.(err);
    }
  };
  const timer = o.clock.setInterval(tick, FRAME_MS);
  const stop = () => {
    if (stopped) return;
    stopped = true;
    timer.cancel();
    o.signal?.removeEventListener('abort', stop);
  };
  if (o.signal?.aborted) stop();
  else o.signal?.addEventListener('abort', stop, { once: true });
  tick();
  return {
    get frames() {
      return frames;
    },
    get slips() {
      return slips;
    },
    stop,
  };
}
