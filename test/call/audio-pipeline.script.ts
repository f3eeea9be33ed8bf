/**
 * Two MediaSessions with audio pipelines in one process on 127.0.0.1 (run inside a
 * loopback-only namespace by audio-pipeline.test.ts). A plays the speech WAV (argv[2])
 * once; B records what it hears; B plays a tone back so both directions carry audio.
 * Prints one JSON line: setup, stats of both ends, similarity of B's recording.
 */
import process from 'node:process';
import { MediaSession } from '../../src/call/media-session.ts';
import { AudioPipeline } from '../../src/call/audio-pipeline.ts';
import type { CallStats } from '../../src/call/call-stats.ts';
import { RealClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { WavFileSource } from '../../src/audio/file.ts';
import { ToneSource } from '../../src/audio/generated.ts';
import { compareAudio } from '../../codecs/similarity.ts';
import { MemorySink } from '../helpers/memory-sink.ts';
import { warpedSimilarity } from '../helpers/warped-similarity.ts';

const wav = process.argv[2]!;
const clock = new RealClock();
const log = silentLogger();
const init = { iceServers: [], additionalHostAddresses: ['127.0.0.1'] };
AudioPipeline.warmUp();
const a = new MediaSession({ clock, log }, init);
const b = new MediaSession({ clock, log }, init);
const t0 = Date.now();
await a.complete(await b.answer(await a.offer()));
await Promise.all([a.connected, b.connected]);
const setupMs = Date.now() - t0;

const sinkA = new MemorySink();
const sinkB = new MemorySink();
const statsA: CallStats[] = [];
const statsB: CallStats[] = [];
const sourceA = await WavFileSource.open({ path: wav, clock, realtime: true });
let ended!: () => void;
const sourceEnded = new Promise<void>((r) => (ended = r));
const pa = new AudioPipeline({ clock, log }, { media: a, source: sourceA, sink: sinkA, onStats: (s) => statsA.push(s), onSourceEnd: ended });
const pb = new AudioPipeline({ clock, log }, {
  media: b,
  source: new ToneSource({ hz: 300, clock, amplitude: 0.3 }),
  sink: sinkB,
  onStats: (s) => statsB.push(s),
});
await sourceEnded;
await new Promise((r) => setTimeout(r, 400));
const finalA = await pa.stats();
const finalB = await pb.stats();
const sourcesB = { ...pb.frameSources };
await pa.close();
await pb.close();
const redNegotiated = a.redNegotiated && b.redNegotiated;
await a.close();
await b.close();

const ref = await WavFileSource.open({ path: wav, clock, realtime: false });
const frames: Int16Array[] = [];
for (let f = await ref.read(); f; f = await ref.read()) frames.push(f);
await ref.close();
const reference = new Int16Array(frames.length * 960);
frames.forEach((f, i) => reference.set(f, i * 960));
const sim = compareAudio(reference, sinkB.pcm(), { sampleRate: 48000, maxLagMs: 1000 });
const warped = warpedSimilarity(reference, sinkB.pcm());
console.log(JSON.stringify({
  setupMs,
  redNegotiated,
  referenceMs: reference.length / 48,
  recordedMs: sinkB.pcm().length / 48,
  similarity: sim,
  warped,
  finalA,
  finalB,
  sourcesB,
  maxRecvKbpsB: Math.max(0, ...statsB.map((s) => s.recvKbps)),
  bestMosB: Math.max(0, ...statsB.map((s) => s.mos)),
  minJitterBufferMsB: Math.min(1e9, ...statsB.map((s) => s.jitterBufferMs)),
  samplesA: statsA.length,
  samplesB: statsB.length,
}));
