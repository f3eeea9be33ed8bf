/**
 * Drive the shares of a split SimNet (sim-share.ts) in windows of the lookahead: every
 * share's clock runs to the window's end, then the shares swap what they sent.
 *
 * {@link stepShares} runs all shares in this thread (tests, and a check of the split
 * against itself); {@link stepShare} runs one share whose peers are on other threads,
 * through a {@link ShareExchange} (share-mailbox.ts).
 *
 * @example
 * ```ts
 * const parts = [0, 1].map((index) => {
 *   const clock = new VirtualClock(0);
 *   return { clock, net: new SimNet({ clock, random: new SeededRandom(index), latencyMs: 20, share: { index, count: 2 } }) };
 * });
 * const a = await parts[0].net.addHost('198.51.100.1').bind({ port: 1 });
 * const b = await parts[1].net.addHost('198.51.100.2').bind({ port: 1 });
 * swapShares(parts); // the hosts' addresses become known to the other share
 * b.onMessage((data, from) => b.send(data, from));
 * a.send(new Uint8Array([1]), b.address);
 * await stepShares(parts, 100); // a gets its echo at ~40 ms
 * ```
 * @module
 */
import type { VirtualClock } from '../virtual-clock.ts';
import type { ShareBatch, SimNet } from './sim.ts';

/** One share: its clock and its SimNet. */
export interface SharePart {
  clock: VirtualClock;
  net: SimNet;
}

/** Hands this share's batches to the others and returns theirs (indexed by share). */
export interface ShareExchange {
  /**
   * Swaps a batch takes to arrive (1: the peers' batches of this swap come back from it;
   * d: those of d - 1 swaps earlier). Windows are then at most lookahead / depth long.
   */
  readonly depth?: number;
  swap(outgoing: ShareBatch[]): (ShareBatch | undefined)[];
}

/** Swap what every share sent since the last swap (all shares in this thread). */
export function swapShares(parts: readonly SharePart[]): void {
  parts.forEach((p, i) => {
    if (p.net.shareIndex !== i || p.net.shareCount !== parts.length) throw new Error(`part ${i} is share ${p.net.shareIndex} of ${p.net.shareCount}, expected ${i} of ${parts.length}`);
  });
  const out = parts.map((p) => p.net.takeShared());
  parts.forEach((p, r) => p.net.acceptShared(out.map((o) => o[r])));
}

/**
 * Run every share (all in this thread) to virtual time `until`, swapping at least every
 * lookahead. The clocks must show the same time.
 */
export async function stepShares(parts: readonly SharePart[], until: number): Promise<void> {
  const lookahead = commonLookahead(parts.map((p) => p.net));
  let t = parts[0]!.clock.now();
  for (const p of parts) if (p.clock.now() !== t) throw new Error(`share clocks differ: ${p.clock.now()} and ${t}`);
  while (t < until) {
    t = Math.min(until, t + lookahead);
    for (const p of parts) await p.clock.runUntil(t);
    swapShares(parts);
  }
}

/**
 * Run one share to `until` while its peers, on other threads, do the same: each window
 * ends with a swap through `exchange`, which waits for the others. Every share must make
 * the same calls (same `until`s, same lookahead).
 */
export async function stepShare(part: SharePart, exchange: ShareExchange, until: number): Promise<void> {
  const window = part.net.lookaheadMs / (exchange.depth ?? 1);
  let t = part.clock.now();
  while (t < until) {
    t = Math.min(until, t + window);
    await part.clock.runUntil(t);
    part.net.acceptShared(exchange.swap(part.net.takeShared()));
  }
}

/**
 * Swap until everything sent so far has reached every share: `depth` swaps in a window of
 * no length (every share must call it at the same virtual time).
 */
export function flushShare(part: SharePart, exchange: ShareExchange): void {
  const depth = exchange.depth ?? 1;
  for (let i = 0; i < depth; i++) part.net.acceptShared(exchange.swap(part.net.takeShared()));
}

function commonLookahead(nets: readonly SimNet[]): number {
  const l = nets[0]!.lookaheadMs;
  for (const n of nets) if (n.lookaheadMs !== l) throw new Error(`shares have different core latencies (${l} and ${n.lookaheadMs} ms)`);
  return l;
}
