/**
 * Device backends as subprocesses: PulseAudio (`parec` / `pacat`) and ALSA (`arecord` /
 * `aplay`) exchanging raw s16le 48 kHz mono on pipes. Pipes are asynchronous, so
 * capture and playback never block the event loop; capture goes through a bounded
 * queue (oldest frame dropped when the reader falls behind), playback through a bounded
 * queue in front of the pipe (oldest dropped when the device falls behind).
 *
 * Errors name what is wrong and suggest `--audio file`: a program that is not installed
 * (ENOENT), a device that does not exist, no sound server, a device that is busy.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import process from 'node:process';
import type { Clock } from '../clock.ts';
import {
  AudioError,
  type CaptureSource,
  type CaptureStats,
  checkFrame,
  iterateFrames,
  type PlaybackSink,
  type PlaybackStats,
  SAMPLE_RATE,
} from './audio.ts';
import { FrameQueue } from './frame-queue.ts';
import { encodeS16le, S16Framer } from './framer.ts';

/** Which device backend, and for which direction. */
export type DeviceBackend = 'pulse' | 'alsa';

/** Options shared by device capture and playback. */
export interface DeviceOptions {
  backend: DeviceBackend;
  /** Device name (`--mic` / `--speaker`); default device when omitted. */
  device?: string;
  clock: Clock;
  /** Environment of the subprocess (default: this process's). */
  env?: Record<string, string | undefined>;
  /** Frames queued (default 10 = 200 ms). */
  queueFrames?: number;
  /** How long open() waits for the device to fail before assuming it works (ms, default 300). */
  startupMs?: number;
  signal?: AbortSignal;
}

const PACKAGES: Record<string, string> = { parec: 'pulseaudio-utils', pacat: 'pulseaudio-utils', arecord: 'alsa-utils', aplay: 'alsa-utils' };
const NAMES: Record<DeviceBackend, string> = { pulse: 'PulseAudio', alsa: 'ALSA' };

/** The command line for a device in a direction (exported for tests and docs). */
export function deviceCommand(backend: DeviceBackend, direction: 'capture' | 'playback', device?: string): { program: string; args: string[] } {
  const rate = String(SAMPLE_RATE);
  if (backend === 'pulse') {
    const common = ['--raw', '--format=s16le', `--rate=${rate}`, '--channels=1', '--client-name=tincan'];
    if (direction === 'capture') {
      return { program: 'parec', args: [...common, '--latency-msec=20', '--stream-name=tincan-mic', ...(device ? [`--device=${device}`] : [])] };
    }
    return { program: 'pacat', args: ['--playback', ...common, '--latency-msec=40', '--stream-name=tincan-speaker', ...(device ? [`--device=${device}`] : [])] };
  }
  const common = ['-q', '-t', 'raw', '-f', 'S16_LE', '-r', rate, '-c', '1', ...(device ? ['-D', device] : [])];
  if (direction === 'capture') return { program: 'arecord', args: [...common, '--buffer-time=60000', '--period-time=10000'] };
  return { program: 'aplay', args: [...common, '--buffer-time=80000', '--period-time=20000'] };
}

/** Turn a spawn error or an early exit into a message for the user. */
function explain(o: DeviceOptions, direction: 'capture' | 'playback', program: string, failure: { error?: NodeJS.ErrnoException; code?: number | null; signal?: string | null; stderr: string }): AudioError {
  const name = NAMES[o.backend];
  const flag = direction === 'capture' ? '--mic' : '--speaker';
  const dev = o.device ? `device "${o.device}"` : 'the default device';
  const hint = `; or use --audio file (WAV files) or --audio null`;
  if (failure.error?.code === 'ENOENT') {
    return new AudioError(`${program} not found: the ${name} backend (--audio ${o.backend}) needs it (Debian package ${PACKAGES[program]})${hint}`);
  }
  if (failure.error) return new AudioError(`cannot start ${program} for ${name} ${direction}: ${failure.error.message}${hint}`);
  const err = failure.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' / ');
  if (/no such entity|no such (file|device)|cannot find card|unknown pcm|invalid (card|device)/i.test(err)) {
    return new AudioError(`${name} ${direction} ${dev} not found (${program}: ${err}); check ${flag}${hint}`);
  }
  if (/connection (failure|refused)|no pulseaudio daemon|access denied/i.test(err)) {
    return new AudioError(`no ${name} sound server reachable for ${direction} (${program}: ${err})${hint}`);
  }
  if (/busy/i.test(err)) return new AudioError(`${name} ${direction} ${dev} is busy (${program}: ${err})${hint}`);
  const how = failure.signal ? `was killed by ${failure.signal}` : `exited with code ${failure.code}`;
  return new AudioError(`${name} ${direction} on ${dev} failed: ${program} ${how}${err ? ` (${err})` : ''}; check ${flag}${hint}`);
}

/** Runs one device subprocess and reports how it ended. */
class DeviceProcess {
  readonly child: ChildProcess;
  readonly program: string;
  stderr = '';
  exited = false;
  /** Resolves once the program is running; rejects with an AudioError if it cannot start. */
  readonly spawned: Promise<void>;
  /** Resolves with the failure (if any) when the process ends. */
  readonly ended: Promise<AudioError | undefined>;
  stopping = false;

  constructor(
    readonly o: DeviceOptions,
    readonly direction: 'capture' | 'playback',
  ) {
    const { program, args } = deviceCommand(o.backend, direction, o.device);
    this.program = program;
    this.child = spawn(program, args, {
      stdio: [direction === 'playback' ? 'pipe' : 'ignore', direction === 'capture' ? 'pipe' : 'ignore', 'pipe'],
      env: (o.env ?? process.env) as NodeJS.ProcessEnv,
    });
    this.child.stderr!.on('data', (d: Uint8Array) => {
      this.stderr = (this.stderr + new TextDecoder().decode(d)).slice(-4096);
    });
    let spawnError: NodeJS.ErrnoException | undefined;
    this.spawned = new Promise((resolve, reject) => {
      this.child.once('spawn', () => resolve());
      this.child.once('error', (e: NodeJS.ErrnoException) => {
        spawnError = e;
        reject(explain(o, direction, program, { error: e, stderr: '' }));
      });
    });
    this.spawned.catch(() => {});
    this.ended = new Promise((resolve) => {
      const done = (code: number | null, signal: string | null) => {
        this.exited = true;
        if (spawnError) return resolve(explain(o, direction, program, { error: spawnError, stderr: '' }));
        if (this.stopping) return resolve(undefined);
        resolve(explain(o, direction, program, { code, signal, stderr: this.stderr }));
      };
      // Capture: 'close' comes after stdout is drained. Playback: our end of stdin keeps
      // 'close' from coming, so the exit is what counts.
      if (direction === 'capture') this.child.once('close', done);
      else
        this.child.once('exit', (code, signal) => {
          // Give stderr a moment to deliver the program's last words.
          const stderr = this.child.stderr!;
          if (stderr.readableEnded || stderr.destroyed) return done(code, signal);
          const timer = o.clock.setTimeout(() => done(code, signal), 200);
          stderr.once('close', () => {
            timer.cancel();
            done(code, signal);
          });
        });
      this.child.once('error', () => {
        if (this.child.pid === undefined) done(null, null);
      });
    });
  }

  /** Wait until running and not failed within `startupMs` (or until `until` resolves). */
  async started(until?: Promise<unknown>): Promise<void> {
    await this.spawned;
    const timeout = new AbortController();
    const wait = this.o.clock.sleep(this.o.startupMs ?? 300, timeout.signal).then(
      () => undefined,
      () => undefined,
    );
    const racers: Promise<AudioError | undefined>[] = [this.ended, wait];
    if (until) racers.push(until.then(() => undefined));
    const early = await Promise.race(racers);
    timeout.abort();
    if (early instanceof AudioError) throw early;
    if (this.exited) {
      const e = await this.ended;
      if (e) throw e;
    }
  }

  /** Ask the program to stop and wait for it (SIGTERM, then SIGKILL after 1 s). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.exited || this.child.pid === undefined) return;
    this.child.kill('SIGTERM');
    const timer = this.o.clock.setTimeout(() => this.child.kill('SIGKILL'), 1000);
    await this.ended;
    timer.cancel();
  }
}

/** Capture from a PulseAudio or ALSA device; see module docs. */
export class DeviceCapture implements CaptureSource {
  readonly description: string;
  private readonly queue: FrameQueue<Int16Array>;
  private readonly framer = new S16Framer();
  private frames = 0;
  private closing: Promise<void> | undefined;

  private constructor(private readonly proc: DeviceProcess) {
    const o = proc.o;
    this.description = `${o.backend}:${o.device ?? 'default'}`;
    this.queue = new FrameQueue(o.queueFrames ?? 10);
    proc.child.stdout!.on('data', (chunk: Uint8Array) => {
      for (const f of this.framer.push(chunk)) this.queue.push(f);
    });
    void proc.ended.then((err) => (err ? this.queue.fail(err) : this.queue.end()));
    if (o.signal) {
      if (o.signal.aborted) void this.close();
      else o.signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  /** Start the capture program; rejects with an AudioError if it is missing or the device fails. */
  static async open(o: DeviceOptions): Promise<DeviceCapture> {
    const proc = new DeviceProcess(o, 'capture');
    const cap = new DeviceCapture(proc);
    try {
      const firstData = new Promise<void>((resolve) => proc.child.stdout?.once('data', () => resolve()));
      await proc.started(firstData);
    } catch (err) {
      await cap.close();
      throw err;
    }
    return cap;
  }

  async read(): Promise<Int16Array | null> {
    const f = await this.queue.shift();
    if (f) this.frames++;
    return f;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.proc.stop();
      this.queue.end();
      this.queue.clear();
    })();
    return this.closing;
  }

  stats(): CaptureStats {
    return { frames: this.frames, dropped: this.queue.dropped };
  }

  [Symbol.asyncIterator](): AsyncIterator<Int16Array> {
    return iterateFrames(() => this.read());
  }
}

/** Playback to a PulseAudio or ALSA device; see module docs. */
export class DevicePlayback implements PlaybackSink {
  readonly description: string;
  private readonly queue: FrameQueue<Int16Array>;
  private frames = 0;
  private waitingDrain = false;
  private error: AudioError | undefined;
  private flushWaiters: (() => void)[] = [];
  private closing: Promise<void> | undefined;

  private constructor(private readonly proc: DeviceProcess) {
    const o = proc.o;
    this.description = `${o.backend}:${o.device ?? 'default'}`;
    this.queue = new FrameQueue(o.queueFrames ?? 10);
    proc.child.stdin!.on('error', () => {}); // EPIPE when the program dies: reported via `ended`
    void proc.ended.then((err) => {
      this.error ??= err ?? (this.closing ? undefined : new AudioError(`${this.description}: ${proc.program} ended`));
      this.queue.clear();
      this.wakeFlush();
    });
    if (o.signal) {
      if (o.signal.aborted) void this.close();
      else o.signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  /** Start the playback program; rejects with an AudioError if it is missing or the device fails. */
  static async open(o: DeviceOptions): Promise<DevicePlayback> {
    const proc = new DeviceProcess(o, 'playback');
    const sink = new DevicePlayback(proc);
    try {
      await proc.started();
    } catch (err) {
      await sink.close().catch(() => {});
      throw err;
    }
    return sink;
  }

  write(frame: Int16Array): void {
    if (this.error) throw this.error;
    if (this.closing) throw new AudioError(`${this.description} is closed`);
    checkFrame(frame);
    this.frames++;
    this.queue.push(frame.slice());
    this.pump();
  }

  private pump(): void {
    const stdin = this.proc.child.stdin;
    if (!stdin || this.waitingDrain || this.proc.exited) return;
    for (;;) {
      const f = this.queue.take();
      if (!f) break;
      if (!stdin.write(encodeS16le(f))) {
        this.waitingDrain = true;
        stdin.once('drain', () => {
          this.waitingDrain = false;
          this.pump();
        });
        return;
      }
    }
    this.wakeFlush();
  }

  private wakeFlush(): void {
    if (this.queue.length > 0 && !this.proc.exited) return;
    for (const w of this.flushWaiters.splice(0)) w();
  }

  async flush(): Promise<void> {
    if (this.queue.length > 0 && !this.proc.exited) await new Promise<void>((r) => this.flushWaiters.push(r));
    if (this.error) throw this.error;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.flush().catch(() => {});
      const stdin = this.proc.child.stdin;
      this.proc.stopping = true;
      if (stdin && !this.proc.exited) {
        // Let the program play what it has, then stop it if it lingers.
        stdin.end();
        const timer = this.proc.o.clock.setTimeout(() => void this.proc.stop(), 2000);
        await this.proc.ended;
        timer.cancel();
      } else await this.proc.stop();
    })();
    return this.closing;
  }

  stats(): PlaybackStats {
    return { frames: this.frames, dropped: this.queue.dropped };
  }
}
