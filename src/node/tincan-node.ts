/**
 * The running node: an {@link OverlayNode} (directory, signaling relay, election), a
 * {@link TurnServer} sharing its UDP port when it may be a supernode, a
 * {@link CallManager} over the overlay's signal transport whose media sessions use only
 * our supernodes' STUN/TURN, the optional {@link EchoService}, and one
 * {@link AudioPipeline} per active call. Views (CLI, TUI) read {@link TincanNode.snapshot}
 * and act through {@link TincanNode.actions}.
 *
 * `close()` cascades: calls (hang up) -> media -> pipelines -> echo -> overlay -> TURN.
 *
 * @example
 * ```ts
 * const node = new TincanNode(env, { overlay: { listen, seeds, role: 'never', name: 'alice' }, audio: { capture: { audio: 'tone', tone: 440 } } });
 * await node.start();
 * const call = await node.dial('bob');
 * call.onChange((s) => console.log(s.state));
 * ```
 * @module
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Clock, Timer } from '../clock.ts';
import type { Random } from '../random.ts';
import type { Logger } from '../log.ts';
import type { Net } from '../net/net.ts';
import { formatAddress } from '../net/net.ts';
import type { Identity } from '../identity/identity.ts';
import { OverlayNode, type OverlayInit, type TurnCredentials as OverlayTurnCredentials } from '../overlay/overlay-node.ts';
import type { PresenceRecord } from '../overlay/presence-record.ts';
import { CallManager, type CallMedia } from '../call/call-manager.ts';
import type { Call, CallSnapshot } from '../call/call.ts';
import { MediaSession, type IceServer } from '../call/media-session.ts';
import { iceServerHost } from '../call/restart-servers.ts';
import { AudioPipeline } from '../call/audio-pipeline.ts';
import type { CallStats } from '../call/call-stats.ts';
import { EchoService } from '../call/echo-service.ts';
import { type AudioOptions, openCapture, openPlayback } from '../audio/select.ts';
import { TurnServer } from '../../supernodes/turn/server.ts';
import { mintTurnCredentials } from '../../supernodes/turn/credentials.ts';
import type { CallMediaStats, NodeActions, NodeSnapshot } from './snapshot.ts';
import { TypedEvents } from '../typed-events.ts';

/** What the node gets from its environment. */
export interface TincanNodeComponents {
  clock: Clock;
  random: Random;
  net: Net;
  log: Logger;
  identity: Identity;
}

/** Audio for calls: what to capture and where to play (each opened per call). */
export interface CallAudioOptions {
  capture: AudioOptions;
  playback: AudioOptions;
}

/** Options of a {@link TincanNode}. */
export interface TincanNodeOptions {
  /** The overlay's settings (the node adds its TURN hooks). */
  overlay: OverlayInit;
  /** TURN on our port (when the node may be a supernode: role other than 'never'). */
  turn?: {
    /** Shared secret (`--turn-secret`); default a random per-node secret. */
    secret?: string;
    /** IPv4 address advertised for relays and handed to leaves; default the listen host (must then be specific). */
    externalHost?: string;
    /** Let TURN relay to loopback/private peers (tests and the loopback demo only). */
    allowPrivatePeers?: boolean;
    /** Lifetime of credentials issued to leaves, s; default 600. */
    credentialTtlSec?: number;
  };
  /** Extra host candidates for media (werift skips loopback: ['127.0.0.1'] on loopback). */
  additionalHostAddresses?: string[];
  /** Audio attached to every active call (none: no pipeline, e.g. pure echo). */
  audio?: CallAudioOptions;
  /** Answer incoming calls automatically (with `audio`). */
  autoAnswer?: boolean;
  /** Run the echo service (answers every call and plays back what it hears). */
  echo?: boolean;
  /** Echo playback delay, ms (default the service's). */
  echoDelayMs?: number;
  /** CallManager timeouts. */
  dialTimeoutMs?: number;
  ringTimeoutMs?: number;
  mediaTimeoutMs?: number;
  /** Media path watchdog (default the session's). */
  deadAfterMs?: number;
}

/** Events of a {@link TincanNode}. */
export interface TincanNodeEvents {
  /** A call changed state. */
  call: CallSnapshot;
  /** An incoming call is ringing. */
  incoming: CallSnapshot;
  /** A call's media connected (`setupMs` from dial or answer). */
  connected: { callId: string; setupMs: number };
  /** A call's capture source ended (e.g. the end of a --play file that does not loop). */
  sourceEnded: { callId: string };
  /** Per-second media stats of a call. */
  stats: { callId: string; stats: CallStats };
  /** A one-line notable event (also kept in the snapshot). */
  event: string;
  /** A view asked to quit. */
  quit: undefined;
}

/** Thrown by {@link TincanNode.dial} when the name has no record. */
export class UnreachableError extends Error {}

interface CallAudio {
  pipeline: AudioPipeline;
  last?: CallStats;
}

const MAX_EVENTS = 50;

/** Identifies a list of ICE servers (a spare media session is usable only with the same list). */
function iceServersKey(servers: readonly IceServer[]): string {
  return JSON.stringify(servers);
}

/** See module docs. */
export class TincanNode {
  readonly overlay: OverlayNode;
  readonly calls: CallManager;
  readonly turn: TurnServer | undefined;
  private readonly turnSecret: string | undefined;
  private echo: EchoService | undefined;
  private readonly log: Logger;
  private iceServers: IceServer[] = [];
  private iceExpiresAt = 0;
  private iceRefresh: Promise<void> | undefined;
  private iceTimer: Timer | undefined;
  private readonly audio = new Map<string, CallAudio>();
  private readonly lastStats = new Map<string, CallStats>();
  private readonly dialedAt = new Map<string, number>();
  private readonly events: string[] = [];
  private readonly eventHub = new TypedEvents<TincanNodeEvents>((err) => this.log.debug({ err: String(err) }, 'event handler failed'));
  private closing: Promise<void> | undefined;

  constructor(
    private readonly c: TincanNodeComponents,
    private readonly o: TincanNodeOptions,
  ) {
    this.log = c.log.child({ component: 'node' });
    const overlayInit: OverlayInit = { ...o.overlay };
    if ((o.overlay.role ?? 'auto') !== 'never') {
      this.turnSecret = o.turn?.secret ?? bytesToHex(c.random.bytes(24));
      const listenHost = o.overlay.listen.host;
      const externalHost = o.turn?.externalHost ?? listenHost;
      const relayHost = listenHost === '::' ? '0.0.0.0' : listenHost;
      this.turn = new TurnServer({
        env: { clock: c.clock, random: c.random, net: c.net, log: c.log.child({ component: 'turn' }) },
        secret: this.turnSecret,
        relayHost,
        externalRelayHost: externalHost,
        allowPrivatePeers: o.turn?.allowPrivatePeers ?? false,
        send: (d, to) => this.overlay.sendDatagram(d, to),
      });
      const turn = this.turn;
      overlayInit.datagramHandlers = { stun: (d, from) => turn.handle(d, from), 'turn-channel': (d, from) => turn.handle(d, from) };
      overlayInit.issueTurnCredentials = (leafUserKey) => this.issueTurn(leafUserKey, externalHost);
    }
    this.overlay = new OverlayNode({ clock: c.clock, random: c.random, net: c.net, log: c.log, identity: c.identity }, overlayInit);
    this.calls = new CallManager(
      { clock: c.clock, random: c.random, log: c.log, identity: c.identity },
      {
        transport: this.overlay.signalTransport(),
        createMedia: () => this.createMedia(),
        device: this.overlay.device,
        ...(o.overlay.name ? { name: o.overlay.name } : {}),
        // The echo service takes several callers at once.
        ...(o.echo ? { callWaiting: true } : {}),
        ...(o.dialTimeoutMs !== undefined ? { dialTimeoutMs: o.dialTimeoutMs } : {}),
        ...(o.ringTimeoutMs !== undefined ? { ringTimeoutMs: o.ringTimeoutMs } : {}),
        ...(o.mediaTimeoutMs !== undefined ? { mediaTimeoutMs: o.mediaTimeoutMs } : {}),
      },
    );
    this.calls.onIncoming((call) => this.onIncoming(call));
    if (o.echo) this.echo = new EchoService({ clock: c.clock, log: c.log }, { calls: this.calls, ...(o.echoDelayMs !== undefined ? { delayMs: o.echoDelayMs } : {}) });
  }

  /** Join the network (and fetch TURN credentials from our supernodes). */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.o.audio) AudioPipeline.warmUp();
    await this.overlay.start(signal);
    this.note(`joined as ${this.overlay.currentRole}`);
    this.overlay.on('role', (e) => this.note(`role ${e.role}: ${e.reason}`));
    await this.refreshIce().catch(() => {});
  }

  /** Subscribe to an event; returns the unsubscribe function. */
  on<K extends keyof TincanNodeEvents>(event: K, handler: (e: TincanNodeEvents[K]) => void): () => void {
    return this.eventHub.on(event, handler);
  }

  /** The STUN/TURN servers media sessions use now (our supernodes only). */
  get currentIceServers(): readonly IceServer[] {
    return this.iceServers;
  }

  /**
   * Call `name`: look it up, take the newest record and dial its key. Throws
   * {@link UnreachableError} when no one has that name.
   */
  async dial(name: string, signal?: AbortSignal): Promise<Call> {
    const t0 = this.c.clock.now();
    if (this.c.clock.now() >= this.iceExpiresAt) await this.refreshIce().catch(() => {});
    // Gather our candidates while the name is looked up.
    const media = this.createMedia();
    void media.offer().catch(() => {});
    let records: PresenceRecord[];
    try {
      records = await this.overlay.lookup(name, signal);
    } catch (err) {
      void media.close();
      throw new UnreachableError(`unreachable: lookup of "${name}" failed (${(err as Error).message})`);
    }
    this.log.debug({ name, records: records.length, lookupMs: this.c.clock.now() - t0 }, 'dial: looked up');
    const own = this.c.identity.publicKeyHex;
    // The newest publication of someone else with exactly this name.
    const newest = records
      .filter((r) => r.name === name && r.publicKey !== own)
      .sort((a, b) => b.issuedAt - a.issuedAt || b.seq - a.seq)[0];
    if (!newest) {
      void media.close();
      throw new UnreachableError(`unreachable: no one named "${name}"`);
    }
    const call = this.calls.dial(newest.publicKey, name, media);
    this.dialedAt.set(call.id, t0);
    this.track(call);
    this.note(`calling ${name}`);
    return call;
  }

  /** Echo service counters (zeros without the service). */
  echoStats(): { calls: number; echoed: number; dropped: number } {
    return { ...(this.echo?.stats ?? { calls: 0, echoed: 0, dropped: 0 }) };
  }

  /** A call's latest media stats, if any. */
  callStats(callId: string): CallStats | undefined {
    return this.lastStats.get(callId);
  }

  /** Fresh media stats of a call (ends with the call). */
  async callStatsNow(callId: string): Promise<CallStats | undefined> {
    const a = this.audio.get(callId);
    if (a) return a.pipeline.stats().catch(() => this.lastStats.get(callId));
    return this.lastStats.get(callId);
  }

  /** What views render. */
  snapshot(): NodeSnapshot {
    const o = this.overlay.snapshot();
    const media: Record<string, CallMediaStats> = {};
    for (const [id, s] of this.lastStats) {
      media[id] = { path: s.path, ...(s.via ? { via: s.via } : {}), ...(s.rttMs !== undefined ? { rttMs: s.rttMs } : {}), jitterMs: s.jitterMs, lossPct: s.lossPct, bitrateKbps: s.sendKbps, jitterBufferMs: s.jitterBufferMs, concealed: s.concealed, mos: s.mos };
    }
    const snap: NodeSnapshot = {
      id: o.id,
      fingerprint: this.c.identity.fingerprint ?? o.id.slice(0, 16),
      role: o.role,
      ...(o.roleReason ? { roleReason: o.roleReason } : {}),
      ...(o.address ? { listen: formatAddress(o.address) } : {}),
      supernodes: o.supernodes.map((s) => ({ id: s.id, address: formatAddress(s.address), ...(s.rttMs !== undefined ? { rttMs: s.rttMs } : {}), ...(s.loadPct !== undefined ? { loadPct: Math.round(s.loadPct) } : {}), ...(s.areaLoadPct !== undefined ? { areaLoadPct: s.areaLoadPct } : {}) })),
      calls: this.calls.calls(),
      media,
      events: [...this.events],
    };
    if (this.o.overlay.name) snap.name = this.o.overlay.name;
    return snap;
  }

  /** What views may do. */
  actions(): NodeActions {
    const report = (what: string) => (err: unknown) => this.note(`${what} failed: ${(err as Error).message ?? String(err)}`);
    return {
      call: (name) => void this.dial(name).catch(report(`call ${name}`)),
      accept: (id) => void this.accept(id).catch(report('answer')),
      decline: (id) => this.calls.decline(id),
      hangup: (id) => this.calls.hangup(id),
      hold: (id) => this.calls.hold(id),
      resume: (id) => this.calls.resume(id),
      quit: () => this.emit('quit', undefined),
    };
  }

  /** Answer a ringing call (audio attaches when it becomes active). */
  async accept(callId: string): Promise<void> {
    this.dialedAt.set(callId, this.c.clock.now());
    await this.calls.accept(callId);
  }

  /** Hang up every call and shut everything down. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.iceTimer?.cancel();
    const spare = this.spare;
    this.spare = undefined;
    await spare?.media.close().catch(() => {});
    for (const t of this.cleanupTimers) t.cancel();
    this.echo?.close();
    await this.calls.close().catch((err) => this.log.debug({ err: String(err) }, 'closing calls'));
    await Promise.all([...this.audio.values()].map((a) => a.pipeline.close().catch(() => {})));
    this.audio.clear();
    await this.overlay.close();
    this.turn?.close();
  }

  // --- internals -------------------------------------------------------------------

  private emit<K extends keyof TincanNodeEvents>(event: K, e: TincanNodeEvents[K]): void {
    this.eventHub.emit(event, e);
  }

  private note(line: string): void {
    this.events.push(line);
    if (this.events.length > MAX_EVENTS) this.events.shift();
    this.emit('event', line);
  }

  /** Supernode side: credentials for an attached leaf, valid `credentialTtlSec`. */
  private issueTurn(leafUserKey: string, externalHost: string): OverlayTurnCredentials | undefined {
    const address = this.overlay.address;
    if (!this.turnSecret || !address || externalHost === '0.0.0.0') return undefined;
    const ttlSec = this.o.turn?.credentialTtlSec ?? 600;
    const cred = mintTurnCredentials({ secret: this.turnSecret, user: leafUserKey.slice(0, 32), now: this.c.clock.now(), ttlSeconds: ttlSec });
    return { username: cred.username, password: cred.password, ttlSec, urls: [{ host: externalHost, port: address.port }] };
  }

  /**
   * ICE servers from our supernodes only: STUN at every attached supernode, TURN at the
   * one that issued credentials. Refreshed at half the credentials' lifetime.
   */
  private refreshIce(): Promise<void> {
    this.iceRefresh ??= (async () => {
      try {
        const servers: IceServer[] = [];
        let ttlSec = 60;
        if (this.overlay.currentRole !== 'supernode') {
          // TURN at every attached supernode that offers it: werift relays through the
          // first; a restart after that relay died uses the next (MediaSession.swap).
          const creds = await this.overlay.turnCredentialsAll().catch(() => []);
          if (creds.length > 0) ttlSec = Math.max(30, Math.min(...creds.map((c) => c.ttlSec)));
          for (const cred of creds) {
            for (const u of cred.urls.slice(0, 1)) servers.push({ urls: `turn:${formatAddress(u)}?transport=udp`, username: cred.username, credential: cred.password });
          }
          for (const s of this.overlay.snapshot().supernodes) servers.push({ urls: `stun:${formatAddress(s.address)}` });
        } else if (this.overlay.address && this.turnSecret) {
          // A supernode's own calls use its own STUN/TURN.
          const host = this.o.turn?.externalHost ?? this.overlay.address.host;
          if (host !== '0.0.0.0') {
            const cred = mintTurnCredentials({ secret: this.turnSecret, user: 'self', now: this.c.clock.now(), ttlSeconds: 600 });
            ttlSec = 600;
            const at = formatAddress({ host, port: this.overlay.address.port });
            servers.push({ urls: `turn:${at}?transport=udp`, username: cred.username, credential: cred.password }, { urls: `stun:${at}` });
          }
        }
        this.iceServers = servers;
        if (this.spare && this.spare.key !== iceServersKey(servers)) {
          void this.spare.media.close();
          this.spare = undefined;
        }
        this.prepareSpare();
        this.iceExpiresAt = this.c.clock.now() + (ttlSec * 1000) / 2;
        this.iceTimer?.cancel();
        this.iceTimer = this.c.clock.setTimeout(() => void this.refreshIce().catch(() => {}), (ttlSec * 1000) / 2);
      } finally {
        this.iceRefresh = undefined;
      }
    })();
    return this.iceRefresh;
  }

  /**
   * A media session for a new call: the spare one made in advance (its DTLS key and
   * certificate already generated) when it was made with the current ICE servers, and
   * a new spare is started for the next call.
   */
  private createMedia(): MediaSession {
    const spare = this.spare;
    this.spare = undefined;
    let media: MediaSession | undefined = spare?.media;
    if (spare && spare.key !== iceServersKey(this.iceServers)) {
      void spare.media.close();
      media = undefined;
    }
    media ??= this.newMedia();
    this.prepareSpare();
    return media;
  }

  /** Keep one media session ready (not while closing). */
  private prepareSpare(): void {
    if (this.closing || this.spare) return;
    this.spare = { media: this.newMedia(), key: iceServersKey(this.iceServers) };
  }

  /**
   * Our ICE servers at the attached supernodes that answer a probe now: a restart must
   * not gather from a relay that died with the media path.
   */
  private async liveIceServers(): Promise<IceServer[]> {
    if (this.overlay.currentRole === 'supernode') return [...this.iceServers];
    // By host: a supernode's TURN port need not be its overlay port.
    const live = new Set((await this.overlay.answeringSupernodes()).map((a) => a.host));
    return this.iceServers.filter((s) => live.has(iceServerHost(s.urls) ?? ''));
  }

  private newMedia(): MediaSession {
    return new MediaSession(
      { clock: this.c.clock, log: this.c.log },
      {
        iceServers: [...this.iceServers],
        restartIceServers: () => this.liveIceServers(),
        ...(this.o.additionalHostAddresses ? { additionalHostAddresses: this.o.additionalHostAddresses } : {}),
        ...(this.o.deadAfterMs !== undefined ? { deadAfterMs: this.o.deadAfterMs } : {}),
      },
    );
  }

  private onIncoming(call: Call): void {
    this.track(call);
    const s = call.snapshot();
    this.note(`incoming call from ${s.remoteName ?? s.remoteKey.slice(0, 16)}`);
    this.emit('incoming', s);
    if (this.o.autoAnswer && !this.o.echo) void this.accept(call.id).catch((err: Error) => this.note(`answer failed: ${err.message}`));
    else if (this.o.echo) this.dialedAt.set(call.id, this.c.clock.now());
  }

  private track(call: Call): void {
    let connectedSeen = false;
    call.onChange((s) => {
      this.emit('call', s);
      if ((s.state === 'active' || s.state === 'on-hold') && !connectedSeen) {
        connectedSeen = true;
        this.onActive(s.callId);
      }
      if (s.state === 'ended') {
        this.note(`call ${s.callId.slice(0, 8)} ended: ${s.reason}${s.detail ? ` (${s.detail})` : ''}`);
        void this.detachAudio(s.callId);
      }
    });
  }

  private onActive(callId: string): void {
    const media = this.calls.media(callId) as MediaSession | undefined;
    if (!media) return;
    media.connected.then(
      () => {
        const from = this.dialedAt.get(callId);
        const setupMs = from === undefined ? 0 : this.c.clock.now() - from;
        this.note(`call ${callId.slice(0, 8)} media connected in ${setupMs} ms`);
        this.emit('connected', { callId, setupMs });
      },
      () => {},
    );
    if (this.o.audio && !this.echo) void this.attachAudio(callId, media);
    else void this.pollStats(callId, media);
  }

  private async attachAudio(callId: string, media: MediaSession): Promise<void> {
    const a = this.o.audio!;
    try {
      const source = await openCapture(a.capture, { clock: this.c.clock });
      const sink = await openPlayback(a.playback, { clock: this.c.clock });
      const call = this.calls.get(callId);
      if (!call || call.ended || this.closing) {
        await source.close();
        await sink.close();
        return;
      }
      const pipeline = new AudioPipeline(
        { clock: this.c.clock, log: this.c.log },
        {
          media,
          source,
          sink,
          onStats: (s) => {
            const before = this.lastStats.get(callId);
            if (before?.path !== s.path || before?.via !== s.via) this.log.info({ callId, path: s.path, via: s.via ?? null, rttMs: s.rttMs }, 'call path');
            this.lastStats.set(callId, s);
            this.emit('stats', { callId, stats: s });
          },
        },
      );
      this.audio.set(callId, { pipeline });
      void pipeline.sending.then(() => {
        if (this.audio.get(callId)?.pipeline === pipeline) this.emit('sourceEnded', { callId });
      });
    } catch (err) {
      this.note(`audio failed: ${(err as Error).message}`);
      this.calls.hangup(callId);
    }
  }

  /** Echo calls have no pipeline: path stats only, once a second. */
  private async pollStats(callId: string, media: MediaSession): Promise<void> {
    const t = this.c.clock.setInterval(() => {
      const call = this.calls.get(callId);
      if (!call || call.ended) {
        t.cancel();
        return;
      }
      media.stats().then(
        (p) => {
          const s = { atMs: this.c.clock.now(), path: p.path, rttMs: p.rttMs, packetsSent: p.packetsSent, packetsReceived: p.packetsReceived, jitterMs: 0, lossPct: 0 } as unknown as CallStats;
          this.lastStats.set(callId, s);
        },
        () => {},
      );
    }, 1000);
    this.cleanupTimers.add(t);
  }

  private readonly cleanupTimers = new Set<Timer>();
  private spare: { media: MediaSession; key: string } | undefined;

  private async detachAudio(callId: string): Promise<void> {
    const a = this.audio.get(callId);
    if (a) {
      // The media is closing with the call: keep the last per-second sample as final.
      this.audio.delete(callId);
      await a.pipeline.close().catch(() => {});
    }
    // Keep the last stats of a few ended calls for views.
    if (this.lastStats.size > 16) this.lastStats.delete(this.lastStats.keys().next().value!);
  }
}

