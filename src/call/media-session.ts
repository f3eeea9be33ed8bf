/**
 * The media half of a call: one werift RTCPeerConnection carrying one Opus audio stream
 * each way over ICE + DTLS-SRTP. Signaling is someone else's job: this class produces
 * and consumes complete SDP blobs (candidates included, no trickle), which the call
 * layer seals and routes through supernodes.
 *
 * What it adds to werift:
 * - ICE servers are exactly the ones given (never werift's public default), so only our
 *   supernodes see STUN/TURN traffic;
 * - SRTP replay protection ({@link RtpReplayGuard}) on every received packet;
 * - a path watchdog: if no media arrives for `deadAfterMs`, `onPathDead` fires so the
 *   call can restart ICE (for example through another supernode); a silence seen just
 *   after this process stalled is not judged (silence-watch.ts);
 * - path stats (direct vs relay, which relay, RTT) from werift's candidate-pair stats;
 * - RED (RFC 2198) negotiated as `red/48000/2` ahead of Opus, distance set by the caller;
 * - ICE restart that survives the death of the relaying supernode: `offer({iceRestart})`
 *   moves to a new peer connection whose ICE servers put the other supernodes first
 *   (werift uses only the first STUN/TURN server and keeps it across an in-place
 *   restart), and `answer()` of an offer with new ICE credentials does the same on
 *   the other end. Handlers, sequence numbers and RTP timestamps carry over.
 *
 * @example
 * ```ts
 * const a = new MediaSession({ clock, log }, { iceServers: [] });
 * const b = new MediaSession({ clock, log }, { iceServers: [] });
 * const answer = await b.answer(await a.offer());
 * await a.complete(answer);
 * await a.connected;
 * a.sendAudio(opusPacket, timestamp);
 * ```
 * @module
 */
import {
  createSelfSignedCertificate,
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtpHeader,
  RtpPacket,
} from 'werift';
import type { Clock, Timer } from '../clock.ts';
import type { Logger } from '../log.ts';
import { RtpReplayGuard } from './rtp-replay-guard.ts';
import { relayHostsIn, serversForRestart } from './restart-servers.ts';
import { SilenceWatch } from './silence-watch.ts';
import './werift-fixes.ts';

/** RTP payload type we offer for Opus (dynamic range). */
export const OPUS_PAYLOAD_TYPE = 111;
/** RTP payload type we offer for RED (RFC 2198) carrying Opus, `red/48000/2` with fmtp `111/111`. */
export const RED_PAYLOAD_TYPE = 63;

/** An ICE server (our supernodes' STUN/TURN). */
export interface IceServer {
  urls: string;
  username?: string;
  credential?: string;
}

/** Options for a {@link MediaSession}. */
export interface MediaSessionInit {
  iceServers: IceServer[];
  /**
   * The servers a restart may use now (default: `iceServers`): a node leaves out the
   * supernodes that do not answer it, so a restart does not gather from a dead relay.
   */
  restartIceServers?: () => Promise<IceServer[]>;
  /** Extra host candidate addresses (werift skips loopback interfaces; tests add 127.0.0.1). */
  additionalHostAddresses?: string[];
  /** `relay` forces TURN (tests and privacy mode). */
  iceTransportPolicy?: 'all' | 'relay';
  /** Silence on the path for this long means it is dead. Default 2000 ms (Opus DTX still sends every 400 ms in silence, and a held call keeps sending). */
  deadAfterMs?: number;
  /** Longest wait for ICE gathering before sending what we have. Default 3000 ms. */
  gatherTimeoutMs?: number;
  /**
   * Offer RED (RFC 2198) for Opus, preferred over plain Opus; default true. When both
   * ends offer it, every packet is a RED payload (1 byte of overhead at distance 0) and
   * {@link MediaSession.setRedDistance} chooses how many earlier frames each carries.
   */
  red?: boolean;
}

/** A received audio packet, after replay protection. */
export interface ReceivedAudio {
  seq: number;
  timestamp: number;
  marker: boolean;
  payloadType: number;
  payload: Uint8Array;
  arrivalMs: number;
  /** A redundant copy of an earlier frame recovered from a later RED packet. */
  redundant?: boolean;
}

/** Where media flows. */
export interface PathStats {
  /** `direct` (host/srflx/prflx on both ends) or `relay` (TURN on either end). */
  path: 'direct' | 'relay' | 'none';
  localType?: string;
  remoteType?: string;
  localAddress?: string;
  remoteAddress?: string;
  rttMs?: number;
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  replaysDropped: number;
  /** Frames recovered from RED redundancy (the primary was lost). */
  redRecovered: number;
  /** ICE restarts so far (each on a new peer connection). */
  restarts: number;
  /** Loss of our outgoing stream as the peer reports it in RTCP (0..1), when known. */
  remoteLossFraction?: number;
  /** RTT from RTCP sender/receiver reports, ms, when known. */
  rtcpRttMs?: number;
}

/** One werift peer connection for one audio call. */
export class MediaSession {
  private pc!: RTCPeerConnection;
  /** Settles when the first peer connection exists (it waits for a fresh certificate). */
  private readonly ready: Promise<void>;
  private track: MediaStreamTrack | undefined;
  private readonly init: MediaSessionInit;
  private settleFirst: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /**
   * IP of the TURN server the last known path went through, ours or the peer's (left out
   * on a restart while our path is dead; a guess: a node also gives the restart only
   * the supernodes that answer it, see `restartIceServers`).
   */
  private lastRelayHost: string | undefined;
  private restarts = 0;
  /** Peer connections made for restarts since media last connected (a retry rotates instead of guessing again). */
  private swapsSinceConnected = 0;
  /** Replaced peer connections still closing. */
  private readonly closingOld = new Set<RTCPeerConnection>();
  private readonly guard = new RtpReplayGuard();
  private readonly ssrc: number;
  private seq: number;
  private handlers: Array<(a: ReceivedAudio) => void> = [];
  private deadHandlers: Array<() => void> = [];
  private watchdog: Timer | undefined;
  private silence: SilenceWatch;
  private closed = false;
  private sent = { packets: 0, bytes: 0 };
  private received = { packets: 0, bytes: 0 };
  private readonly deadAfterMs: number;
  private readonly gatherTimeoutMs: number;
  private transceiver: ReturnType<RTCPeerConnection['addTransceiver']> | undefined;
  /** Sequence numbers of RED redundant copies werift handed up (marked `redundant`). */
  private readonly redSeqs = new Set<number>();
  private redRecovered = 0;
  /** Resolves once DTLS-SRTP is up; rejects if the connection fails or is closed first. */
  readonly connected: Promise<void>;

  constructor(
    private readonly components: { clock: Clock; log: Logger },
    init: MediaSessionInit,
  ) {
    this.deadAfterMs = init.deadAfterMs ?? 2000;
    this.silence = this.newSilenceWatch();
    this.gatherTimeoutMs = init.gatherTimeoutMs ?? 3000;
    const rand = new Uint32Array(2);
    globalThis.crypto.getRandomValues(rand);
    this.ssrc = rand[0]! >>> 0 || 1;
    this.seq = rand[1]! & 0xffff;
    this.init = init;
    this.connected = new Promise<void>((resolve, reject) => {
      this.settleFirst = { resolve, reject };
    });
    this.connected.catch(() => {});
    this.ready = freshDtlsKeys().then((keys) => this.attach(init.iceServers, keys));
    this.ready.catch(() => {});
  }

  /**
   * Build a peer connection with its own DTLS certificate (one per call, and one per
   * relay failover: werift would otherwise share one certificate per process) and make
   * it the current one.
   */
  private attach(iceServers: IceServer[], keys: DtlsKeys): void {
    const pc = new RTCPeerConnection({
      dtls: { keys },
      iceServers,
      iceTransportPolicy: this.init.iceTransportPolicy ?? 'all',
      iceAdditionalHostAddresses: this.init.additionalHostAddresses,
      iceUseIpv6: false,
      codecs: {
        // werift sends with the first negotiated codec and, when RED is negotiated, wraps
        // every packet in RED itself (sender.redDistance) and unwraps it on receive; so RED
        // goes first, and a peer without RED falls back to plain Opus.
        audio: [
          ...(this.init.red === false
            ? []
            : [new RTCRtpCodecParameters({ mimeType: 'audio/red', clockRate: 48000, channels: 2, payloadType: RED_PAYLOAD_TYPE, parameters: `${OPUS_PAYLOAD_TYPE}/${OPUS_PAYLOAD_TYPE}` })]),
          new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: OPUS_PAYLOAD_TYPE }),
        ],
        video: [],
      },
    });
    const track = new MediaStreamTrack({ kind: 'audio' });
    const transceiver = pc.addTransceiver(track, { direction: 'sendrecv' });
    transceiver.sender.redDistance = this.transceiver?.sender.redDistance ?? 0;
    this.pc = pc;
    this.track = track;
    this.transceiver = transceiver;
    this.hookRedHandler();
    pc.onTrack.subscribe((remote) => {
      remote.onReceiveRtp.subscribe((rtp) => {
        if (pc === this.pc) this.onRtp(rtp);
      });
    });
    pc.iceConnectionStateChange.subscribe((state) => this.components.log.debug({ ice: state }, 'media: ICE state'));
    pc.connectionStateChange.subscribe((state) => {
      this.components.log.debug({ state, current: pc === this.pc }, 'media: connection state');
      if (pc !== this.pc) return;
      if (state === 'connected') {
        this.silence.heard(this.components.clock.now());
        this.swapsSinceConnected = 0;
        this.startWatchdog();
        this.settleFirst?.resolve();
        this.settleFirst = undefined;
      } else if (state === 'failed' || state === 'closed') {
        this.settleFirst?.reject(new Error(`media connection ${state}`));
        this.settleFirst = undefined;
      }
    });
  }

  /**
   * Replace the peer connection for a restart. werift 0.24 keeps its STUN and TURN
   * servers across an in-place ICE restart, so a restart after the relay died would
   * gather from the dead relay again: the new connection gets the servers
   * {@link serversForRestart} orders (`peerDropped`: relays the peer's restart offer left out).
   */
  private async swap(peerDropped: readonly string[] = []): Promise<void> {
    await this.stats().catch(() => {}); // refreshes lastRelayHost if the pair is still known
    const base = (await this.init.restartIceServers?.().catch(() => undefined)) ?? this.init.iceServers;
    const old = this.pc;
    const retry = this.swapsSinceConnected++;
    // A restart the peer asked for while we still hear it says nothing against our relay.
    const lastRelayHost = this.silence.isDead ? this.lastRelayHost : undefined;
    const { servers: ordered, dead } = serversForRestart(base.length > 0 ? base : this.init.iceServers, { peerDropped, lastRelayHost, retry });
    this.components.log.info({ servers: ordered.length, deadRelay: dead.join(',') || undefined, peerDropped: peerDropped.join(',') || undefined, ourRelay: lastRelayHost, retry }, 'media: new peer connection for the restart');
    this.restarts++;
    this.attach(ordered, await freshDtlsKeys());
    // Not awaited: closing deallocates on the (maybe dead) TURN server, with retries.
    this.closingOld.add(old);
    void old.close().catch(() => {}).finally(() => this.closingOld.delete(old));
  }

  /**
   * Create the offer SDP (after ICE gathering, so it carries every candidate). The first
   * offer is made once: calling `offer()` early (e.g. while the callee is being looked
   * up) starts gathering, and the later call gets the same SDP.
   */
  offer(options: { iceRestart?: boolean } = {}): Promise<string> {
    if (options.iceRestart) return this.makeOffer(true);
    this.firstOffer ??= this.makeOffer(false);
    return this.firstOffer;
  }

  private firstOffer: Promise<string> | undefined;

  private makeOffer(iceRestart: boolean): Promise<string> {
    return this.describing(async () => {
      // An ICE restart uses a new peer connection (see swap); the peer answers with one too.
      await this.ready;
      this.assertOpen();
      if (iceRestart) await this.swap();
      const offer = await this.pc.createOffer();
      this.assertOpen();
      await this.pc.setLocalDescription(offer);
      await this.gathered();
      return this.pc.localDescription!.sdp;
    });
  }

  /** Accept a remote offer and return the answer SDP. */
  answer(offerSdp: string): Promise<string> {
    return this.describing(async () => {
      // A restart offer (new ICE credentials) gets a new peer connection here too (see swap).
      await this.ready;
      this.assertOpen();
      const current = this.pc.remoteDescription?.sdp;
      if (current && iceUfrag(current) !== iceUfrag(offerSdp)) {
        const now = relayHostsIn(offerSdp);
        await this.swap(relayHostsIn(current).filter((h) => !now.includes(h)));
      }
      await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      const answer = await this.pc.createAnswer();
      this.assertOpen();
      await this.pc.setLocalDescription(answer);
      await this.gathered();
      return this.pc.localDescription!.sdp;
    });
  }

  /** Offers and answers being made now: close() lets them finish gathering first. */
  private readonly describingNow = new Set<Promise<unknown>>();

  /**
   * Run one offer/answer. close() waits for it: closing a peer connection while werift
   * is still gathering could leave a candidate socket bound after close.
   */
  private describing<T>(work: () => Promise<T>): Promise<T> {
    const p = work();
    const settled = p.then(() => {}, () => {});
    this.describingNow.add(settled);
    void settled.then(() => this.describingNow.delete(settled));
    return p;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('media session closed');
  }

  /** Apply the remote answer to our offer. */
  async complete(answerSdp: string): Promise<void> {
    await this.ready;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
  }

  /** The DTLS fingerprint in an SDP (what the sealed signaling binds to the caller's key). */
  static fingerprint(sdp: string): string | undefined {
    return /^a=fingerprint:(\S+ \S+)/m.exec(sdp)?.[1];
  }

  /** Send one encoded audio frame. */
  sendAudio(payload: Uint8Array, timestamp: number, marker = false): void {
    if (this.closed || !this.track) return; // no peer connection yet: nothing to send on
    const header = new RtpHeader({
      payloadType: OPUS_PAYLOAD_TYPE,
      sequenceNumber: this.seq,
      timestamp: timestamp >>> 0,
      marker,
      ssrc: this.ssrc,
    });
    this.seq = (this.seq + 1) & 0xffff;
    this.sent.packets++;
    this.sent.bytes += payload.byteLength;
    this.track.writeRtp(new RtpPacket(header, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)));
  }

  /** True when both ends negotiated RED (packets go out as RED payloads). */
  get redNegotiated(): boolean {
    if (!this.transceiver) return false;
    const codec = (this.transceiver.sender as unknown as { codec?: { name?: string } }).codec;
    return codec?.name?.toLowerCase() === 'red';
  }

  /** How many earlier frames each RED packet repeats (0..2); no effect without RED. */
  setRedDistance(n: number): void {
    if (!this.transceiver) return;
    this.transceiver.sender.redDistance = Math.max(0, Math.min(2, Math.floor(n)));
  }

  /** Current RED distance. */
  get redDistance(): number {
    return this.transceiver?.sender.redDistance ?? 0;
  }

  /** Receive audio packets (already replay-checked). Returns an unsubscribe function. */
  onAudio(handler: (a: ReceivedAudio) => void): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  /** True while no media has arrived for `deadAfterMs`. */
  get isPathDead(): boolean {
    return this.silence.isDead;
  }

  /** Called once when no media has arrived for `deadAfterMs` (re-armed by new media). */
  onPathDead(handler: () => void): void {
    this.deadHandlers.push(handler);
  }

  /** Current path and counters. */
  async stats(): Promise<PathStats> {
    const base: PathStats = {
      path: 'none',
      packetsSent: this.sent.packets,
      packetsReceived: this.received.packets,
      bytesSent: this.sent.bytes,
      bytesReceived: this.received.bytes,
      replaysDropped: this.guard.stats.duplicates + this.guard.stats.tooOld,
      redRecovered: this.redRecovered,
      restarts: this.restarts,
    };
    if (this.closed || !this.pc || !this.transceiver) return base;
    const sender = this.transceiver.sender as unknown as { remoteFractionLost?: number; rtt?: number };
    if (typeof sender.remoteFractionLost === 'number') base.remoteLossFraction = sender.remoteFractionLost;
    if (typeof sender.rtt === 'number') base.rtcpRttMs = sender.rtt * 1000;
    const report = (await this.pc.getStats()) as unknown as Map<string, Record<string, unknown>>;
    const all = [...report.values()];
    const transport = all.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
    const pair = all.find((s) => s.id === transport?.selectedCandidatePairId) ?? all.find((s) => s.type === 'candidate-pair' && s.nominated);
    if (!pair) return base;
    const local = all.find((s) => s.id === pair.localCandidateId);
    const remote = all.find((s) => s.id === pair.remoteCandidateId);
    const relayed = local?.candidateType === 'relay' || remote?.candidateType === 'relay';
    if (relayed) this.lastRelayHost = String((local?.candidateType === 'relay' ? local : remote)!.address);
    return {
      ...base,
      path: relayed ? 'relay' : 'direct',
      localType: local?.candidateType as string,
      remoteType: remote?.candidateType as string,
      localAddress: local ? `${local.address}:${local.port}` : undefined,
      remoteAddress: remote ? `${remote.address}:${remote.port}` : undefined,
      rttMs: typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime * 1000 : undefined,
    };
  }

  /** Close the peer connection; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watchdog?.cancel();
    this.handlers = [];
    this.deadHandlers = [];
    await this.ready.catch(() => {});
    if (this.describingNow.size > 0) {
      // Bounded: a gathering stuck on an unreachable TURN server must not hold up close.
      let timer: { cancel(): void } | undefined;
      await Promise.race([Promise.all([...this.describingNow]), new Promise<void>((r) => (timer = this.components.clock.setTimeout(r, CLOSE_WAIT_FOR_GATHERING_MS)))]);
      timer?.cancel();
    }
    await Promise.all([this.pc?.close(), ...[...this.closingOld].map((pc) => pc.close().catch(() => {}))]);
  }

  private onRtp(rtp: RtpPacket): void {
    if (this.closed) return;
    const h = rtp.header;
    if (!this.guard.accept(h.ssrc, h.sequenceNumber)) return;
    this.received.packets++;
    this.received.bytes += rtp.payload.length;
    const arrivalMs = this.components.clock.now();
    this.silence.heard(arrivalMs);
    const redundant = this.redSeqs.delete(h.sequenceNumber);
    if (redundant) this.redRecovered++;
    const audio: ReceivedAudio = {
      seq: h.sequenceNumber,
      timestamp: h.timestamp,
      marker: h.marker,
      payloadType: h.payloadType,
      payload: new Uint8Array(rtp.payload),
      arrivalMs,
      redundant,
    };
    for (const handler of this.handlers) handler(audio);
  }

  /**
   * werift's RED unwrapper gives every recovered packet the marker bit and no sign that it
   * was redundant, and emits copies before the primary. Wrap it so that the primary comes
   * first and keeps its own marker, and redundant copies (only those it did not drop as
   * duplicates) are flagged for the jitter buffer.
   */
  private hookRedHandler(): void {
    type Pkt = { header: { sequenceNumber: number; marker: boolean } };
    const handler = (this.transceiver?.receiver as unknown as { audioRedHandler?: { push(red: unknown, base: Pkt): Pkt[] } }).audioRedHandler;
    if (!handler || typeof handler.push !== 'function') return;
    const push = handler.push.bind(handler);
    handler.push = (red, base) => {
      // werift hands the redundant copies up before the primary; the jitter buffer takes a
      // copy only to fill a gap behind packets it already has, so the primary goes first.
      const out = push(red, base).sort((x, y) => Number(y.header.sequenceNumber === base.header.sequenceNumber) - Number(x.header.sequenceNumber === base.header.sequenceNumber));
      for (const p of out) {
        if (p.header.sequenceNumber === base.header.sequenceNumber) {
          p.header.marker = base.header.marker;
        } else {
          p.header.marker = false;
          if (this.redSeqs.size >= 64) this.redSeqs.clear();
          this.redSeqs.add(p.header.sequenceNumber);
        }
      }
      return out;
    };
  }

  private newSilenceWatch(): SilenceWatch {
    return new SilenceWatch(this.deadAfterMs, Math.max(100, Math.floor(this.deadAfterMs / 5)), this.components.clock.now());
  }

  private startWatchdog(): void {
    this.watchdog?.cancel();
    const silence = (this.silence = this.newSilenceWatch());
    this.watchdog = this.components.clock.setInterval(() => {
      const now = this.components.clock.now();
      if (silence.check(now)) {
        this.components.log.warn({ silentFor: silence.silentFor(now) }, 'media path dead');
        for (const h of this.deadHandlers) h();
      }
    }, silence.tickMs);
  }

  private gathered(): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.components.clock.setTimeout(() => {
        sub.unSubscribe();
        resolve();
      }, this.gatherTimeoutMs);
      const sub = this.pc.iceGatheringStateChange.subscribe((state) => {
        if (state === 'complete') {
          timer.cancel();
          sub.unSubscribe();
          resolve();
        }
      });
    });
  }
}

/** The session-level or first media-level `a=ice-ufrag` of an SDP. */
function iceUfrag(sdp: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
}

/** Longest close() waits for an offer or answer still gathering candidates. */
const CLOSE_WAIT_FOR_GATHERING_MS = 3000;

/** A fresh self-signed ECDSA P-256 certificate and key for one peer connection (~10 ms). */
function freshDtlsKeys(): Promise<DtlsKeys> {
  // werift's enums: SignatureAlgorithm.ecdsa = 3, HashAlgorithm.sha256 = 4, secp256r1 = 23.
  return createSelfSignedCertificate({ signature: 3, hash: 4 } as never, 23 as never) as Promise<DtlsKeys>;
}

/** What werift's `dtls.keys` option takes. */
type DtlsKeys = NonNullable<NonNullable<ConstructorParameters<typeof RTCPeerConnection>[0]>['dtls']>['keys'] & object;
