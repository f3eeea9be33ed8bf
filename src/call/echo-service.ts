/**
 * The echo service, tincan's sound test: it answers every call and plays back what it
 * hears after a short delay, so a caller can check their microphone, speaker and path.
 * Packets are reflected as they are (no decode/re-encode), with fresh RTP timestamps
 * so the caller's jitter buffer sees a normal stream.
 *
 * @example
 * ```ts
 * const echo = new EchoService({ clock, log }, { calls, delayMs: 500 });
 * // ... later
 * echo.close();
 * ```
 * @module
 */
import type { Clock, Timer } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { CallManager } from './call-manager.ts';
import type { ReceivedAudio } from './media-session.ts';

/** What the echo needs from a call's media: send and receive encoded audio. */
export interface AudioChannel {
  sendAudio(payload: Uint8Array, timestamp: number, marker?: boolean): void;
  onAudio(handler: (audio: ReceivedAudio) => void): () => void;
}

/** Options for {@link EchoService}. */
export interface EchoServiceInit {
  calls: CallManager;
  /** Play back after this long. Default 300 ms. */
  delayMs?: number;
  /** Longest call the service keeps up, ms. Default 10 minutes. */
  maxCallMs?: number;
  /** Most packets waiting to be played back per call (bounded memory). Default 500. */
  maxQueued?: number;
}

/** Auto-answering playback service; see module docs. */
export class EchoService {
  private readonly delayMs: number;
  private readonly maxCallMs: number;
  private readonly maxQueued: number;
  private readonly timers = new Set<Timer>();
  private readonly unsubscribes: Array<() => void> = [];
  private closed = false;
  /** Packets echoed and dropped (queue full). */
  readonly stats = { calls: 0, echoed: 0, dropped: 0 };

  constructor(
    private readonly components: { clock: Clock; log: Logger },
    private readonly init: EchoServiceInit,
  ) {
    this.delayMs = init.delayMs ?? 300;
    this.maxCallMs = init.maxCallMs ?? 600_000;
    this.maxQueued = init.maxQueued ?? 500;
    this.unsubscribes.push(init.calls.onIncoming((call) => void this.answer(call.id)));
  }

  private async answer(callId: string): Promise<void> {
    if (this.closed) return;
    const calls = this.init.calls;
    await calls.accept(callId).catch((err: Error) => this.components.log.warn({ err: err.message }, 'echo: could not answer'));
    const media = calls.media(callId) as unknown as Partial<AudioChannel> | undefined;
    const call = calls.get(callId);
    if (!media?.onAudio || !media.sendAudio || !call || call.ended) return;
    this.stats.calls++;
    const clock = this.components.clock;
    let queued = 0;
    let outTs = 0;
    let lastInTs: number | undefined;
    const unsubscribe = media.onAudio((audio) => {
      if (queued >= this.maxQueued) {
        this.stats.dropped++;
        return;
      }
      // Keep the caller's timing: advance our timestamp by the same step as theirs.
      const step = lastInTs === undefined ? 960 : (audio.timestamp - lastInTs) >>> 0;
      lastInTs = audio.timestamp;
      outTs = (outTs + (step > 0 && step < 48000 ? step : 960)) >>> 0;
      const ts = outTs;
      queued++;
      const t = clock.setTimeout(() => {
        this.timers.delete(t);
        queued--;
        if (call.ended) return;
        media.sendAudio!(audio.payload, ts, audio.marker);
        this.stats.echoed++;
      }, this.delayMs);
      this.timers.add(t);
    });
    const limit = clock.setTimeout(() => {
      this.timers.delete(limit);
      calls.hangup(callId);
    }, this.maxCallMs);
    this.timers.add(limit);
    call.onChange((s) => {
      if (s.state === 'ended') {
        unsubscribe();
        limit.cancel();
        this.timers.delete(limit);
      }
    });
  }

  /** Stop answering; pending playbacks are cancelled. Calls are left to the manager. */
  close(): void {
    this.closed = true;
    for (const u of this.unsubscribes) u();
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }
}
