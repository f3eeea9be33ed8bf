/**
 * Backend selection for `--audio pulse|alsa|file|tone|null` with `--mic` / `--speaker`.
 *
 * | backend | capture (`--mic`)                      | playback (`--speaker`)               |
 * |---------|----------------------------------------|--------------------------------------|
 * | pulse   | `parec`, PulseAudio source name         | `pacat`, PulseAudio sink name         |
 * | alsa    | `arecord`, ALSA PCM name (`-D`)         | `aplay`, ALSA PCM name (`-D`)         |
 * | file    | WAV file to read (required)             | WAV file to write (required)          |
 * | tone    | sine at `tone` Hz (default 440), or `'sweep'` (100 Hz-8 kHz over 5 s) | discarded |
 * | null    | silence                                 | discarded                            |
 *
 * Generated and file audio is paced in real time on the clock unless
 * `realtime: false` (as fast as possible).
 *
 * @example
 * ```ts
 * const opts = { audio: 'pulse', mic: undefined, speaker: undefined } as const;
 * const mic = await openCapture(opts, { clock: env.clock, signal });
 * const speaker = await openPlayback(opts, { clock: env.clock, signal });
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import { AUDIO_BACKENDS, type AudioBackend, AudioError, type CaptureSource, type PlaybackSink } from './audio.ts';
import { WavFileSink, WavFileSource } from './file.ts';
import { NullSink, NullSource, ToneSource } from './generated.ts';
import { DeviceCapture, DevicePlayback } from './process.ts';

/** What the command line chose. */
export interface AudioOptions {
  audio: AudioBackend;
  /** Capture device (pulse/alsa) or input WAV path (file). */
  mic?: string;
  /** Playback device (pulse/alsa) or output WAV path (file). */
  speaker?: string;
  /** Tone backend: frequency in Hz, or 'sweep'. */
  tone?: number | 'sweep';
  /** Pace file/tone/null in real time (default true). */
  realtime?: boolean;
  /** File capture: loop at the end (default false). */
  loop?: boolean;
  /** Environment for device subprocesses (default: this process's). */
  env?: Record<string, string | undefined>;
  /** Device queues, in frames (default 10 = 200 ms; the oldest is dropped beyond). */
  queueFrames?: number;
}

/** What opening needs from the environment. */
export interface AudioDeps {
  clock: Clock;
  signal?: AbortSignal;
}

/** Parse a `--audio` value; AudioError listing the choices otherwise. */
export function parseAudioBackend(value: string): AudioBackend {
  if ((AUDIO_BACKENDS as readonly string[]).includes(value)) return value as AudioBackend;
  throw new AudioError(`unknown --audio "${value}": choose one of ${AUDIO_BACKENDS.join(', ')}`);
}

/** Open the capture side chosen by `o`. */
export async function openCapture(o: AudioOptions, deps: AudioDeps): Promise<CaptureSource> {
  const realtime = o.realtime ?? true;
  switch (o.audio) {
    case 'pulse':
    case 'alsa':
      return DeviceCapture.open({ backend: o.audio, device: o.mic, clock: deps.clock, env: o.env, queueFrames: o.queueFrames, signal: deps.signal });
    case 'file':
      if (!o.mic) throw new AudioError('--audio file needs --mic FILE.wav (the file to play into the call)');
      return WavFileSource.open({ path: o.mic, clock: deps.clock, realtime, loop: o.loop, signal: deps.signal });
    case 'tone':
      return o.tone === 'sweep'
        ? new ToneSource({ sweep: { fromHz: 100, toHz: 8000, seconds: 5 }, clock: deps.clock, realtime, signal: deps.signal })
        : new ToneSource({ hz: o.tone ?? 440, clock: deps.clock, realtime, signal: deps.signal });
    case 'null':
      return new NullSource({ clock: deps.clock, realtime, signal: deps.signal });
    default:
      throw new AudioError(`unknown --audio "${String(o.audio)}": choose one of ${AUDIO_BACKENDS.join(', ')}`);
  }
}

/** Open the playback side chosen by `o`. */
export async function openPlayback(o: AudioOptions, deps: AudioDeps): Promise<PlaybackSink> {
  switch (o.audio) {
    case 'pulse':
    case 'alsa':
      return DevicePlayback.open({ backend: o.audio, device: o.speaker, clock: deps.clock, env: o.env, queueFrames: o.queueFrames, signal: deps.signal });
    case 'file':
      if (!o.speaker) throw new AudioError('--audio file needs --speaker FILE.wav (the file to record the call into)');
      return WavFileSink.open({ path: o.speaker, clock: deps.clock, realtime: o.realtime ?? false });
    case 'tone':
    case 'null':
      return new NullSink();
    default:
      throw new AudioError(`unknown --audio "${String(o.audio)}": choose one of ${AUDIO_BACKENDS.join(', ')}`);
  }
}
