/**
 * Test-side driver for test/call/media-leaf.script.ts children: sends JSON commands,
 * collects JSON events, and plays the signaling relay between two leaves (offer/answer
 * and, automatically, ICE-restart offers from the caller).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One JSON event from a leaf. */
export type LeafEvent = { type: string; [k: string]: unknown };

/** A running leaf process. */
export class Leaf {
  readonly events: LeafEvent[] = [];
  stderr = '';
  private waiters: Array<{ match: (e: LeafEvent) => boolean; resolve: (e: LeafEvent) => void }> = [];
  private listeners: Array<(e: LeafEvent) => void> = [];
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let e: LeafEvent;
      try {
        e = JSON.parse(line);
      } catch {
        return;
      }
      e.receivedAt = Date.now();
      this.events.push(e);
      for (const l of this.listeners) l(e);
      this.waiters = this.waiters.filter((w) => (w.match(e) ? (w.resolve(e), false) : true));
    });
    child.stderr!.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  send(cmd: Record<string, unknown>): void {
    if (this.child.stdin?.writable) this.child.stdin.write(JSON.stringify(cmd) + '\n');
  }

  on(listener: (e: LeafEvent) => void): void {
    this.listeners.push(listener);
  }

  /** The next event of `type` (or an earlier one not yet consumed when `past`). */
  waitFor(type: string, timeoutMs: number, past = false): Promise<LeafEvent> {
    if (past) {
      const e = this.events.find((x) => x.type === type);
      if (e) return Promise.resolve(e);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.name}: no "${type}" within ${timeoutMs} ms; stderr: ${this.stderr.slice(-1500)}; events: ${this.events.map((x) => x.type).join(',')}`));
      }, timeoutMs);
      const done = (e: LeafEvent) => {
        clearTimeout(timer);
        resolve(e);
      };
      this.waiters.push({ match: (e) => e.type === type || e.type === 'error', resolve: done });
    }).then((e) => {
      const ev = e as LeafEvent;
      if (ev.type === 'error') throw new Error(`${this.name}: ${String(ev.error)}`);
      return ev;
    });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/**
 * Offer from `a`, answer from `b`, complete at `a`; relay `a`'s ICE-restart offers to
 * `b` from then on. Resolves when both report connected (or rejects after `timeoutMs`).
 */
export async function connectLeaves(a: Leaf, b: Leaf, timeoutMs = 20_000): Promise<{ setupMs: number }> {
  await Promise.all([a.waitFor('ready', timeoutMs, true), b.waitFor('ready', timeoutMs, true)]);
  const t0 = Date.now();
  const connA = a.waitFor('connected', timeoutMs, true);
  const connB = b.waitFor('connected', timeoutMs, true);
  connA.catch(() => {});
  connB.catch(() => {});
  a.send({ cmd: 'offer' });
  const offer = await a.waitFor('offer', timeoutMs);
  b.send({ cmd: 'answer', sdp: offer.sdp });
  const answer = await b.waitFor('answer', timeoutMs);
  a.send({ cmd: 'complete', sdp: answer.sdp });
  a.on((e) => {
    if (e.type !== 'restart-offer') return;
    b.waitFor('answer', timeoutMs).then((ans) => a.send({ cmd: 'complete', sdp: ans.sdp }), () => {});
    b.send({ cmd: 'answer', sdp: e.sdp, fresh: e.fresh === true });
  });
  await Promise.all([connA, connB]);
  return { setupMs: Date.now() - t0 };
}

/** Ask both to finish and collect their results. */
export async function finishLeaves(leaves: Leaf[], timeoutMs = 20_000): Promise<LeafEvent[]> {
  const results = leaves.map((l) => l.waitFor('result', timeoutMs));
  for (const l of leaves) l.send({ cmd: 'finish' });
  return Promise.all(results);
}
