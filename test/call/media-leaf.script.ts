/**
 * One call endpoint as a child process (usually inside a network namespace): a
 * MediaSession with the audio pipeline, driven over stdin/stdout JSON lines by the test,
 * which plays the signaling relay between two of these.
 *
 * argv[2]: JSON {name, iceServers, iceTransportPolicy?, additionalHostAddresses?,
 *                deadAfterMs?, wav (speech to play, looped), red?}
 * stdin commands:
 *   {"cmd":"offer"}                 -> {"type":"offer","sdp"}
 *   {"cmd":"answer","sdp"}          -> {"type":"answer","sdp"}      (also for ICE restarts)
 *   {"cmd":"complete","sdp"}        -> {"type":"completed"}
 *   {"cmd":"play"}                  start the audio pipeline (speech out, recording in)
 *   {"cmd":"finish"}                -> {"type":"result", ...} then exit
 * events: {"type":"connected","setupMs"}; {"type":"stats",...} every second while playing;
 *   {"type":"pathDead","atMs"} then, as caller ({"cmd":"offer"} was used), the ICE-restart
 *   offer {"type":"restart-offer","sdp"} (the test relays it; answer comes back by
 *   "complete"), and {"type":"resumed","gapMs"} when media flows again.
 */
import process from 'node:process';
import { createInterface } from 'node:readline';
import { MediaSession, type IceServer } from '../../src/call/media-session.ts';
import { AudioPipeline } from '../../src/call/audio-pipeline.ts';
import type { CallStats } from '../../src/call/call-stats.ts';
import { RealClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { WavFileSource } from '../../src/audio/file.ts';
import { compareAudio } from '../../codecs/similarity.ts';
import { MemorySink } from '../helpers/memory-sink.ts';

interface LeafConfig {
  name: string;
  iceServers: IceServer[];
  iceTransportPolicy?: 'all' | 'relay';
  additionalHostAddresses?: string[];
  deadAfterMs?: number;
  wav: string;
  red?: 'auto' | 'off' | number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as LeafConfig;
const clock = new RealClock();
const log = silentLogger();
const emit = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

const media = new MediaSession({ clock, log }, {
  iceServers: cfg.iceServers,
  iceTransportPolicy: cfg.iceTransportPolicy,
  additionalHostAddresses: cfg.additionalHostAddresses,
  deadAfterMs: cfg.deadAfterMs ?? 3000,
  gatherTimeoutMs: 3000,
});
let caller = false;
const t0 = Date.now();
let connectedAt = 0;
media.connected.then(
  () => {
    connectedAt = Date.now();
    emit({ type: 'connected', setupMs: connectedAt - t0 });
  },
  (err: Error) => emit({ type: 'failed', error: err.message }),
);

// Media arrival timeline: the largest gap between two packets, and resumption after a dead path.
let lastArrival = 0;
let maxGapMs = 0;
let deadAt = 0;
let restarts = 0;
media.onAudio((a) => {
  if (a.redundant) return;
  const now = Date.now();
  if (lastArrival) maxGapMs = Math.max(maxGapMs, now - lastArrival);
  if (deadAt) {
    emit({ type: 'resumed', gapMs: now - lastArrival, sinceDeadMs: now - deadAt });
    deadAt = 0;
  }
  lastArrival = now;
});
media.onPathDead(() => {
  deadAt = Date.now();
  emit({ type: 'pathDead', atMs: deadAt, silentMs: deadAt - lastArrival });
  if (!caller) return;
  restarts++;
  media.offer({ iceRestart: true }).then(
    (sdp) => emit({ type: 'restart-offer', sdp }),
    (err: Error) => emit({ type: 'error', error: `restart offer: ${err.message}` }),
  );
});

let pipeline: AudioPipeline | undefined;
const sink = new MemorySink();
let playStartedAt = 0;
const statsLog: CallStats[] = [];

async function play(): Promise<void> {
  const source = await WavFileSource.open({ path: cfg.wav, clock, realtime: true, loop: true });
  playStartedAt = Date.now();
  pipeline = new AudioPipeline({ clock, log }, {
    media,
    source,
    sink,
    red: cfg.red ?? 'auto',
    onStats: (s) => {
      statsLog.push(s);
      emit({ type: 'stats', ...s });
    },
  });
}

async function finish(): Promise<void> {
  const playedMs = Date.now() - playStartedAt;
  const final = pipeline ? await pipeline.stats() : undefined;
  const sources = pipeline ? { ...pipeline.frameSources } : undefined;
  await pipeline?.close();
  const path = await media.stats();
  await media.close();
  // Reference: the same file, decoded the same way, as long as we played.
  const ref = await WavFileSource.open({ path: cfg.wav, clock, realtime: false, loop: true });
  const refFrames: Int16Array[] = [];
  for (let i = 0; i < Math.ceil(playedMs / 20); i++) refFrames.push((await ref.read())!);
  await ref.close();
  const reference = new Int16Array(refFrames.length * 960);
  refFrames.forEach((f, i) => reference.set(f, i * 960));
  const recorded = sink.pcm();
  // Skip what was recorded before the peer started speaking (leading silence/comfort).
  let start = 0;
  while (start < recorded.length && Math.abs(recorded[start]!) < 200) start++;
  const heard = recorded.subarray(Math.max(0, start - 960));
  const sim = heard.length > 4800 ? compareAudio(reference, heard, { sampleRate: 48000, maxLagMs: 1500 }) : undefined;
  const maxStats = (k: 'lossPct' | 'jitterMs') => Math.max(0, ...statsLog.map((s) => s[k]));
  emit({
    type: 'result',
    name: cfg.name,
    connected: connectedAt > 0,
    setupMs: connectedAt ? connectedAt - t0 : undefined,
    path: path.path,
    localType: path.localType,
    remoteType: path.remoteType,
    localAddress: path.localAddress,
    remoteAddress: path.remoteAddress,
    via: final?.via,
    packetsSent: path.packetsSent,
    packetsReceived: path.packetsReceived,
    redRecovered: path.redRecovered,
    playedMs,
    recordedMs: Math.round(heard.length / 48),
    envelopeCorrelation: sim?.envelopeCorrelation,
    lsdDb: sim?.logSpectralDistanceDb,
    maxGapMs,
    restarts,
    maxLossPct: maxStats('lossPct'),
    maxJitterMs: maxStats('jitterMs'),
    stats: final,
    frameSources: sources,
    statsSamples: statsLog.length,
  });
}

const rl = createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
  queue = queue.then(async () => {
    let m: { cmd: string; sdp?: string };
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    try {
      switch (m.cmd) {
        case 'offer':
          caller = true;
          emit({ type: 'offer', sdp: await media.offer() });
          break;
        case 'answer':
          emit({ type: 'answer', sdp: await media.answer(m.sdp!) });
          break;
        case 'complete':
          await media.complete(m.sdp!);
          emit({ type: 'completed' });
          break;
        case 'play':
          await play();
          emit({ type: 'playing' });
          break;
        case 'finish':
          await finish();
          rl.close();
          process.exit(0);
      }
    } catch (err) {
      emit({ type: 'error', cmd: m.cmd, error: (err as Error).stack ?? String(err) });
    }
  });
});
rl.on('close', () => {
  void media.close().finally(() => process.exit(0));
});
