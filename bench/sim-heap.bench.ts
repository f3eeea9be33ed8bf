/**
 * The simulator's live memory per node: a `runScenario` baseline network (churn 0.69,
 * seed 1) is run to simulated minute TINCAN_HEAP_SECONDS / 60 (default 300 s), a full
 * collection is forced, and the heap still in use is divided by the nodes online. At
 * 10,000 nodes this is what the collector marks on every major cycle, and it is mostly
 * the links (each node keeps about a dozen). Size: TINCAN_HEAP_NODES (default 1000).
 *
 * Emits `liveHeapPerNodeKB` (with `liveHeapMB` and `nodes`).
 * @module
 */
import process from 'node:process';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Emit } from './bench.ts';
import { runScenario } from '../src/overlay/sim/scenario.ts';

/** A full collection on demand (`--expose-gc` without restarting the process). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export async function run(emit: Emit): Promise<void> {
  const nodes = Number(process.env.TINCAN_HEAP_NODES ?? 1000);
  const at = Number(process.env.TINCAN_HEAP_SECONDS ?? 300);
  const gc = collector();
  let liveBytes = -1;
  let online = 0;
  await runScenario({
    name: 'baseline', nodes, durationS: at + 60, churnPerHour: 0.69, lookups: 50, seed: 1,
    onProgress: (p) => {
      if (liveBytes >= 0 || p.simSeconds < at) return;
      gc();
      gc();
      liveBytes = process.memoryUsage().heapUsed;
      online = p.live;
    },
  });
  if (liveBytes < 0) throw new Error(`the run ended before simulated second ${at}`);
  emit({ metric: 'liveHeapPerNodeKB', value: Math.round(liveBytes / online / 102.4) / 10, unit: 'KB', nodes: online, liveHeapMB: Math.round(liveBytes / 1048576), simSeconds: at });
}
