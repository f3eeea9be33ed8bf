/**
 * Time as an input. Every component reads time and schedules work through a
 * {@link Clock}, never through globals, so the same code runs against the real clock
 * and against a {@link VirtualClock} in the simulator.
 *
 * @module
 */

/** A scheduled callback; `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
}

/** Source of time and timers. */
export interface Clock {
  /** Milliseconds since the Unix epoch (virtual in simulation). */
  now(): number;
  /** Run `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): Timer;
  /**
   * {@link setTimeout}, reusing `spent` where the clock can: a one-shot timer of this
   * clock that has fired or been cancelled, which the caller gives up (it must not touch
   * that handle again). For a timer re-armed thousands of times a second (liveness probes
   * in the simulator): no allocation per arming.
   */
  setTimeoutReusing(spent: Timer | undefined, fn: () => void, ms: number): Timer;
  /** Run `fn` every `ms` milliseconds until cancelled. */
  setInterval(fn: () => void, ms: number): Timer;
  /** Resolve after `ms`; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Shared implementation of `sleep` on top of `setTimeout`. */
export function sleepOn(clock: Pick<Clock, 'setTimeout'>, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The wall clock and the runtime's timers. */
export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const h = globalThis.setTimeout(fn, Math.max(0, ms));
    return { cancel: () => globalThis.clearTimeout(h) };
  }
  setTimeoutReusing(_spent: Timer | undefined, fn: () => void, ms: number): Timer {
    return this.setTimeout(fn, ms);
  }
  setInterval(fn: () => void, ms: number): Timer {
    const h = globalThis.setInterval(fn, Math.max(1, ms));
    return { cancel: () => globalThis.clearInterval(h) };
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }
}
