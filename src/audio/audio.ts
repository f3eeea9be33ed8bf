/**
 * The audio I/O contract shared by every backend (pulse, alsa, file, tone, null).
 *
 * **Frame format**: one frame is an `Int16Array` of {@link FRAME_SAMPLES} (960) signed
 * 16-bit samples: 20 ms of mono audio at {@link SAMPLE_RATE} (48 kHz), the Opus frame
 * of a call. Capture always yields whole frames; playback accepts whole frames.
 *
 * Capture and playback never block the event loop: devices are subprocesses with
 * asynchronous pipes, files are read and written asynchronously, and every queue is
 * bounded (when full, the oldest frame is dropped and counted).
 *
 * @example
 * ```ts
 * const mic = await openCapture({ audio: 'pulse', mic: 'alsa_input.usb' }, { clock });
 * const speaker = await openPlayback({ audio: 'pulse' }, { clock });
 * for await (const frame of mic) speaker.write(frame);   // a loopback
 * ```
 * @module
 */

/** Sample rate of every frame (Hz). */
export const SAMPLE_RATE = 48000;
/** Duration of one frame (ms). */
export const FRAME_MS = 20;
/** Samples in one frame (mono). */
export const FRAME_SAMPLES = (SAMPLE_RATE / 1000) * FRAME_MS;
/** Bytes of one frame as s16le. */
export const FRAME_BYTES = FRAME_SAMPLES * 2;

/** The backends `--audio` selects. */
export const AUDIO_BACKENDS = ['pulse', 'alsa', 'file', 'tone', 'null'] as const;
/** One of {@link AUDIO_BACKENDS}. */
export type AudioBackend = (typeof AUDIO_BACKENDS)[number];

/** A device, program or file problem, with a message meant for the user. */
export class AudioError extends Error {
  override name = 'AudioError';
}

/** Counters of a capture source. */
export interface CaptureStats {
  /** Frames handed to the reader. */
  frames: number;
  /** Frames dropped because the reader fell behind (queue full). */
  dropped: number;
}

/** Counters of a playback sink. */
export interface PlaybackStats {
  /** Frames accepted by write(). */
  frames: number;
  /** Frames dropped because the device fell behind (queue full). */
  dropped: number;
}

/** A source of 20 ms frames (microphone, file, tone, silence). */
export interface CaptureSource extends AsyncIterable<Int16Array> {
  /** What this is, for logs and the UI (e.g. `pulse:default`, `file:in.wav`). */
  readonly description: string;
  /**
   * The next frame, or null once the source has ended or was closed. Rejects with an
   * {@link AudioError} when the device fails.
   */
  read(): Promise<Int16Array | null>;
  /** Stop capturing and release the device; idempotent. */
  close(): Promise<void>;
  stats(): CaptureStats;
}

/** A consumer of 20 ms frames (speaker, file, discard). */
export interface PlaybackSink {
  readonly description: string;
  /**
   * Queue one frame. Never blocks: when the queue is full the oldest queued frame is
   * dropped (counted). Throws the {@link AudioError} if the device has failed, and a
   * RangeError for a frame that is not {@link FRAME_SAMPLES} long.
   */
  write(frame: Int16Array): void;
  /** Resolves when every queued frame has been handed to the device or file. */
  flush(): Promise<void>;
  /** Flush, then release the device (finishing the file); idempotent. */
  close(): Promise<void>;
  stats(): PlaybackStats;
}

/** Check a frame handed to a sink. */
export function checkFrame(frame: Int16Array): void {
  if (!(frame instanceof Int16Array) || frame.length !== FRAME_SAMPLES) {
    throw new RangeError(`audio frames are Int16Array of ${FRAME_SAMPLES} samples (20 ms at 48 kHz), got ${frame?.length}`);
  }
}

/** Adapt a `read()` function into an async iterator (ends at null). */
export async function* iterateFrames(read: () => Promise<Int16Array | null>): AsyncGenerator<Int16Array> {
  for (;;) {
    const f = await read();
    if (f === null) return;
    yield f;
  }
}
