/**
 * The verdict behind a media path watchdog: has nothing arrived for `deadAfterMs`?
 *
 * It is asked at a steady tick. A tick that comes late (more than two periods after the
 * one before) means this process did not run for a while (CPU starvation, a long garbage
 * collection): packets that arrived meanwhile wait in the socket, behind the timer that
 * asks, so the silence it sees is not the network's and the verdict waits for the next
 * tick, which comes after they have been read.
 *
 * @example
 * ```ts
 * const watch = new SilenceWatch(2000, 400, clock.now());
 * // on every received packet: watch.heard(clock.now());
 * // every 400 ms: if (watch.check(clock.now())) restartIce();
 * ```
 * @module
 */

/** Tracks the last packet and judges silence at each tick; see module docs. */
export class SilenceWatch {
  private lastHeardAt: number;
  private lastTickAt: number;
  private dead = false;

  constructor(
    /** Silence that makes the path dead (ms). */
    readonly deadAfterMs: number,
    /** Expected time between ticks (ms). */
    readonly tickMs: number,
    now: number,
  ) {
    this.lastHeardAt = now;
    this.lastTickAt = now;
  }

  /** A packet arrived: the path lives. */
  heard(now: number): void {
    this.lastHeardAt = now;
    this.dead = false;
  }

  /** True once the path has been judged dead, until a packet arrives. */
  get isDead(): boolean {
    return this.dead;
  }

  /** Silence so far (ms). */
  silentFor(now: number): number {
    return now - this.lastHeardAt;
  }

  /** A tick: true exactly when the path is judged dead at this tick (once per silence). */
  check(now: number): boolean {
    const late = now - this.lastTickAt > 2 * this.tickMs;
    this.lastTickAt = now;
    if (this.dead || late || now - this.lastHeardAt < this.deadAfterMs) return false;
    this.dead = true;
    return true;
  }
}
