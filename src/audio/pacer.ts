/**
 * Real-time pacing for generated and file sources: frame `n` is released at
 * `start + n * 20 ms` on the given {@link Clock} (a VirtualClock in tests), or at once
 * when not real time. A reader that falls behind is not made to catch up with a burst
 * of more than `maxBurst` frames: the schedule slips instead.
 *
 * @module
 */
import type { Clock } from '../clock.ts';
import { FRAME_MS } from './audio.ts';

/** See module docs. */
export class Pacer {
  private start: number | undefined;
  private n = 0;

  constructor(
    private readonly clock: Clock,
    private readonly realtime: boolean,
    private readonly maxBurst = 5,
  ) {}

  /** Wait until the next frame is due. */
  async next(signal?: AbortSignal): Promise<void> {
    if (!this.realtime) return;
    const now = this.clock.now();
    if (this.start === undefined) this.start = now;
    let due = this.start + this.n * FRAME_MS;
    if (now - due > this.maxBurst * FRAME_MS) {
      this.start = now - this.n * FRAME_MS;
      due = now;
    }
    this.n++;
    if (due > now) await this.clock.sleep(due - now, signal);
  }
}
