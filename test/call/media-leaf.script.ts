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
import { MemorySink } from '../helpers/memory-sink.ts';
import { warpedSimilarity } from '../helpers/warped-similarity.ts';
import { compareAudio } from '../../codecs/similarity.ts';
import { writeFileSync } from 'node:fs';
import { writeWav } from '../../codecs/wav.ts';
import { int16ToFloat } from '../../codecs/pcm.ts';

interface LeafConfig {
  name: string;
  iceServers: IceServer[];
  iceTransportPolicy?: 'all' | 'relay';
  additionalHostAddresses?: string[];
  deadAfterMs?: number;
  gatherTimeoutMs?: number;
  /**
   * On a dead path the caller re-offers: `ice` (default) with MediaSession.offer({iceRestart})
   * as CallManager does; `fresh` with a new MediaSession moved under the pipeline.
   */
  restart?: 'ice' | 'fresh';
  wav: string;
  red?: 'auto' | 'off' | number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as LeafConfig;
const clock = new RealClock();
const log = silentLogger();
const emit = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

AudioPipeline.warmUp();
let caller = false;
const t0 = Date.now();
let connectedAt = 0;
// Media arrival timeline: the largest gap between two packets, and resumption after a dead path.
let lastArrival = 0;
let maxGapMs = 0;
let deadAt = 0;
let restarts = 0;
/** TURN servers (by host:port) whose relay died: left out of a fresh session. */
const deadRelays = new Set<string>();

function iceServersNow(): IceServer[] {
  const alive = cfg.iceServers.filter((s) => ![...deadRelays].some((d) => s.urls.includes(d)));
  return alive.length ? alive : cfg.iceServers;
}

function createSession(): MediaSession {
  const m = new MediaSession({ clock, log }, {
    iceServers: iceServersNow(),
    iceTransportPolicy: cfg.iceTransportPolicy,
    additionalHostAddresses: cfg.additionalHostAddresses,
    deadAfterMs: cfg.deadAfterMs ?? 3000,
    gatherTimeoutMs: cfg.gatherTimeoutMs ?? 3000,
  });
  m.connected.then(
    () => {
      if (m !== media) return;
      if (!connectedAt) {
        connectedAt = Date.now();
        emit({ type: 'connected', setupMs: connectedAt - setupFrom });
      } else emit({ type: 'reconnected', atMs: Date.now() });
    },
    (err: Error) => m === media && emit({ type: 'failed', error: err.message }),
  );
  m.onAudio((a) => {
    if (a.redundant || m !== media) return;
    const now = Date.now();
    if (lastArrival) maxGapMs = Math.max(maxGapMs, now - lastArrival);
    if (deadAt) {
      emit({ type: 'resumed', gapMs: now - lastArrival, sinceDeadMs: now - deadAt, atMs: now });
      deadAt = 0;
    }
    lastArrival = now;
  });
  m.onPathDead(() => void onPathDead(m));
  return m;
}

async function onPathDead(m: MediaSession): Promise<void> {
  if (m !== media) return;
  deadAt = Date.now();
  const path = await m.stats().catch(() => undefined);
  const deadVia = path?.path === 'relay' ? relayOf(path) : undefined;
  emit({ type: 'pathDead', atMs: deadAt, silentMs: deadAt - lastArrival, via: deadVia });
  // Both ends remember the relay that died, so that fresh sessions leave it out.
  if (deadVia && cfg.restart === 'fresh') deadRelays.add(deadVia);
  if (!caller) return;
  restarts++;
  try {
    if (cfg.restart === 'fresh') {
      // werift uses only the first TURN server of its configuration, so a restart on the
      // same peer connection would gather from the dead relay again: start a fresh
      // session without it, and move the audio over.
      const old = media;
      media = createSession();
      pipeline?.replaceMedia(media);
      void old.close();
      emit({ type: 'restart-offer', fresh: true, sdp: await media.offer() });
    } else {
      emit({ type: 'restart-offer', sdp: await m.offer({ iceRestart: true }) });
    }
  } catch (err) {
    emit({ type: 'error', error: `restart offer: ${(err as Error).message}` });
  }
}

/** The TURN server IP of the relayed end of a path (relay addresses share the server's IP). */
function relayOf(p: { localType?: string; localAddress?: string; remoteAddress?: string }): string | undefined {
  const addr = p.localType === 'relay' ? p.localAddress : p.remoteAddress;
  return addr?.split(':')[0];
}

let media = createSession();
let setupFrom = t0;
// Decode and resample the WAV before the call: under load it takes a while.
const preloaded = WavFileSource.open({ path: cfg.wav, clock, realtime: true, loop: true });
await preloaded;
emit({ type: 'ready' });

let pipeline: AudioPipeline | undefined;
const sink = new MemorySink();
let playStartedAt = 0;
const statsLog: CallStats[] = [];

async function play(): Promise<void> {
  const source = await preloaded;
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
  const sim = heard.length > 24000 ? warpedSimilarity(reference, heard) : undefined;
  const global = heard.length > 24000 ? compareAudio(reference, heard, { sampleRate: 48000, maxLagMs: 1500 }) : undefined;
  if (process.env.TINCAN_LEAF_DUMP) writeFileSync(`${process.env.TINCAN_LEAF_DUMP}/${cfg.name}-${process.pid}.wav`, writeWav({ sampleRate: 48000, channels: [int16ToFloat(heard)] }));
  const maxStats = (k: 'lossPct' | 'jitterMs') => Math.max(0, ...statsLog.map((s) => s[k]));
  emit({
    type: 'result',
    name: cfg.name,
    connected: connectedAt > 0,
    setupMs: connectedAt ? connectedAt - setupFrom : undefined,
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
    meanEnvelopeCorrelation: sim?.meanEnvelopeCorrelation,
    globalEnvelopeCorrelation: global?.envelopeCorrelation,
    lsdDb: sim?.logSpectralDistanceDb,
    maxGapMs,
    restarts,
    deadRelays: [...deadRelays],
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
    let m: { cmd: string; sdp?: string; fresh?: boolean };
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    try {
      switch (m.cmd) {
        case 'offer':
          caller = true;
          setupFrom = Date.now();
          emit({ type: 'offer', sdp: await media.offer() });
          break;
        case 'answer':
          if (m.fresh) {
            const old = media;
            media = createSession();
            pipeline?.replaceMedia(media);
            void old.close();
          }
          if (!connectedAt) setupFrom = Date.now();
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
