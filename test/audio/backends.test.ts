import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { RealClock } from '../../src/clock.ts';
import { AudioError, FRAME_SAMPLES } from '../../src/audio/audio.ts';
import { NullSink, NullSource, ToneSource } from '../../src/audio/generated.ts';
import { WavFileSink, WavFileSource } from '../../src/audio/file.ts';
import { DeviceCapture, DevicePlayback } from '../../src/audio/process.ts';
import { openCapture, openPlayback, parseAudioBackend } from '../../src/audio/select.ts';
import { FrameQueue } from '../../src/audio/frame-queue.ts';
import { S16Framer, encodeS16le } from '../../src/audio/framer.ts';
import { readWav, writeWav } from '../../codecs/wav.ts';
import { sine } from '../../codecs/tone.ts';

/** Zero crossings per second -> frequency. */
function frequency(pcm: Int16Array, rate = 48000): number {
  let z = 0;
  for (let i = 1; i < pcm.length; i++) if ((pcm[i - 1]! < 0 && pcm[i]! >= 0) || (pcm[i - 1]! >= 0 && pcm[i]! < 0)) z++;
  return z / 2 / (pcm.length / rate);
}

function concat(frames: Int16Array[]): Int16Array {
  const out = new Int16Array(frames.length * FRAME_SAMPLES);
  frames.forEach((f, i) => out.set(f, i * FRAME_SAMPLES));
  return out;
}

async function readN(src: { read(): Promise<Int16Array | null> }, n: number): Promise<Int16Array[]> {
  const out: Int16Array[] = [];
  for (let i = 0; i < n; i++) {
    const f = await src.read();
    if (!f) break;
    out.push(f);
  }
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), 'tincan-audio-'));

const gen = suite('audio: tone and null');

gen('a tone is at its frequency, in 20 ms frames of 960 samples', async () => {
  for (const hz of [440, 1000, 3000]) {
    const t = new ToneSource({ hz, clock: new VirtualClock(), realtime: false, durationMs: 1000 });
    const frames = await readN(t, 100);
    assert.is(frames.length, 50);
    assert.ok(frames.every((f) => f instanceof Int16Array && f.length === 960));
    const f = frequency(concat(frames));
    assert.ok(Math.abs(f - hz) <= 2, `${hz} Hz measured ${f}`);
    assert.is(await t.read(), null, 'ends after durationMs');
  }
});

gen('a sweep rises from low to high frequency', async () => {
  const t = new ToneSource({ sweep: { fromHz: 200, toHz: 4000, seconds: 2 }, clock: new VirtualClock(), realtime: false });
  const frames = await readN(t, 100);
  const early = frequency(concat(frames.slice(0, 10)));
  const late = frequency(concat(frames.slice(90, 100)));
  assert.ok(early > 180 && early < 320, `early ${early}`);
  assert.ok(late > 3000 && late < 4100, `late ${late}`);
});

gen('real-time pacing on a virtual clock: one frame per 20 ms', async () => {
  const clock = new VirtualClock();
  const t = new ToneSource({ hz: 440, clock });
  let got = 0;
  const reader = (async () => {
    while ((await t.read()) && ++got < 1000);
  })();
  await clock.advance(1);
  assert.is(got, 1, 'first frame at once');
  await clock.advance(1000);
  assert.ok(got >= 50 && got <= 52, `frames after 1 s: ${got}`);
  await t.close();
  await clock.advance(100);
  await reader;
  assert.is(await t.read(), null);
  assert.is(clock.pending, 0, 'no timers left');
});

gen('null source is silence; null sink counts and discards', async () => {
  const s = new NullSource({ clock: new VirtualClock(), realtime: false, durationMs: 100 });
  const frames = await readN(s, 10);
  assert.is(frames.length, 5);
  assert.ok(frames.every((f) => f.every((v) => v === 0)));
  const sink = new NullSink();
  for (const f of frames) sink.write(f);
  assert.is(sink.stats().frames, 5);
  assert.throws(() => sink.write(new Int16Array(10)), /960/);
});

gen('an AbortSignal closes a source', async () => {
  const ac = new AbortController();
  const clock = new VirtualClock();
  const t = new ToneSource({ hz: 300, clock, signal: ac.signal });
  await t.read();
  const pending = t.read();
  ac.abort();
  await clock.advance(100);
  assert.is(await pending, null);
});

const file = suite('audio: WAV files');

gen('frame queue drops the oldest when full; framer cuts any chunking', async () => {
  const q = new FrameQueue<number>(3);
  for (let i = 0; i < 5; i++) q.push(i);
  assert.is(q.dropped, 2);
  assert.is(await q.shift(), 2);
  q.end();
  assert.is(await q.shift(), 3);
  assert.is(await q.shift(), 4);
  assert.is(await q.shift(), null);
  const pcm = new Int16Array(960 * 3).map((_, i) => i - 1000);
  const bytes = encodeS16le(pcm);
  const fr = new S16Framer();
  const frames = [...fr.push(bytes.subarray(0, 7)), ...fr.push(bytes.subarray(7, 3001)), ...fr.push(bytes.subarray(3001))];
  assert.is(frames.length, 3);
  assert.equal(Array.from(concat(frames)), Array.from(pcm));
});

file('round trip: a 44.1 kHz stereo WAV paced in real time into a WAV sink', async () => {
  const inPath = join(tmp, 'in.wav');
  const outPath = join(tmp, 'out.wav');
  const secs = 1.5;
  const left = sine(1000, 44100, 44100 * secs, 0.5);
  writeFileSync(inPath, writeWav({ sampleRate: 44100, channels: [left, left] }, 'pcm24'));
  const clock = new VirtualClock();
  const src = await WavFileSource.open({ path: inPath, clock });
  assert.is(src.fileSampleRate, 44100);
  assert.ok(Math.abs(src.durationMs - 1500) < 1);
  const sink = await WavFileSink.open({ path: outPath, clock });
  let n = 0;
  const pump = (async () => {
    for await (const f of src) {
      sink.write(f);
      n++;
    }
  })();
  await clock.advance(500);
  assert.ok(n >= 25 && n <= 27, `paced: ${n} frames after 500 ms`);
  await clock.advance(2000);
  await pump;
  assert.is(n, 75);
  await sink.close();
  const out = readWav(new Uint8Array(readFileSync(outPath)));
  assert.is(out.sampleRate, 48000);
  assert.is(out.channels.length, 1);
  assert.is(out.channels[0]!.length, 75 * 960);
  const pcm = Int16Array.from(out.channels[0]!, (v) => Math.round(v * 32767));
  const f = frequency(pcm.subarray(4800, 67200));
  assert.ok(Math.abs(f - 1000) < 3, `1 kHz after resampling: ${f}`);
  let peak = 0;
  for (let i = 4800; i < 67200; i++) peak = Math.max(peak, Math.abs(pcm[i]!));
  assert.ok(Math.abs(peak - 16384) < 400, `level kept: ${peak}`);
});

file('as fast as possible, with looping', async () => {
  const p = join(tmp, 'short.wav');
  writeFileSync(p, writeWav({ sampleRate: 48000, channels: [sine(500, 48000, 4800)] }, 'pcm16'));
  const src = await WavFileSource.open({ path: p, clock: new VirtualClock(), realtime: false, loop: true });
  const frames = await readN(src, 20);
  assert.is(frames.length, 20, 'loops past the 5 frames of the file');
  await src.close();
  assert.is(await src.read(), null);
});

file('a real-time WAV sink consumes one frame per 20 ms and drops the oldest beyond its queue', async () => {
  const clock = new VirtualClock();
  const outPath = join(tmp, 'rt.wav');
  const sink = await WavFileSink.open({ path: outPath, clock, realtime: true, queueFrames: 5 });
  for (let i = 0; i < 20; i++) sink.write(new Int16Array(960).fill(i));
  assert.is(sink.stats().dropped, 15);
  await clock.advance(200);
  await sink.close();
  const out = readWav(new Uint8Array(readFileSync(outPath)));
  assert.is(out.channels[0]!.length, 5 * 960);
  assert.is(Math.round(out.channels[0]![0]! * 32768), 15, 'the newest frames were kept');
  assert.is(clock.pending, 0);
});

file('clear errors: missing file, not a WAV, missing --mic/--speaker', async () => {
  const clock = new VirtualClock();
  await assertRejects(WavFileSource.open({ path: join(tmp, 'nope.wav'), clock }), /cannot read WAV file ".*nope\.wav"/);
  const bad = join(tmp, 'bad.wav');
  writeFileSync(bad, 'RIFF....WAVEjunk');
  await assertRejects(WavFileSource.open({ path: bad, clock }), /cannot use WAV file ".*bad\.wav"/);
  await assertRejects(openCapture({ audio: 'file' }, { clock }), /--audio file needs --mic/);
  await assertRejects(openPlayback({ audio: 'file' }, { clock }), /--audio file needs --speaker/);
  await assertRejects(WavFileSink.open({ path: join(tmp, 'no-such-dir', 'x.wav'), clock }), /cannot write WAV file/);
  assert.throws(() => parseAudioBackend('jack'), /unknown --audio "jack": choose one of pulse, alsa, file, tone, null/);
});

file('selection: tone, sweep, null', async () => {
  const clock = new VirtualClock();
  const t = await openCapture({ audio: 'tone', tone: 1000, realtime: false }, { clock });
  assert.ok(Math.abs(frequency(concat(await readN(t, 25))) - 1000) < 3);
  const s = await openCapture({ audio: 'tone', tone: 'sweep', realtime: false }, { clock });
  assert.match(s.description, /sweep/);
  const n = await openCapture({ audio: 'null', realtime: false }, { clock });
  assert.is((await n.read())!.length, 960);
  const sink = await openPlayback({ audio: 'tone' }, { clock });
  sink.write(new Int16Array(960));
  assert.is(sink.stats().frames, 1);
});

const dev = suite('audio: device subprocesses');

const noPath = { ...process.env, PATH: join(tmp, 'empty-path') };

dev('a missing program is named, with the package and --audio file', async () => {
  const clock = new RealClock();
  for (const [audio, prog, pkg] of [
    ['pulse', 'parec', 'pulseaudio-utils'],
    ['alsa', 'arecord', 'alsa-utils'],
  ] as const) {
    await assertRejects(openCapture({ audio, env: noPath }, { clock }), new RegExp(`${prog} not found.*${pkg}.*--audio file`));
  }
  for (const [audio, prog] of [
    ['pulse', 'pacat'],
    ['alsa', 'aplay'],
  ] as const) {
    await assertRejects(openPlayback({ audio, env: noPath }, { clock }), new RegExp(`${prog} not found.*--audio file`));
  }
});

/** A fake device program: a shell script in its own PATH directory. */
function fakeProgram(name: string, script: string): Record<string, string | undefined> {
  const dir = mkdtempSync(join(tmp, 'bin-'));
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${script}\n`);
  chmodSync(p, 0o755);
  return { ...process.env, PATH: `${dir}:/usr/bin:/bin` };
}

dev('a missing device is named, with --mic/--speaker and --audio file', async () => {
  const clock = new RealClock();
  const env = fakeProgram('parec', 'echo "Stream error: No such entity" >&2; exit 1');
  await assertRejects(openCapture({ audio: 'pulse', mic: 'usb-mic', env }, { clock }), /PulseAudio capture device "usb-mic" not found.*--mic.*--audio file/);
  const env2 = fakeProgram('pacat', 'echo "Connection failure: Connection refused" >&2; exit 1');
  await assertRejects(openPlayback({ audio: 'pulse', env: env2 }, { clock }), /no PulseAudio sound server.*--audio file/);
});

dev('ALSA, for real: an unknown PCM is named; the null PCM captures and plays', async () => {
  const clock = new RealClock();
  await assertRejects(openCapture({ audio: 'alsa', mic: 'nosuch' }, { clock }), /ALSA capture device "nosuch" not found.*--mic.*--audio file/);
  await assertRejects(openPlayback({ audio: 'alsa', speaker: 'nosuch' }, { clock }), /ALSA playback device "nosuch" not found.*--speaker/);
  const mic = await openCapture({ audio: 'alsa', mic: 'null' }, { clock });
  const frames = await readN(mic, 5);
  assert.is(frames.length, 5);
  await mic.close();
  const spk = await openPlayback({ audio: 'alsa', speaker: 'null' }, { clock });
  for (let i = 0; i < 10; i++) spk.write(new Int16Array(960));
  await spk.close();
  assert.is(spk.stats().frames, 10);
});

dev('capture through a pipe: frames arrive intact; a slow reader loses the oldest, counted', async () => {
  const raw = join(tmp, 'tone.raw');
  const pcm = Int16Array.from(sine(1000, 48000, 48000 * 2, 0.5), (v) => Math.round(v * 32767));
  writeFileSync(raw, encodeS16le(pcm));
  const env = fakeProgram('parec', `cat "${raw}"; exec sleep 5`);
  const cap = await DeviceCapture.open({ backend: 'pulse', clock: new RealClock(), env, queueFrames: 20 });
  await new Promise((r) => setTimeout(r, 300)); // the reader is busy: 100 frames arrive
  const frames = await readN(cap, 20);
  assert.is(frames.length, 20);
  assert.is(cap.stats().dropped, 80);
  assert.equal(Array.from(frames[19]!.subarray(0, 8)), Array.from(pcm.subarray(99 * 960, 99 * 960 + 8)), 'the newest frames were kept');
  await cap.close();
  assert.is(await cap.read(), null);
});

dev('playback through a pipe writes s16le; the event loop is never blocked', async () => {
  const out = join(tmp, 'played.raw');
  const env = fakeProgram('pacat', `cat > "${out}"`);
  const spk = await DevicePlayback.open({ backend: 'pulse', clock: new RealClock(), env, queueFrames: 100 });
  const frames = Array.from({ length: 50 }, (_, i) => new Int16Array(960).fill(i * 100 - 2000));
  const t0 = performance.now();
  for (const f of frames) spk.write(f);
  assert.ok(performance.now() - t0 < 50, 'write() returns at once');
  await spk.close();
  const bytes = new Uint8Array(readFileSync(out));
  assert.equal(Array.from(new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2)), Array.from(concat(frames)));
  assert.throws(() => spk.write(frames[0]!), (e: unknown) => e instanceof AudioError);
});

dev('a device that dies mid-stream fails read() with a clear error', async () => {
  const env = fakeProgram('arecord', 'head -c 19200 /dev/zero; echo "arecord: device unplugged" >&2; exit 3');
  const cap = await DeviceCapture.open({ backend: 'alsa', device: 'hw:1', clock: new RealClock(), env });
  const frames: Int16Array[] = [];
  const err = await (async () => {
    try {
      for (;;) {
        const f = await cap.read();
        if (!f) return undefined;
        frames.push(f);
      }
    } catch (e) {
      return e as Error;
    }
  })();
  assert.is(frames.length, 10);
  assert.instance(err, AudioError, String(err));
  assert.match(err!.message, /ALSA capture on device "hw:1" failed/, err!.message);
  assert.match(err!.message, /ALSA capture on device "hw:1" failed: arecord exited with code 3 \(arecord: device unplugged\)/);
  await cap.close();
});

async function assertRejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, AudioError);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
}

dev.after(() => rmSync(tmp, { recursive: true, force: true }));
gen.run();
file.run();
dev.run();
