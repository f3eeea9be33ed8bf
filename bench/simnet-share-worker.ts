/** One region of simnet-share-work.ts in a worker thread (simnet-shares.bench.ts). */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { ShareMailbox } from '../src/net/share-mailbox.ts';
import { stepShare } from '../src/net/share-stepper.ts';
import { keepaliveRegions } from './simnet-share-work.ts';

const { buffer, index, hosts, seconds, regionLatencyMs, emptySwaps } = workerData as { buffer: SharedArrayBuffer; index: number; hosts: number; seconds: number; regionLatencyMs: number; emptySwaps?: number };
const mailbox = new ShareMailbox(buffer, index);
if (emptySwaps) {
  // The swap alone: empty batches, back to back.
  const t0 = performance.now();
  for (let i = 0; i < emptySwaps; i++) mailbox.swap([new Uint8Array(0), new Uint8Array(0)]);
  parentPort!.postMessage({ swapMs: performance.now() - t0, swaps: mailbox.swapsDone });
} else try {
  let busyMs = 0;
  let waitMs = 0;
  const stats = await keepaliveRegions(hosts, seconds, { kind: 'share', index }, regionLatencyMs, async (clock, net, until) => {
    // The first swap makes both regions' addresses known; then windows of the lookahead.
    net.acceptShared(mailbox.swap(net.takeShared()));
    const t0 = performance.now();
    let swapMs = 0;
    const timed = { swap: (out: Parameters<ShareMailbox['swap']>[0]) => {
      const s = performance.now();
      const r = mailbox.swap(out);
      swapMs += performance.now() - s;
      return r;
    } };
    await stepShare({ clock, net }, timed, until);
    busyMs = performance.now() - t0;
    waitMs = swapMs;
  });
  parentPort!.postMessage({ stats, swaps: mailbox.swapsDone, stepMs: busyMs, swapMs: waitMs });
} catch (e) {
  mailbox.fail();
  parentPort!.postMessage({ error: String((e as Error)?.stack ?? e) });
}
