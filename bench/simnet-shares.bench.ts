/**
 * The split SimNet (sim-share.ts) against one thread: the two-region keepalive network
 * of simnet-share-work.ts (20,000 hosts, one simulated hour by default) runs whole in
 * this thread (the reference), then with one worker thread per region swapping every
 * 60 ms of virtual time (the latency between the regions) through a ShareMailbox. Emits both wall times, the speed-up
 * (`ratio` = split wall / whole wall: below 1 is faster), the swaps and the datagrams that
 * crossed. Size it with TINCAN_SHARES_HOSTS and TINCAN_SHARES_SECONDS; TINCAN_SHARES_REGION_MS sets the
 * latency between the regions (default 60). `emptySwapMicros` is the swap alone (empty
 * batches, back to back).
 *
 * process.cpuUsage() in a worker reports the whole process, so per-share CPU is not
 * reported; the machine's cores bound the speed-up (2 here).
 * @module
 */
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import type { Emit } from './bench.ts';
import type { SimNetStats } from '../src/net/sim.ts';
import { ShareMailbox } from '../src/net/share-mailbox.ts';
import { spawnWorker } from '../src/spawn-worker.ts';
import { keepaliveRegions } from './simnet-share-work.ts';

/** Run the benchmark. */
export async function run(emit: Emit): Promise<void> {
  const hosts = Number(process.env.TINCAN_SHARES_HOSTS ?? 20_000);
  const seconds = Number(process.env.TINCAN_SHARES_SECONDS ?? 3600);
  const regionLatencyMs = Number(process.env.TINCAN_SHARES_REGION_MS ?? 60);
  const w0 = performance.now();
  const whole = await keepaliveRegions(hosts, seconds, { kind: 'whole' }, 20, async (clock, _net, until) => {
    const step = Number(process.env.TINCAN_SHARES_WHOLE_STEP ?? 1000);
    for (let t = 0; t < until; t += step) await clock.runUntil(Math.min(until, t + step));
  });
  const wholeMs = performance.now() - w0;

  const swaps = 20_000;
  const emptyBuffer = ShareMailbox.allocate(2);
  const empty = await Promise.all([0, 1].map((index) => inWorker<{ swapMs: number }>({ buffer: emptyBuffer, index, emptySwaps: swaps })));
  emit({ metric: 'emptySwapMicros', value: +((1000 * Math.max(...empty.map((e) => e.swapMs))) / swaps).toFixed(2), unit: 'us', swaps });

  const buffer = ShareMailbox.allocate(2);
  const s0 = performance.now();
  const parts = await Promise.all([0, 1].map((index) => inWorker<{ stats: SimNetStats; swaps: number; stepMs: number; swapMs: number }>({ buffer, index, hosts, seconds, regionLatencyMs })));
  const splitMs = performance.now() - s0;
  const delivered = parts.reduce((a, p) => a + p.stats.deliveredPackets, 0);
  const crossed = parts.reduce((a, p) => a + p.stats.sharedOut, 0);
  emit({ metric: 'wholeWallSeconds', value: +(wholeMs / 1000).toFixed(2), unit: 's', hosts, simSeconds: seconds, delivered: whole.deliveredPackets });
  emit({
    metric: 'splitWallSeconds', value: +(splitMs / 1000).toFixed(2), unit: 's', ref: +(wholeMs / 1000).toFixed(2), ratio: +(splitMs / wholeMs).toFixed(3),
    hosts, simSeconds: seconds, shares: 2, regionLatencyMs, delivered, crossed, swaps: parts[0]!.swaps,
    stepSeconds: parts.map((p) => +(p.stepMs / 1000).toFixed(2)), swapSeconds: parts.map((p) => +(p.swapMs / 1000).toFixed(2)),
  });
  // The same work: the datagrams delivered differ only by the random draws of loss.
  const diff = Math.abs(delivered - whole.deliveredPackets) / whole.deliveredPackets;
  if (diff > 0.01) throw new Error(`split delivered ${delivered} datagrams, whole ${whole.deliveredPackets}: not the same work`);
}

/** Run simnet-share-worker.ts with `data`; its message, or its error thrown. */
function inWorker<T>(data: Record<string, unknown>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const w = spawnWorker(new URL('./simnet-share-worker.ts', import.meta.url), data);
    w.once('message', (m: T & { error?: string }) => {
      void w.terminate();
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    });
    w.once('error', reject);
  });
}
