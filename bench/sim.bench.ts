/**
 * The overlay simulator at the scale: 10,000 nodes for one simulated hour with
 * churn (exponential sessions, median 1 h for leaves), 1,000 lookups, and the same for
 * 2,000 nodes. Emits lookup success, hop and latency percentiles, idle leaf traffic,
 * supernode ratio, wall and CPU seconds and heap for each size. Sizes:
 * TINCAN_SIM_SIZES (default `2000,10000`), TINCAN_SIM_SECONDS (default 3600),
 * TINCAN_SIM_SCENARIOS (default `baseline`; add `sybil,seed-outage` for those),
 * TINCAN_SIM_START (`warm`, the default: a converged network at t0; `cold`: the join storm),
 * TINCAN_SIM_RUNTIMES (default `node,deno`: each size runs as `tincan sim` in a child
 * process on each runtime, with a 16 GB heap limit; the same seed gives the same figures
 * on both, the run time differs), TINCAN_SIM_THREADS (default `1,2`: each run once in one
 * thread and once split over two, `--threads 2`; the split's `wallSeconds` has the one
 * thread's as `ref`, and `ratio` = split / one thread, below 1 is faster; split runs get
 * `--max-semi-space-size=128`, as README recommends for them). Every run gets
 * `--no-allocation-site-pretenuring` (README: V8 would otherwise learn from the converged
 * start to allocate the run's short-lived objects in the old generation).
 *
 * Reproduce one run from the command line: `tincan sim --nodes 10000 --churn 0.69
 * --duration 3600 --lookups 1000 --scenarios baseline --json`.
 * @module
 */
import process from 'node:process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Emit } from './bench.ts';
import type { SimReport } from '../src/overlay/sim/run-sim.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HEAP_MB = 16_000;

/**
 * The command that runs `tincan sim ARGS` on `runtime`, with room for 10,000 nodes' heap
 * and no pretenuring; a split run (`split`) also gets the larger young generation README
 * recommends for it.
 */
function simCommand(runtime: string, args: string[], split: boolean): [string, string[]] {
  const v8 = [`--max-old-space-size=${HEAP_MB}`, '--no-allocation-site-pretenuring', ...(split ? ['--max-semi-space-size=128'] : [])];
  if (runtime === 'node') return [process.execPath, [...v8, '--import', 'tsx', 'src/main.ts', 'sim', ...args]];
  if (runtime === 'deno') return ['./node_modules/deno/deno', ['run', '--allow-all', `--v8-flags=${v8.join(',')}`, 'src/main.ts', 'sim', ...args]];
  throw new Error(`TINCAN_SIM_RUNTIMES: unknown runtime "${runtime}" (node or deno)`);
}

/** Run one simulation in a child process; progress lines go to our stderr. */
function runChild(runtime: string, args: string[], split: boolean): Promise<SimReport> {
  const [cmd, argv] = simCommand(runtime, args, split);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(`[${runtime}] ${d}`));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const r = JSON.parse(line);
        if (code !== 0 || !r.ok) throw new Error(`exit ${code}`);
        resolve(r);
      } catch (err) {
        reject(new Error(`tincan sim on ${runtime} failed (${String(err)}): ${line.slice(0, 300)}`));
      }
    });
  });
}

export async function run(emit: Emit): Promise<void> {
  const sizes = (process.env.TINCAN_SIM_SIZES ?? '2000,10000').split(',').map(Number);
  const seconds = Number(process.env.TINCAN_SIM_SECONDS ?? 3600);
  const scenarios = process.env.TINCAN_SIM_SCENARIOS ?? 'baseline';
  const start = process.env.TINCAN_SIM_START === 'cold' ? 'cold' : 'warm';
  const runtimes = (process.env.TINCAN_SIM_RUNTIMES ?? 'node,deno').split(',');
  const threadCounts = (process.env.TINCAN_SIM_THREADS ?? '1,2').split(',').map(Number);
  for (const nodes of sizes) {
    for (const runtime of runtimes) {
      /** One thread's wall seconds by scenario: the split's reference. */
      const oneThread = new Map<string, number>();
      for (const threads of threadCounts) {
        const args = ['--nodes', String(nodes), '--churn', '0.69', '--duration', String(seconds), '--lookups', '1000', '--rng', '1', '--scenarios', scenarios, '--threads', String(threads), '--json'];
        if (start === 'cold') args.push('--cold-start');
        const r = await runChild(runtime, args, threads > 1);
        const tag = { nodes, simSeconds: seconds, churnPerHour: 0.69, start, runtime, threads };
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
          if (threads === 1) oneThread.set(name, s.wallSeconds);
          const ref = threads > 1 ? oneThread.get(name) : undefined;
          const split = s.split ? { crossed: s.split.datagramsCrossed, swapSeconds: s.split.swapSeconds } : {};
          emit({ metric: 'wallSeconds', value: s.wallSeconds, unit: 's', ...(ref ? { ref, ratio: +(s.wallSeconds / ref).toFixed(3) } : {}), ...sc, ...split });
          emit({ metric: 'heap', value: s.heapMB, unit: 'MB', ...sc });
        }
        emit({ metric: 'cpuSeconds', value: r.cpuSeconds, unit: 's', ...tag });
        emit({ metric: 'processWallSeconds', value: r.wallSeconds, unit: 's', ...tag });
      }
    }
  }
}
