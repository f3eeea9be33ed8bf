/**
 * The overlay simulator at the scale: 10,000 nodes for one simulated hour with
 * churn (exponential sessions, median 1 h for leaves), 1,000 lookups, and the same for
 * 2,000 nodes. Emits lookup success, hop and latency percentiles, idle leaf traffic,
 * supernode ratio, wall and CPU seconds and heap for each size. Sizes:
 * TINCAN_SIM_SIZES (default `2000,10000`), TINCAN_SIM_SECONDS (default 3600),
 * TINCAN_SIM_SCENARIOS (default `baseline`; add `sybil,seed-outage` for those),
 * TINCAN_SIM_START (`warm`, the default: a converged network at t0; `cold`: the join storm).
 *
 * Reproduce one run from the command line: `tincan sim --nodes 10000 --churn 0.69
 * --duration 3600 --lookups 1000 --scenarios baseline --json`.
 * @module
 */
import process from 'node:process';
import type { Emit } from './bench.ts';
import { runSim } from '../src/overlay/sim/run-sim.ts';
import type { ScenarioName } from '../src/overlay/sim/scenario.ts';

export async function run(emit: Emit): Promise<void> {
  const sizes = (process.env.TINCAN_SIM_SIZES ?? '2000,10000').split(',').map(Number);
  const seconds = Number(process.env.TINCAN_SIM_SECONDS ?? 3600);
  const scenarios = (process.env.TINCAN_SIM_SCENARIOS ?? 'baseline').split(',') as ScenarioName[];
  const start = process.env.TINCAN_SIM_START === 'cold' ? 'cold' : 'warm';
  for (const nodes of sizes) {
    const r = await runSim({
      nodes, churnPerHour: 0.69, durationS: seconds, lookups: 1000, seed: 1, scenarios, start,
      onProgress: (p) => process.stderr.write(`sim ${nodes} ${p.scenario}: t=${p.simSeconds}s live=${p.live} sn=${p.supernodes} lookups=${p.lookupsFound}/${p.lookupsDone} wall=${p.wallSeconds}s\n`),
    });
    const tag = { nodes, simSeconds: seconds, churnPerHour: 0.69, start };
    for (const [name, s] of Object.entries(r.scenarios)) {
      if (!s) continue;
      const sc = { ...tag, scenario: name };
      emit({ metric: 'lookupSuccess', value: s.lookupSuccess, unit: 'ratio', ...sc });
      emit({ metric: 'hopsP50', value: s.hopsP50, unit: 'hops', ...sc });
      emit({ metric: 'hopsP95', value: s.hopsP95, unit: 'hops', ...sc });
      emit({ metric: 'latencyP95', value: s.latencyP95Ms, unit: 'ms', ...sc });
      emit({ metric: 'leafIdleBytesPerSec', value: s.leafIdleBytesPerSec, unit: 'B/s', ...sc });
      emit({ metric: 'leafBytesPerSec', value: s.leafBytesPerSec, unit: 'B/s', ...sc });
      emit({ metric: 'supernodeBytesPerSec', value: s.traffic.supernode.bytesPerSec, unit: 'B/s', ...sc });
      emit({ metric: 'supernodeRatio', value: s.supernodeRatio.mean, unit: 'ratio', target: s.supernodeRatio.target, min: s.supernodeRatio.min, max: s.supernodeRatio.max, ...sc });
      emit({ metric: 'wallSeconds', value: s.wallSeconds, unit: 's', ...sc });
      emit({ metric: 'heap', value: s.heapMB, unit: 'MB', ...sc });
    }
    emit({ metric: 'cpuSeconds', value: r.cpuSeconds, unit: 's', ...tag });
  }
}
