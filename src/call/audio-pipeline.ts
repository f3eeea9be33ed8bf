/**
 * A call's audio, both directions, on top of a {@link MediaSession}:
 *
 * - **send**: capture source (20 ms, 48 kHz Int16 frames) -> Opus encoder (24 kbit/s,
 *   DTX, in-band FEC with the expected loss set from the loss the peer reports in RTCP)
 *   -> RED (RFC 2198, negotiated in the SDP by MediaSession; the distance follows
 *   `redDistanceForLoss` of the same reported loss) -> `MediaSession.sendAudio`. RTP
 *   timestamps advance by 960 per captured frame whether or not the frame is sent, so
 *   DTX silence shows as a timestamp gap without a sequence gap. During DTX only the
 *   first silence packet and then one every {@link DTX_KEEPALIVE_FRAMES} are sent (the
 *   peer's path watchdog must keep hearing us); the first packet of a talkspurt has the
 *   marker bit.
 * - **receive**: `MediaSession.onAudio` (RED already unwrapped; redundant copies
 *   flagged) -> RFC 3550 receive stats -> jitter buffer + playout (Opus decoder with FEC
 *   recovery and concealment) -> playback sink, driven every 20 ms by
 *   `startPlayoutLoop`, which starts with the first packet.
 * - **stats** every `statsIntervalMs` (default 1 s): see {@link CallStats}.
 *
 * `close()` cascades: stops the send loop and the playout loop, frees the encoder and
 * decoder, closes the source and flushes and closes the sink (and the media session
 * when `closeMedia`).
 *
 * @example
 * ```ts
 * const pipeline = new AudioPipeline({ clock, log }, { media, source: mic, sink: speaker,
 *   onStats: (s) => log.info(s, 'call stats') });
 * // ... later
 * await pipeline.close();
 * ```
 * @module
 */
import type { Clock, Timer } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { CaptureSource, PlaybackSink } from '../audio/audio.ts';
import { FRAME_SAMPLES } from '../audio/audio.ts';
import { startPlayoutLoop, type PlayoutLoop } from '../audio/playout-loop.ts';
import { OpusEncoder } from '../../codecs/opus.ts';
import { OpusFecDecoder } from '../../codecs/opus-fec.ts';
import { JitterBuffer, type JitterBufferOptions } from '../../codecs/jitter-buffer.ts';
import { Playout, type FrameSource } from '../../codecs/playout.ts';
import { opusFrameDecoder } from '../../codecs/plc.ts';
import { redDistanceForLoss } from '../../codecs/red.ts';
import type { PathStats, ReceivedAudio } from './media-session.ts';
import { RtpReceiveStats } from './rtp-receive-stats.ts';
import { buildCallStats, type CallStats, type StatsBaseline } from './call-stats.ts';

/** During DTX, one silence packet in this many frames is still sent (keepalive). */
export const DTX_KEEPALIVE_FRAMES = 10;
/** Opus packets this short are DTX (no audio; TOC byte and maybe one more). */
const DTX_MAX_BYTES = 2;

/** What the pipeline needs from a media session ({@link MediaSession} implements it). */
export interface PipelineMedia {
  sendAudio(payload: Uint8Array, timestamp: number, marker?: boolean): void;
  onAudio(handler: (a: ReceivedAudio) => void): () => void;
  stats(): Promise<PathStats>;
  /** RED distance of outgoing packets (absent: no RED). */
  setRedDistance?(n: number): void;
  readonly redNegotiated?: boolean;
  close?(): Promise<void>;
}

/** Options of an {@link AudioPipeline}. */
export interface AudioPipelineOptions {
  media: PipelineMedia;
  /** Where outgoing audio comes from (closed by the pipeline). */
  source: CaptureSource;
  /** Where incoming audio goes (flushed and closed by the pipeline). */
  sink: PlaybackSink;
  /** Opus target bitrate, bit/s; default 24000. */
  bitrate?: number;
  /** Opus DTX; default true. */
  dtx?: boolean;
  /** Opus in-band FEC (sent, and decoded on receive); default true. */
  fec?: boolean;
  /** RED: `auto` (default) follows the reported loss; `off`; or a fixed distance 0..2. */
  red?: 'auto' | 'off' | number;
  /** Tuning of the jitter buffer. */
  jitter?: JitterBufferOptions;
  /** Stats interval, ms; default 1000. */
  statsIntervalMs?: number;
  /** Called with every stats sample. */
  onStats?: (s: CallStats) => void;
  /** Called when the source ends (e.g. a file played out). */
  onSourceEnd?: () => void;
  /** Also close the media session on close(); default false (the call owns it). */
  closeMedia?: boolean;
}

/** Counts of what the playout produced, by source. */
export type FrameSourceCounts = Record<FrameSource, number>;

/** Audio both ways over one media session; see the module documentation. */
export class AudioPipeline {
  private readonly encoder: OpusEncoder;
  private readonly decoder: OpusFecDecoder;
  private readonly playout: Playout;
  private readonly rx = new RtpReceiveStats(48000);
  private media: PipelineMedia;
  private unsubscribe: () => void;
  private loop: PlayoutLoop | undefined;
  private statsTimer: Timer | undefined;
  private baseline: StatsBaseline | undefined;
  private latest: CallStats | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly fec: boolean;
  private encoderLossPct = 0;
  private smoothedLoss = 0;
  private redDistance = 0;
  private framesCaptured = 0;
  private dtxRun = 0;
  private readonly timestampBase: number;
  private readonly sources: FrameSourceCounts = { decoded: 0, merged: 0, fec: 0, concealed: 0, faded: 0, comfort: 0, silence: 0 };
  /** Resolves when the send loop has ended (source ended or pipeline closed). */
  readonly sending: Promise<void>;

  constructor(
    private readonly components: { clock: Clock; log: Logger },
    private readonly o: AudioPipelineOptions,
  ) {
    this.media = o.media;
    this.fec = o.fec ?? true;
    this.encoder = new OpusEncoder({ bitrate: o.bitrate ?? 24000, dtx: o.dtx ?? true, fec: this.fec, packetLossPercent: 0, application: 'voip' });
    this.decoder = new OpusFecDecoder();
    const fecDecoder = opusFrameDecoder(this.decoder);
    if (!this.fec) delete fecDecoder.decodeFec;
    this.playout = new Playout(
      new JitterBuffer({ fec: this.fec, isDtxPayload: (p) => p.length <= DTX_MAX_BYTES, ...o.jitter }),
      fecDecoder,
    );
    const rand = new Uint32Array(1);
    globalThis.crypto.getRandomValues(rand);
    this.timestampBase = rand[0]!;
    if (typeof o.red === 'number') this.setRed(o.red);
    else this.setRed(0);
    this.unsubscribe = this.media.onAudio((a) => this.onAudio(a));
    this.statsTimer = components.clock.setInterval(() => void this.sample(), o.statsIntervalMs ?? 1000);
    this.sending = this.sendLoop();
  }

  /**
   * Load and compile the codecs' WASM now (tens to hundreds of ms, once per process), so
   * that it does not stall the event loop while the first packets of a call arrive.
   */
  static warmUp(): void {
    const enc = new OpusEncoder({ bitrate: 24000 });
    const dec = new OpusFecDecoder();
    dec.decode(enc.encode(new Int16Array(FRAME_SAMPLES)));
    enc.close();
    dec.close();
  }

  /** The latest stats sample (undefined before the first interval). */
  get lastStats(): CallStats | undefined {
    return this.latest;
  }

  /** Frames the playout produced so far, by where their samples came from. */
  get frameSources(): Readonly<FrameSourceCounts> {
    return this.sources;
  }

  /** Take a stats sample now. */
  async stats(): Promise<CallStats> {
    return this.sample();
  }

  /**
   * Move to another media session (e.g. a fresh one after a failed ICE restart): the
   * RTP timestamps continue, the receive statistics start a new stream.
   */
  replaceMedia(media: PipelineMedia): void {
    this.unsubscribe();
    this.media = media;
    this.rx.reset();
    this.setRed(this.redDistance);
    this.unsubscribe = media.onAudio((a) => this.onAudio(a));
  }

  /** Stop both directions and free everything; idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    this.statsTimer?.cancel();
    this.unsubscribe();
    this.loop?.stop();
    await this.o.source.close().catch(() => {});
    await this.sending.catch(() => {});
    this.encoder.close();
    this.decoder.close();
    await this.o.sink.close().catch((err: Error) => this.components.log.warn({ err: err.message }, 'audio sink close failed'));
    if (this.o.closeMedia) await this.media.close?.();
  }

  private async sendLoop(): Promise<void> {
    try {
      for (;;) {
        const frame = await this.o.source.read();
        if (frame === null || this.closed) break;
        this.sendFrame(frame);
      }
    } catch (err) {
      if (!this.closed) this.components.log.warn({ err: (err as Error).message }, 'audio capture failed');
    }
    if (!this.closed) this.o.onSourceEnd?.();
  }

  private sendFrame(frame: Int16Array): void {
    const pcm = frame.length === FRAME_SAMPLES ? frame : fit(frame);
    const packet = this.encoder.encode(pcm);
    const timestamp = (this.timestampBase + this.framesCaptured * FRAME_SAMPLES) >>> 0;
    this.framesCaptured++;
    if (packet.length <= DTX_MAX_BYTES) {
      if (this.dtxRun % DTX_KEEPALIVE_FRAMES === 0) this.media.sendAudio(packet, timestamp, false);
      this.dtxRun++;
      return;
    }
    this.media.sendAudio(packet, timestamp, this.dtxRun > 0);
    this.dtxRun = 0;
  }

  private onAudio(a: ReceivedAudio): void {
    if (this.closed) return;
    if (!a.redundant) this.rx.onPacket(a.seq, a.timestamp, a.arrivalMs);
    this.playout.insert({ seq: a.seq, timestamp: a.timestamp, arrivalMs: a.arrivalMs, payload: a.payload, marker: a.marker, redundant: a.redundant });
    if (!this.loop) {
      this.loop = startPlayoutLoop({
        clock: this.components.clock,
        sink: this.o.sink,
        pull: (now) => {
          const f = this.playout.pull(now);
          this.sources[f.source]++;
          return f.pcm;
        },
        onError: (err) => this.components.log.warn({ err: (err as Error).message }, 'audio playback failed'),
      });
    }
  }

  private setRed(distance: number): void {
    if (this.o.red === 'off' || !this.media.setRedDistance) {
      this.redDistance = 0;
      return;
    }
    this.redDistance = distance;
    this.media.setRedDistance(distance);
  }

  /** Feed the loss the peer reports into the encoder's FEC and the RED distance. */
  private adapt(remoteLossFraction: number | undefined): void {
    if (remoteLossFraction === undefined) return;
    // RTCP's fraction lost covers one report interval; smooth it (fast up, slow down).
    const pct = remoteLossFraction * 100;
    this.smoothedLoss = pct > this.smoothedLoss ? 0.5 * this.smoothedLoss + 0.5 * pct : 0.8 * this.smoothedLoss + 0.2 * pct;
    const lossPct = Math.min(30, Math.round(this.smoothedLoss));
    if (lossPct !== this.encoderLossPct) {
      this.encoderLossPct = lossPct;
      this.encoder.setPacketLossPercent(lossPct);
    }
    if ((this.o.red ?? 'auto') === 'auto' && this.media.redNegotiated) {
      const d = redDistanceForLoss(this.smoothedLoss);
      if (d !== this.redDistance) this.setRed(d);
    }
  }

  private async sample(): Promise<CallStats> {
    if (this.closed && this.latest) return this.latest;
    const path = await this.media.stats();
    if (!this.closed) this.adapt(path.remoteLossFraction);
    const { stats, baseline } = buildCallStats({
      nowMs: this.components.clock.now(),
      path,
      rx: this.rx.snapshot(),
      playout: this.playout.stats(),
      redDistance: this.redDistance,
      encoderLossPct: this.encoderLossPct,
      fec: this.fec,
      previous: this.baseline,
    });
    this.baseline = baseline;
    this.latest = stats;
    if (!this.closed) {
      try {
        this.o.onStats?.(stats);
      } catch (err) {
        this.components.log.warn({ err: (err as Error).message }, 'stats handler threw');
      }
    }
    return stats;
  }
}

function fit(frame: Int16Array): Int16Array {
  const out = new Int16Array(FRAME_SAMPLES);
  out.set(frame.subarray(0, FRAME_SAMPLES));
  return out;
}
