/**
 * What the call commands (`call`, `answer`, `echo`, `demo`, `node --auto-answer/--echo`)
 * share: building a {@link TincanNode} from the command line, the audio options, and the
 * `call --json` result object.
 *
 * Loaded only by those commands' `run` (it pulls in werift, the codecs and the overlay).
 *
 * @module
 */
import type { Address } from '../../net/net.ts';
import { UdpNet } from '../../net/udp.ts';
import type { Identity } from '../../identity/identity.ts';
import type { OverlayInit } from '../../overlay/overlay-node.ts';
import type { AudioOptions } from '../../audio/select.ts';
import type { AudioBackend } from '../../audio/audio.ts';
import type { CallStats } from '../../call/call-stats.ts';
import { type CallAudioOptions, TincanNode, type TincanNodeOptions } from '../../node/tincan-node.ts';
import type { CommandContext } from '../command.ts';
import type { GlobalSettings } from '../global.ts';
import { cliOverlayInit, defaultListenHost, firstPublicIPv4, isLoopback } from './overlay-common.ts';

/** Audio flags as parsed. */
export interface AudioFlags {
  play?: string;
  tone?: number;
  record?: string;
  audio?: AudioBackend;
  mic?: string;
  speaker?: string;
}

/**
 * Capture and playback from the flags: --play/--tone pick the capture, --record the
 * playback; when any of them is given, the side left unspecified is silence/discarded
 * (`null`) unless --audio names a backend; otherwise both sides use --audio (default pulse).
 */
export function callAudio(f: AudioFlags, loopPlay = false): CallAudioOptions {
  const explicit = f.play !== undefined || f.tone !== undefined || f.record !== undefined;
  const fallback: AudioBackend = f.audio ?? (explicit ? 'null' : 'pulse');
  const capture: AudioOptions = f.play !== undefined
    ? { audio: 'file', mic: f.play, loop: loopPlay }
    : f.tone !== undefined
      ? { audio: 'tone', tone: f.tone }
      : { audio: fallback, ...(f.mic !== undefined ? { mic: f.mic } : {}) };
  const playback: AudioOptions = f.record !== undefined
    ? { audio: 'file', speaker: f.record }
    : { audio: fallback, ...(f.speaker !== undefined ? { speaker: f.speaker } : {}) };
  return { capture, playback };
}

/** How the command line wants the node. */
export interface CliNodeOptions {
  listen?: Address;
  seeds: readonly Address[];
  role: NonNullable<OverlayInit['role']>;
  name?: string;
  budgetKbps?: number;
  maxSessions?: number;
  turnSecret?: string;
  allowPrivatePeers?: boolean;
  /** Write the host cache in --home (default true). */
  hostCache?: boolean;
  /** LAN discovery by mDNS (default: unless on loopback). */
  mdns?: boolean;
  audio?: CallAudioOptions;
  autoAnswer?: boolean;
  echo?: boolean;
  /** A fresh identity instead of the one in --home (demo). */
  identity: Identity;
}

/** Build (not start) a TincanNode for the command line. */
export function cliTincanNode(global: GlobalSettings | undefined, ctx: CommandContext, o: CliNodeOptions): TincanNode {
  const listen = o.listen ?? { host: defaultListenHost(o.seeds), port: 0 };
  const loopback = isLoopback(listen.host);
  const overlay = cliOverlayInit(global, ctx, {
    listen,
    seeds: o.seeds,
    role: o.role,
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.budgetKbps !== undefined ? { budgetKbps: o.budgetKbps } : {}),
    ...(o.maxSessions !== undefined ? { maxSessions: o.maxSessions } : {}),
    ...(o.hostCache === false ? { hostCache: false } : {}),
    ...(o.mdns !== undefined ? { mdns: o.mdns } : {}),
  });
  const init: TincanNodeOptions = {
    overlay,
    turn: {
      ...(o.turnSecret !== undefined ? { secret: o.turnSecret } : {}),
      ...(o.allowPrivatePeers ? { allowPrivatePeers: true } : {}),
      ...(listen.host === '0.0.0.0' ? { externalHost: firstPublicIPv4() ?? '0.0.0.0' } : {}),
    },
    // werift leaves loopback out of its host candidates.
    ...(loopback ? { additionalHostAddresses: ['127.0.0.1'] } : {}),
    ...(o.audio ? { audio: o.audio } : {}),
    ...(o.autoAnswer ? { autoAnswer: true } : {}),
    ...(o.echo ? { echo: true } : {}),
  };
  return new TincanNode({ clock: ctx.io.clock, random: ctx.io.random, net: new UdpNet(), log: ctx.log, identity: o.identity }, init);
}

/**
 * The line `tincan call` ends with, from its `--json` object: how the call went, and how
 * often its media path had to be restarted (after the relay died, say) if it was.
 */
export function callSummaryLine(target: string, durationS: number | undefined, json: Record<string, unknown>): string {
  const restarts = typeof json.restarts === 'number' ? json.restarts : 0;
  return `call with ${target} ended after ${durationS} s: setup ${json.setupMs} ms, ${json.path}${json.via ? ` via ${json.via}` : ''}, rtt ${json.rttMs} ms, jitter ${json.jitterMs} ms, loss ${json.lossPct}%, MOS ${json.mos}, packets ${json.packetsSent} sent / ${json.packetsReceived} received${restarts > 0 ? `, media path restarted ${restarts === 1 ? 'once' : `${restarts} times`}` : ''}`;
}

/** DESIGN.md's `call --json` object from the final stats. */
export function callResult(setupMs: number | undefined, s: CallStats | undefined): Record<string, unknown> {
  const round = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
  return {
    setupMs: setupMs ?? null,
    path: s?.path ?? 'none',
    via: s?.via ?? null,
    rttMs: round(s?.rttMs),
    jitterMs: round(s?.jitterMs),
    lossPct: round(s?.lossPct, 2),
    mos: round(s?.mos, 2),
    packetsSent: s?.packetsSent ?? 0,
    packetsReceived: s?.packetsReceived ?? 0,
    ...(s
      ? { localType: s.localType, remoteType: s.remoteType, sendKbps: round(s.sendKbps), recvKbps: round(s.recvKbps), concealed: s.concealed, fecRecovered: s.fecRecovered, redRecovered: s.redRecovered, jitterBufferMs: round(s.jitterBufferMs), restarts: s.restarts }
      : {}),
  };
}

/** After the played file ends, keep the call up this long so its end plays out at the other side. */
const SOURCE_DRAIN_MS = 1000;

/** How a placed call went. */
export interface PlacedCall {
  ok: boolean;
  /** Dial to media connected, ms. */
  setupMs?: number;
  stats?: CallStats;
  /** End reason when the call failed (unreachable, declined, busy, timeout, failed). */
  reason?: string;
  error?: string;
  /** Seconds the call was up. */
  durationS?: number;
}

/**
 * Dial `name` and keep the call up for `durationS` (or until the remote hangs up, `stop`
 * resolves, or with `endWithSource` the capture ends), then hang up and return its final stats.
 */
export async function placeCall(node: TincanNode, name: string, clock: CommandContext['io']['clock'], o: { durationS?: number; stop?: Promise<unknown>; endWithSource?: boolean }): Promise<PlacedCall> {
  const { UnreachableError } = await import('../../node/tincan-node.ts');
  let call;
  try {
    call = await node.dial(name);
  } catch (err) {
    if (err instanceof UnreachableError) return { ok: false, reason: 'unreachable', error: err.message };
    throw err;
  }
  const callId = call.id;
  let setupMs: number | undefined;
  let connectedAt = 0;
  let onEnded!: () => void;
  const ended = new Promise<void>((resolve) => (onEnded = resolve));
  let onConnected!: () => void;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  const offConnected = node.on('connected', (e) => {
    if (e.callId !== callId) return;
    setupMs = e.setupMs;
    connectedAt = clock.now();
    onConnected();
  });
  // Every way out of here ends the call, which removes this listener (a running node
  // places many calls).
  let offSource = () => {};
  call.onChange((s) => {
    if (s.state !== 'ended') return;
    offSource();
    onEnded();
  });
  // A played file that does not loop: hang up once it has been sent and had time to play out.
  let drainTimer: { cancel(): void } | undefined;
  const sourceDone = new Promise<void>((resolve) => {
    if (!o.endWithSource) return;
    offSource = node.on('sourceEnded', (e) => {
      if (e.callId === callId) drainTimer = clock.setTimeout(resolve, SOURCE_DRAIN_MS);
    });
  });
  if (call.ended) {
    offSource();
    onEnded();
  }
  const stop = o.stop ?? new Promise<never>(() => {});
  await Promise.race([connected, ended, stop]);
  offConnected();
  if (setupMs === undefined) {
    const s = call.snapshot();
    if (!call.ended) node.calls.hangup(callId);
    if (s.state === 'ended') return { ok: false, reason: s.reason, error: `call ${s.reason}${s.detail ? `: ${s.detail}` : ''}` };
    return { ok: false, reason: 'hangup', error: 'stopped before the call connected' };
  }
  let timer;
  const elapsed = o.durationS !== undefined ? new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, o.durationS! * 1000))) : new Promise<never>(() => {});
  await Promise.race([elapsed, ended, stop, sourceDone]);
  (timer as { cancel(): void } | undefined)?.cancel();
  drainTimer?.cancel();
  const remoteEnded = call.ended;
  const stats = remoteEnded ? node.callStats(callId) : await node.callStatsNow(callId);
  const durationS = Math.round((clock.now() - connectedAt) / 100) / 10;
  if (!remoteEnded) node.calls.hangup(callId);
  const s = call.snapshot();
  if (remoteEnded && s.reason !== 'hangup') return { ok: false, setupMs, stats, durationS, reason: s.reason, error: `call ${s.reason}${s.detail ? `: ${s.detail}` : ''}` };
  return { ok: true, setupMs, stats, durationS };
}
