/**
 * The per-second statistics of a call's audio (DESIGN.md "Calls": path and via which
 * supernode, RTT, jitter, loss, bitrate, jitter-buffer delay, MOS), assembled by
 * {@link buildCallStats} from the media session's path figures, the receive-side RTP
 * figures, the playout's counters and byte-count deltas over the interval.
 *
 * Loss figures, all percentages:
 * - `lossPct`: network loss of the incoming stream (RFC 3550, cumulative);
 * - `remoteLossPct`: loss of our outgoing stream as the peer reports it in RTCP (what
 *   steers our encoder's FEC and RED);
 * - `residualLossPct`: frames that had to be concealed after FEC and RED recovery
 *   (what the listener hears, and what the MOS is computed from).
 *
 * @module
 */
import type { PathStats } from './media-session.ts';
import type { RtpReceiveSnapshot } from './rtp-receive-stats.ts';
import type { PlayoutStats } from '../../codecs/playout.ts';
import { estimateQuality } from './e-model.ts';

/** One stats sample of a call's audio. */
export interface CallStats {
  /** When the sample was taken (clock ms). */
  atMs: number;
  path: 'direct' | 'relay' | 'none';
  /** The relay (TURN server) address media goes through, `host:port`, for `relay`. */
  via?: string;
  localType?: string;
  remoteType?: string;
  localAddress?: string;
  remoteAddress?: string;
  /** Round-trip time (ICE consent checks, else RTCP), ms. */
  rttMs?: number;
  /** RFC 3550 interarrival jitter of the incoming stream, ms. */
  jitterMs: number;
  lossPct: number;
  remoteLossPct?: number;
  residualLossPct: number;
  /** Outgoing / incoming audio payload bitrate over the last interval, kbit/s. */
  sendKbps: number;
  recvKbps: number;
  packetsSent: number;
  packetsReceived: number;
  /** Jitter-buffer delay now and its target, ms. */
  jitterBufferMs: number;
  targetDelayMs: number;
  /** Frames played from packets, recovered by Opus FEC, recovered from RED copies. */
  framesDecoded: number;
  fecRecovered: number;
  redRecovered: number;
  /** Frames concealed (PLC) and packets that came too late to play. */
  concealed: number;
  late: number;
  /** ICE restarts so far in this call (each after the media path died). */
  restarts: number;
  /** RED distance in use for our outgoing stream (0 = no redundancy). */
  redDistance: number;
  /** Expected loss given to our Opus encoder (steers its in-band FEC), percent. */
  encoderLossPct: number;
  /** E-model transmission rating and MOS estimate. */
  r: number;
  mos: number;
}

/** Counters at the previous sample, for per-interval figures. */
export interface StatsBaseline {
  atMs: number;
  bytesSent: number;
  bytesReceived: number;
  /** Frames that needed data (played + recovered + concealed). */
  frames: number;
  concealed: number;
}

/** Inputs of {@link buildCallStats}. */
export interface CallStatsInput {
  nowMs: number;
  path: PathStats;
  rx: RtpReceiveSnapshot;
  playout: PlayoutStats;
  redDistance: number;
  encoderLossPct: number;
  fec: boolean;
  previous?: StatsBaseline;
}

/** Build a sample and the baseline for the next one. */
export function buildCallStats(i: CallStatsInput): { stats: CallStats; baseline: StatsBaseline } {
  const p = i.path;
  const pl = i.playout;
  const frames = pl.played + pl.fecRecovered + pl.concealed;
  const prev = i.previous;
  const dt = prev ? Math.max(1, i.nowMs - prev.atMs) : 0;
  const kbps = (now: number, before: number | undefined) => (prev && before !== undefined ? ((now - before) * 8) / dt : 0);
  // Residual loss over the interval when there was one with audio, else cumulative.
  const dFrames = prev ? frames - prev.frames : frames;
  const dConcealed = prev ? pl.concealed - prev.concealed : pl.concealed;
  const residualLossPct = dFrames > 0 ? (100 * dConcealed) / dFrames : frames > 0 ? (100 * pl.concealed) / frames : 0;
  const rttMs = p.rttMs ?? p.rtcpRttMs;
  const q = estimateQuality({
    rttMs: rttMs ?? 0,
    jitterBufferMs: pl.currentDelayMs,
    lossPct: residualLossPct,
    codec: i.fec ? 'opus-fec' : 'opus',
  });
  const via = p.path !== 'relay' ? undefined : p.localType === 'relay' ? p.localAddress : p.remoteAddress;
  const stats: CallStats = {
    atMs: i.nowMs,
    path: p.path,
    via,
    localType: p.localType,
    remoteType: p.remoteType,
    localAddress: p.localAddress,
    remoteAddress: p.remoteAddress,
    rttMs,
    jitterMs: round(i.rx.jitterMs),
    lossPct: round(i.rx.lossPct),
    remoteLossPct: p.remoteLossFraction === undefined ? undefined : round(p.remoteLossFraction * 100),
    residualLossPct: round(residualLossPct),
    sendKbps: round(kbps(p.bytesSent, prev?.bytesSent)),
    recvKbps: round(kbps(p.bytesReceived, prev?.bytesReceived)),
    packetsSent: p.packetsSent,
    packetsReceived: p.packetsReceived,
    jitterBufferMs: pl.currentDelayMs,
    targetDelayMs: pl.targetDelayMs,
    framesDecoded: pl.played,
    fecRecovered: pl.fecRecovered,
    redRecovered: pl.redundantUsed,
    concealed: pl.concealed,
    late: pl.late,
    restarts: p.restarts,
    redDistance: i.redDistance,
    encoderLossPct: i.encoderLossPct,
    r: round(q.r),
    mos: round(q.mos),
  };
  return {
    stats,
    baseline: { atMs: i.nowMs, bytesSent: p.bytesSent, bytesReceived: p.bytesReceived, frames, concealed: pl.concealed },
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
