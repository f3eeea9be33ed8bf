/**
 * Hedged requests: try one target, and when it has not succeeded within `hedgeMs` (it
 * may be dead) or has failed, try the next as well; the first success settles. Used for
 * a leaf's call signals, sent through its supernodes: a supernode that just died must not
 * hold a call up for a whole RPC timeout.
 *
 * @example
 * ```ts
 * const answer = await hedged(peers.map((p) => () => p.request(msg)), {
 *   clock, hedgeMs: 700, outcome: (a) => (a.delivered > 0 ? true : a.error ?? 'not delivered'),
 * });
 * ```
 * @module
 */
import type { Clock, Timer } from '../clock.ts';

/** Options of {@link hedged}. */
export interface HedgedOptions<T> {
  clock: Pick<Clock, 'setTimeout'>;
  /** Start the next attempt when the running ones have not succeeded within this long. */
  hedgeMs: number;
  /** `true` when an attempt's result is a success, or why it is not. */
  outcome: (result: T) => true | string;
}

/**
 * Run `attempts` in order, hedged (see module docs). Resolves with the first successful
 * result; rejects with the last failure's reason when every attempt failed (or at once
 * when there are none).
 */
export function hedged<T>(attempts: readonly (() => Promise<T>)[], o: HedgedOptions<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let next = 0;
    let pending = 0;
    let settled = false;
    let lastError = 'nothing to try';
    const timers: Timer[] = [];
    const finish = (ok: boolean, value?: T) => {
      if (settled) return;
      settled = true;
      for (const t of timers) t.cancel();
      if (ok) resolve(value as T);
      else reject(new Error(lastError));
    };
    const start = (): void => {
      if (settled || next >= attempts.length) return;
      const attempt = attempts[next++]!;
      pending++;
      timers.push(o.clock.setTimeout(start, o.hedgeMs));
      let run: Promise<T>;
      try {
        run = attempt();
      } catch (err) {
        run = Promise.reject(err);
      }
      run.then(
        (r) => {
          const verdict = o.outcome(r);
          if (verdict === true) finish(true, r);
          else lastError = verdict;
        },
        (err) => {
          lastError = err instanceof Error ? err.message : String(err);
        },
      ).finally(() => {
        pending--;
        if (settled) return;
        if (next < attempts.length) start();
        else if (pending === 0) finish(false);
      });
    };
    if (attempts.length === 0) finish(false);
    else start();
  });
}
