/**
 * The PulseAudio backend against a real, private PulseAudio server: a null sink whose
 * monitor source records what is played to it, so `pacat` -> null sink -> `parec` is a
 * loopback. Needs the Debian packages `pulseaudio` and `pulseaudio-utils`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { RealClock } from '../../src/clock.ts';
import { AudioError, type CaptureSource, type PlaybackSink } from '../../src/audio/audio.ts';
import { ToneSource } from '../../src/audio/generated.ts';
import { openCapture, openPlayback } from '../../src/audio/select.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tincan-pulse-'));
const socket = join(tmp, 'native');
const env: Record<string, string | undefined> = {
  ...process.env,
  HOME: tmp,
  XDG_RUNTIME_DIR: tmp,
  PULSE_RUNTIME_PATH: join(tmp, 'run'),
  PULSE_SERVER: `unix:${socket}`,
};
let server: ChildProcess | undefined;
let serverLog = '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pactlInfo(): Promise<boolean> {
  return new Promise((resolve) => execFile('pactl', ['info'], { env: env as NodeJS.ProcessEnv, timeout: 2000 }, (err) => resolve(!err)));
}

const pulse = suite('audio: PulseAudio (private server with a null sink)');

pulse.before(async () => {
  mkdirSync(join(tmp, 'run'), { recursive: true });
  server = spawn(
    'pulseaudio',
    [
      '-n',
      '--daemonize=no',
      '--exit-idle-time=-1',
      '--use-pid-file=no',
      '--disallow-module-loading',
      '--log-target=stderr',
      '--load=module-null-sink sink_name=tincan_null rate=48000 channels=1',
      `--load=module-native-protocol-unix auth-anonymous=1 socket=${socket}`,
    ],
    { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  server.stderr!.on('data', (d) => (serverLog = (serverLog + d).slice(-4000)));
  const failed = new Promise<Error>((resolve) => {
    server!.once('error', (e) => resolve(e));
    server!.once('exit', (code) => resolve(new Error(`pulseaudio exited with ${code}: ${serverLog}`)));
  });
  for (let i = 0; i < 50; i++) {
    const r = await Promise.race([pactlInfo(), failed]);
    if (r === true) return;
    if (r instanceof Error) throw new Error(`cannot start a private PulseAudio server (packages pulseaudio, pulseaudio-utils): ${r.message}`);
    await sleep(100);
  }
  throw new Error(`PulseAudio did not come up: ${serverLog}`);
});

pulse.after(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    const t = setTimeout(() => server!.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
  rmSync(tmp, { recursive: true, force: true });
});

function frequency(pcm: Int16Array, rate = 48000): number {
  let z = 0;
  for (let i = 1; i < pcm.length; i++) if ((pcm[i - 1]! < 0) !== (pcm[i]! < 0)) z++;
  return z / 2 / (pcm.length / rate);
}

pulse('a tone played with pacat to the null sink comes back through parec from its monitor', async () => {
  const clock = new RealClock();
  let mic: CaptureSource | undefined;
  let speaker: PlaybackSink | undefined;
  try {
    // A loaded machine can take a second or two to start PulseAudio streams: wait for
    // the capture to flow, and give the speaker room to buffer meanwhile.
    mic = await openCapture({ audio: 'pulse', mic: 'tincan_null.monitor', env }, { clock });
    assert.ok(await mic.read(), 'the monitor source delivers frames');
    speaker = await openPlayback({ audio: 'pulse', speaker: 'tincan_null', env, queueFrames: 200 }, { clock });
    const captured: Int16Array[] = [];
    let loudCount = 0;
    let recordingDone = false;
    const recording = (async () => {
      for (;;) {
        const f = await mic!.read();
        if (!f) return;
        captured.push(f);
        if (f.some((v) => Math.abs(v) > 8000)) loudCount++;
      }
    })().finally(() => (recordingDone = true));
    for await (const f of new ToneSource({ hz: 1000, clock, durationMs: 2000 })) speaker.write(f);
    await speaker.close();
    for (let i = 0; i < 100 && loudCount < 90 && !recordingDone; i++) await sleep(50);
    await mic.close();
    await recording;
    // The frames that carry the tone.
    const loud = captured.filter((f) => f.some((v) => Math.abs(v) > 8000));
    assert.ok(loud.length >= 80, `${loud.length} of ${captured.length} frames carry the tone`);
    // Per-frame frequency (20 cycles in 20 ms: 1000 Hz within one zero crossing).
    const perFrame = loud.map((f) => frequency(f)).sort((a, b) => a - b);
    const median = perFrame[perFrame.length >> 1]!;
    const good = perFrame.filter((hz) => Math.abs(hz - 1000) <= 50).length;
    assert.ok(Math.abs(median - 1000) <= 25, `loopback frequency ${median} Hz`);
    assert.ok(good >= 0.9 * loud.length, `${good}/${loud.length} frames at 1 kHz: ${perFrame.join(' ')}`);
    assert.is(speaker.stats().dropped, 0);
  } finally {
    await speaker?.close().catch(() => {});
    await mic?.close();
  }
});

pulse('an unknown PulseAudio device is named', async () => {
  const clock = new RealClock();
  try {
    const m = await openCapture({ audio: 'pulse', mic: 'no_such_source', env }, { clock });
    await m.close();
    assert.unreachable('opened a source that does not exist');
  } catch (err) {
    assert.instance(err, AudioError);
    assert.match((err as Error).message, /PulseAudio capture device "no_such_source" not found.*--mic.*--audio file/);
  }
  try {
    const s = await openPlayback({ audio: 'pulse', speaker: 'no_such_sink', env }, { clock });
    await s.close();
    assert.unreachable('opened a sink that does not exist');
  } catch (err) {
    assert.instance(err, AudioError);
    assert.match((err as Error).message, /PulseAudio playback device "no_such_sink" not found.*--speaker/);
  }
});

pulse.run();
