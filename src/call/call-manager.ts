/**
 * The call protocol: places and answers calls over a {@link SignalTransport} with sealed
 * signaling, owns each call's media session, and handles what users expect of a phone:
 * ring timeout, cancel while ringing, busy (or call waiting), glare (both call each other
 * at once: they get connected), several devices ringing at once (first to answer wins,
 * the others stop ringing), hold/resume, and ICE restart when the media path dies.
 *
 * Closing the manager hangs up every call and closes their media.
 *
 * @example
 * ```ts
 * const calls = new CallManager({ clock, random, log, identity }, { transport, createMedia, device: 'laptop' });
 * calls.onIncoming((call) => calls.accept(call.callId));
 * const call = calls.dial(bobKeyHex);
 * call.onChange((s) => console.log(s.state, s.reason ?? ''));
 * ```
 * @module
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Clock, Timer } from '../clock.ts';
import type { Random } from '../random.ts';
import type { Logger } from '../log.ts';
import type { Identity } from '../identity/identity.ts';
import { Call, type CallSnapshot, type EndReason } from './call.ts';
import { openSignal, sealSignal, type SignalBody, type SignalKind } from './sealed-signal.ts';
import type { SignalEnvelope, SignalTransport } from './signal-transport.ts';

/** What the manager needs from a media session (MediaSession implements it). */
export interface CallMedia {
  offer(options?: { iceRestart?: boolean }): Promise<string>;
  answer(offerSdp: string): Promise<string>;
  complete(answerSdp: string): Promise<void>;
  readonly connected: Promise<void>;
  onPathDead(handler: () => void): void;
  /** True while no media has arrived for the dead-path interval. */
  readonly isPathDead?: boolean;
  close(): Promise<void>;
}

/** Options for {@link CallManager}. */
export interface CallManagerInit {
  transport: SignalTransport;
  createMedia: () => CallMedia;
  /** This device's name (several devices may share one identity). */
  device: string;
  /** Our display name, sent with offers so the callee sees who calls. */
  name?: string;
  /** No "ringing" from the callee within this long: unreachable. Default 10 s. */
  dialTimeoutMs?: number;
  /** Ringing unanswered for this long: timeout. Default 45 s. */
  ringTimeoutMs?: number;
  /** Media not connected this long after the answer: failed. Default 15 s. */
  mediaTimeoutMs?: number;
  /** Accept a second incoming call while in one (call waiting) instead of answering busy. */
  callWaiting?: boolean;
  /** An active call whose media path stays dead this long (no ICE restart brought it back) ends `failed`. Default 15 s. */
  lostAfterMs?: number;
  /** How long `close()` waits for its hangup signals to be handed over. Default 2 s. */
  closeGraceMs?: number;
  /** Signals older or further in the future than this are refused. Default 120 s. */
  maxSkewMs?: number;
}

interface CallContext {
  call: Call;
  remoteKey: Uint8Array;
  /** Device of the remote party we are talking to (after answer). */
  remoteDevice?: string;
  media?: CallMedia;
  offerSdp?: string;
  seq: number;
  timer?: Timer;
  restarting: boolean;
  /** The check that tries a restart again if the path stays dead (one at a time). */
  restartRetry?: Timer;
  /** When our last restart (or request for one) began (clock ms). */
  lastRestartAt?: number;
}

/** A restart that has not brought the media path back this long is tried again (ms). */
const RESTART_RETRY_MS = 4000;
/** The caller honours the callee's restart requests at most this often (ms). */
const RESTART_REQUEST_GAP_MS = 2000;
/** Calls up at once (with call waiting). */
const MAX_CALLS = 8;
/** Calls tracked, ended ones included (they stay visible for 30 s). */
const MAX_TRACKED = 64;
const MAX_SEEN = 4096;

/** Places and answers calls; see module docs. */
export class CallManager {
  private readonly contexts = new Map<string, CallContext>();
  private readonly seen = new Set<string>();
  private incomingHandlers: Array<(call: Call) => void> = [];
  private unsubscribe: () => void;
  private cleanups = new Set<Timer>();
  /** Signals still being handed to the transport (close() waits for them). */
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  private readonly dialTimeoutMs: number;
  private readonly ringTimeoutMs: number;
  private readonly mediaTimeoutMs: number;
  private readonly maxSkewMs: number;
  /** Counters of refused signaling, by reason. */
  readonly refused: Record<string, number> = {};

  constructor(
    private readonly components: { clock: Clock; random: Random; log: Logger; identity: Identity },
    private readonly init: CallManagerInit,
  ) {
    this.dialTimeoutMs = init.dialTimeoutMs ?? 10_000;
    this.ringTimeoutMs = init.ringTimeoutMs ?? 45_000;
    this.mediaTimeoutMs = init.mediaTimeoutMs ?? 15_000;
    this.maxSkewMs = init.maxSkewMs ?? 120_000;
    this.unsubscribe = init.transport.onEnvelope((env) => this.receive(env));
  }

  /** Snapshots of all calls still tracked (ended calls are dropped shortly after ending). */
  calls(): CallSnapshot[] {
    return [...this.contexts.values()].map((c) => c.call.snapshot());
  }

  /** The Call object for an ID. */
  get(callId: string): Call | undefined {
    return this.contexts.get(callId)?.call;
  }

  /** The media session of a call (to attach audio). */
  media(callId: string): CallMedia | undefined {
    return this.contexts.get(callId)?.media;
  }

  /** Be told about incoming calls (state `ringing`). */
  onIncoming(handler: (call: Call) => void): () => void {
    this.incomingHandlers.push(handler);
    return () => {
      this.incomingHandlers = this.incomingHandlers.filter((h) => h !== handler);
    };
  }

  /**
   * Call the identity with public key `remoteKeyHex`. `media` may be a session made
   * earlier (its offer already gathering); by default a new one is created.
   */
  dial(remoteKeyHex: string, remoteName?: string, media?: CallMedia): Call {
    if (this.closed) throw new Error('call manager is closed');
    const callId = bytesToHex(this.components.random.bytes(16));
    const call = new Call({ callId, direction: 'outgoing', remoteKey: remoteKeyHex, remoteName, now: this.now() });
    const ctx: CallContext = { call, remoteKey: hexToBytes(remoteKeyHex), seq: 0, restarting: false };
    this.contexts.set(callId, ctx);
    this.arm(ctx, this.dialTimeoutMs, () => this.finish(ctx, 'unreachable', 'no answer from the callee\'s devices'));
    void this.startOutgoing(ctx, media);
    return call;
  }

  /** Answer a ringing incoming call. */
  async accept(callId: string): Promise<void> {
    const ctx = this.contexts.get(callId);
    if (!ctx || ctx.call.direction !== 'incoming' || ctx.call.state !== 'ringing' || !ctx.offerSdp) {
      throw new Error(`no ringing incoming call ${callId}`);
    }
    ctx.timer?.cancel();
    try {
      const media = this.attachMedia(ctx);
      const sdp = await media.answer(ctx.offerSdp);
      if (ctx.call.ended) return;
      await this.signal(ctx, 'answer', { sdp });
      ctx.call.transition('active', this.now());
      this.watchMedia(ctx);
    } catch (err) {
      this.finish(ctx, 'failed', `could not answer: ${(err as Error).message}`);
    }
  }

  /** Refuse a ringing incoming call. */
  decline(callId: string): void {
    const ctx = this.contexts.get(callId);
    if (!ctx || ctx.call.ended) return;
    void this.signal(ctx, 'decline').catch(() => {});
    this.finish(ctx, 'declined', 'declined here');
  }

  /** Hang up (or cancel while dialing/ringing). */
  hangup(callId: string): void {
    const ctx = this.contexts.get(callId);
    if (!ctx || ctx.call.ended) return;
    const kind: SignalKind = ctx.call.state === 'active' || ctx.call.state === 'on-hold' ? 'hangup' : ctx.call.direction === 'outgoing' ? 'cancel' : 'decline';
    void this.signal(ctx, kind).catch(() => {});
    this.finish(ctx, kind === 'decline' ? 'declined' : 'hangup', 'hung up here');
  }

  /** Put an active call on hold (both sides show `on-hold`). */
  hold(callId: string): void {
    const ctx = this.contexts.get(callId);
    if (ctx?.call.transition('on-hold', this.now())) void this.signal(ctx, 'hold').catch(() => {});
  }

  /** Resume a held call. */
  resume(callId: string): void {
    const ctx = this.contexts.get(callId);
    if (ctx?.call.state === 'on-hold' && ctx.call.transition('active', this.now())) void this.signal(ctx, 'resume').catch(() => {});
  }

  /** Hang up everything and stop listening. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const ctx of this.contexts.values()) if (!ctx.call.ended) this.hangup(ctx.call.id);
    this.closed = true;
    this.unsubscribe();
    // Let the hangups reach the other side before the overlay under us goes away.
    if (this.inFlight.size > 0) {
      let timer: Timer | undefined;
      const grace = new Promise<void>((resolve) => (timer = this.components.clock.setTimeout(resolve, this.init.closeGraceMs ?? 2000)));
      await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
      timer?.cancel();
    }
    await Promise.all([...this.contexts.values()].map((c) => c.media?.close()));
    for (const c of this.contexts.values()) c.timer?.cancel();
    for (const t of this.cleanups) t.cancel();
    this.cleanups.clear();
    this.contexts.clear();
  }

  private now(): number {
    return this.components.clock.now();
  }

  private async startOutgoing(ctx: CallContext, premade?: CallMedia): Promise<void> {
    try {
      const media = this.attachMedia(ctx, premade);
      const sdp = await media.offer();
      if (ctx.call.ended) return;
      await this.signal(ctx, 'offer', { sdp, ...(this.init.name ? { name: this.init.name } : {}) });
    } catch (err) {
      this.finish(ctx, 'unreachable', (err as Error).message);
    }
  }

  private attachMedia(ctx: CallContext, premade?: CallMedia): CallMedia {
    const media = (ctx.media = premade ?? this.init.createMedia());
    media.onPathDead(() => {
      void this.restartIce(ctx);
      this.watchLoss(ctx, media);
    });
    return media;
  }

  private watchMedia(ctx: CallContext): void {
    const media = ctx.media!;
    this.arm(ctx, this.mediaTimeoutMs, () => this.finish(ctx, 'failed', 'media could not connect (no usable ICE path)'));
    media.connected.then(
      () => ctx.timer?.cancel(),
      (err: Error) => this.finish(ctx, 'failed', `media: ${err.message}`),
    );
  }

  /** Give a dead path `lostAfterMs` to come back (through an ICE restart); then end the call. */
  private watchLoss(ctx: CallContext, media: CallMedia): void {
    const t = this.components.clock.setTimeout(() => {
      this.cleanups.delete(t);
      if (ctx.call.ended || ctx.media !== media || !media.isPathDead || ctx.call.state === 'on-hold') return;
      this.finish(ctx, 'failed', 'media path lost (no audio from the other side)');
    }, this.init.lostAfterMs ?? 15_000);
    this.cleanups.add(t);
  }

  /**
   * The media path died: the caller re-offers with an ICE restart (new candidates, maybe
   * another relay); the callee, whose path may die alone (the caller's relay died, and
   * the caller still hears us through ours), asks the caller to restart. A restart that
   * has not brought the path back within {@link RESTART_RETRY_MS} is tried again (its
   * offer or answer may have been lost, or it gathered before our supernodes were
   * replaced), until `lostAfterMs` ends the call.
   */
  private async restartIce(ctx: CallContext): Promise<void> {
    if (ctx.restarting || ctx.call.ended || !ctx.media) return;
    const media = ctx.media;
    const caller = ctx.call.direction === 'outgoing';
    ctx.restarting = true;
    ctx.lastRestartAt = this.now();
    this.components.log.info({ callId: ctx.call.id }, caller ? 'media path dead: restarting ICE' : 'media path dead: asking the caller to restart ICE');
    if (ctx.restartRetry) {
      ctx.restartRetry.cancel();
      this.cleanups.delete(ctx.restartRetry);
    }
    const retry = (ctx.restartRetry = this.components.clock.setTimeout(() => {
      this.cleanups.delete(retry);
      ctx.restarting = false;
      if (ctx.call.ended || ctx.media !== media || !media.isPathDead) return;
      this.components.log.info({ callId: ctx.call.id }, 'media path still dead: restarting ICE again');
      void this.restartIce(ctx);
    }, RESTART_RETRY_MS));
    this.cleanups.add(retry);
    try {
      if (caller) await this.signal(ctx, 'restart-offer', { sdp: await media.offer({ iceRestart: true }) });
      else await this.signal(ctx, 'restart-request');
    } catch (err) {
      this.components.log.warn({ err: (err as Error).message }, 'ICE restart failed');
      ctx.restarting = false;
    }
  }

  /** The callee's path died: restart, unless one is under way or began just now. */
  private onRestartRequest(ctx: CallContext): void {
    if (ctx.call.state !== 'active' || ctx.restarting) return;
    if (ctx.lastRestartAt !== undefined && this.now() - ctx.lastRestartAt < RESTART_REQUEST_GAP_MS) return;
    this.components.log.info({ callId: ctx.call.id }, 'the callee hears nothing: restarting ICE');
    void this.restartIce(ctx);
  }

  private async signal(ctx: CallContext, kind: SignalKind, extra: Partial<SignalBody> = {}): Promise<void> {
    const body: SignalBody = { kind, callId: ctx.call.id, sentAt: this.now(), seq: ++ctx.seq, device: this.init.device, ...extra };
    this.components.log.debug({ callId: ctx.call.id, kind }, 'call: signal sent');
    const sealed = sealSignal(this.components.identity, ctx.remoteKey, body, this.components.random);
    const sent = this.init.transport.send({
      from: this.components.identity.publicKeyHex,
      to: ctx.call.snapshot().remoteKey,
      callId: ctx.call.id,
      fromDevice: this.init.device,
      toDevice: ctx.remoteDevice,
      sealed,
    });
    this.inFlight.add(sent);
    try {
      await sent;
    } finally {
      this.inFlight.delete(sent);
    }
  }

  private refuse(reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
  }

  private receive(env: SignalEnvelope): void {
    if (this.closed) return;
    if (env.toDevice && env.toDevice !== this.init.device) return;
    const ctx = this.contexts.get(env.callId);
    if (env.notice) {
      // Unauthenticated: only ever used to end our own outgoing call early with a reason.
      if (ctx && ctx.call.direction === 'outgoing' && ctx.call.state === 'dialing' && env.notice === 'tampered') {
        this.finish(ctx, 'failed', 'tampered: the call setup was altered in transit');
      }
      return;
    }
    if (!env.sealed) return this.refuse('empty');
    const expected = ctx ? ctx.remoteKey : undefined;
    const opened = openSignal(this.components.identity, env.sealed, { expectedSender: expected });
    if (!opened.ok) {
      this.refuse(opened.reason);
      this.components.log.warn({ callId: env.callId, reason: opened.reason }, `refused call signal: ${opened.detail}`);
      if (opened.reason === 'tampered' || opened.reason === 'unexpected-sender' || opened.reason === 'bad-signature') {
        if (ctx && !ctx.call.ended) this.finish(ctx, 'failed', `tampered: ${opened.detail}`);
        else void this.init.transport.send({ from: this.components.identity.publicKeyHex, to: env.from, callId: env.callId, toDevice: env.fromDevice, notice: 'tampered' }).catch(() => {});
      }
      return;
    }
    const { body, senderPublicKey } = opened;
    if (body.callId !== env.callId || bytesToHex(senderPublicKey) !== env.from) return this.refuse('envelope-mismatch');
    if (Math.abs(body.sentAt - this.now()) > this.maxSkewMs) return this.refuse('stale');
    const key = `${env.from}/${body.device ?? ''}/${body.callId}/${body.seq}`;
    if (this.seen.has(key)) return this.refuse('duplicate');
    this.seen.add(key);
    if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.values().next().value!);

    this.components.log.debug({ callId: body.callId, kind: body.kind }, 'call: signal received');
    if (!ctx) {
      if (body.kind === 'offer') this.incomingOffer(env, body, senderPublicKey);
      return;
    }
    this.onSignal(ctx, body);
  }

  private incomingOffer(env: SignalEnvelope, body: SignalBody, senderKey: Uint8Array): void {
    if (!body.sdp) return this.refuse('offer-without-sdp');
    // Glare: we are dialing the same person. The lower call ID yields: that side drops its
    // own attempt and answers the other one, so both users end up in one call.
    const mine = [...this.contexts.values()].find((c) => c.call.direction === 'outgoing' && !c.call.ended && c.call.state !== 'active' && c.call.snapshot().remoteKey === env.from);
    if (mine && mine.call.id > body.callId) return; // we win: the other side will answer ours
    const busy = [...this.contexts.values()].some((c) => !c.call.ended && c !== mine);
    const ctx: CallContext = { call: new Call({ callId: body.callId, direction: 'incoming', remoteKey: env.from, remoteName: body.name, now: this.now() }), remoteKey: senderKey, offerSdp: body.sdp, seq: 0, restarting: false, remoteDevice: body.device };
    const live = [...this.contexts.values()].filter((c) => !c.call.ended).length;
    if ((busy && !this.init.callWaiting) || live >= MAX_CALLS || this.contexts.size >= MAX_TRACKED) {
      void this.signal(ctx, 'busy').catch(() => {});
      return;
    }
    this.contexts.set(body.callId, ctx);
    void this.signal(ctx, 'ringing').catch(() => {});
    if (mine) {
      void this.signal(mine, 'cancel').catch(() => {});
      this.finish(mine, 'hangup', `glare: merged into incoming call ${body.callId}`);
      void this.accept(body.callId);
      return;
    }
    this.arm(ctx, this.ringTimeoutMs, () => this.finish(ctx, 'timeout', 'not answered'));
    for (const h of this.incomingHandlers) h(ctx.call);
  }

  private onSignal(ctx: CallContext, body: SignalBody): void {
    const call = ctx.call;
    const out = call.direction === 'outgoing';
    // Once one of the callee's devices answered, the call is with that device: what the
    // others send (their late answer, their hangup as they stop) is not about this call.
    if (out && ctx.remoteDevice !== undefined && body.device !== ctx.remoteDevice) {
      this.components.log.debug({ callId: call.id, kind: body.kind, device: body.device }, 'call: signal from another device of the callee ignored');
      return;
    }
    switch (body.kind) {
      case 'ringing':
        if (out && call.transition('ringing', this.now())) this.arm(ctx, this.ringTimeoutMs, () => {
          void this.signal(ctx, 'cancel').catch(() => {});
          this.finish(ctx, 'timeout', 'not answered');
        });
        break;
      case 'answer':
        if (!out || !body.sdp || (call.state !== 'dialing' && call.state !== 'ringing')) break;
        ctx.remoteDevice = body.device;
        ctx.timer?.cancel();
        call.transition('active', this.now());
        // Other devices of the callee stop ringing.
        void this.init.transport
          .send({ from: this.components.identity.publicKeyHex, to: call.snapshot().remoteKey, callId: call.id, fromDevice: this.init.device, sealed: sealSignal(this.components.identity, ctx.remoteKey, { kind: 'answered-elsewhere', callId: call.id, sentAt: this.now(), seq: ++ctx.seq, device: this.init.device, reason: body.device ?? '' }, this.components.random) })
          .catch(() => {});
        ctx.media!.complete(body.sdp).then(
          () => this.watchMedia(ctx),
          (err: Error) => this.finish(ctx, 'failed', `bad answer: ${err.message}`),
        );
        break;
      case 'answered-elsewhere':
        // The caller took another device's answer: stop ringing, or drop our own answer
        // (both devices may have answered at once).
        if (!out && body.reason !== this.init.device && !call.ended) this.finish(ctx, 'hangup', 'answered on another device');
        break;
      case 'decline':
        if (out) this.finish(ctx, 'declined', 'declined by the callee');
        break;
      case 'busy':
        if (out) this.finish(ctx, 'busy', 'the callee is in another call');
        break;
      case 'cancel':
        this.finish(ctx, 'hangup', out ? 'cancelled' : 'cancelled by the caller');
        break;
      case 'hangup':
        this.finish(ctx, 'hangup', 'hung up by the other side');
        break;
      case 'hold':
        call.transition('on-hold', this.now());
        break;
      case 'resume':
        if (call.state === 'on-hold') call.transition('active', this.now());
        break;
      case 'restart-request':
        if (out && ctx.media) this.onRestartRequest(ctx);
        break;
      case 'restart-offer':
        if (!out && body.sdp && ctx.media) {
          ctx.restarting = false;
          ctx.media.answer(body.sdp).then(
            (sdp) => this.signal(ctx, 'restart-answer', { sdp }),
            (err: Error) => this.components.log.warn({ err: err.message }, 'ICE restart answer failed'),
          ).catch(() => {});
        }
        break;
      case 'restart-answer':
        if (out && body.sdp && ctx.media) {
          ctx.media.complete(body.sdp).finally(() => (ctx.restarting = false)).catch(() => {});
        }
        break;
      case 'offer':
        break; // duplicate offer for a call we already track
    }
  }

  private arm(ctx: CallContext, ms: number, fn: () => void): void {
    ctx.timer?.cancel();
    ctx.timer = this.components.clock.setTimeout(fn, ms);
  }

  private finish(ctx: CallContext, reason: EndReason, detail: string): void {
    ctx.timer?.cancel();
    if (!ctx.call.end(reason, this.now(), detail)) return;
    void ctx.media?.close();
    // Keep the ended call visible briefly for views, then forget it (bounded table).
    const t = this.components.clock.setTimeout(() => {
      this.cleanups.delete(t);
      if (this.contexts.get(ctx.call.id) === ctx) this.contexts.delete(ctx.call.id);
    }, 30_000);
    this.cleanups.add(t);
  }
}
