/**
 * `tincan sim`: run the real overlay code on a simulated network.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { flag, required, withDefault } from '../options.ts';
import { EXIT_USAGE, failure, success } from '../outcome.ts';
import { decimal, integer, positive } from '../values.ts';

const SCENARIO_NAMES = ['baseline', 'sybil', 'seed-outage'] as const;
type Scenario = (typeof SCENARIO_NAMES)[number];

/** A comma-separated, non-empty list of scenario names. */
function scenarioList(text: string): Scenario[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new Error(`expected a list of ${SCENARIO_NAMES.join(', ')}`);
  for (const n of names) if (!(SCENARIO_NAMES as readonly string[]).includes(n)) throw new Error(`unknown scenario "${n}"; expected ${SCENARIO_NAMES.join(', ')}`);
  return [...new Set(names)] as Scenario[];
}

/** `tincan sim --nodes N [--churn PER_HOUR] [--duration SIM_S] [--lookups N] [--rng SEED]`. */
export const simCommand = defineCommand({
  name: 'sim',
  summary: 'simulate a network of N nodes on a virtual clock and report lookup figures',
  description: [
    'Runs the overlay on SimNet: ~15% public nodes (supernode candidates), the rest behind',
    'the four NAT kinds, lognormal uplinks, churn with exponential session lengths, and',
    'lookups of random live names. Scenarios: baseline, sybil (20% attacker supernodes),',
    'seed-outage (all seeds go down). Progress goes to stderr.',
    'With --json, prints at least {nodes, supernodes, lookups, lookupSuccess, hopsP50, hopsP95,',
    'leafBytesPerSec, wallSeconds} (the baseline scenario) and every scenario\'s figures under',
    '"scenarios", including messages and bytes per node per second by role (each node\'s',
    'traffic counts from 120 s after it joins: shorter runs report 0 B/s). The same --rng',
    'gives the same figures (wall and CPU times aside) for the same --threads. With --threads N',
    'the nodes are dealt to N regions, each simulated on its own thread (leaves attach in their',
    'region; 60 ms one way between regions), for N times the cores.',
  ].join('\n'),
  positionals: [],
  options: {
    nodes: required('N', 'number of simulated nodes', integer(2, 1_000_000)),
    churn: withDefault('PER_HOUR', 'sessions ending per node per hour (0: no churn)', decimal(0, 1000), 0),
    duration: withDefault('SIM_S', 'simulated time to run, in seconds', positive(30 * 86_400), 3600),
    lookups: withDefault('N', 'name lookups to perform', integer(0, 10_000_000), 1000),
    rng: withDefault('SEED', 'random seed (same seed, same run)', integer(0, 2 ** 32 - 1), 1),
    overlayNode: flag('run the real OverlayNode on simulated links instead of the stand-in node (not for sybil)'),
    coldStart: flag('have every node join from the seeds during the warm-up (the join storm) instead of starting from a converged network; always so with --overlay-node'),
    scenarios: withDefault('LIST', 'scenarios to run, comma-separated: baseline, sybil, seed-outage', scenarioList, [...SCENARIO_NAMES]),
    threads: withDefault('N', 'split the network into N regions, one thread each (stand-in node only; 60 ms between regions)', integer(1, 64), 1),
  },
  examples: ['sim --nodes 2000 --churn 1 --duration 3600 --json', 'sim --nodes 500 --churn 0.69 --duration 600 --scenarios baseline', 'sim --nodes 10000 --churn 0.69 --threads 2 --json'],
  async run({ options }, ctx) {
    if (options.threads > 1 && options.overlayNode) return failure('--threads above 1 runs the stand-in node only; drop --overlay-node or --threads', { exitCode: EXIT_USAGE });
    const { runSim, TRAFFIC_SETTLE_MS } = await import('../../overlay/sim/run-sim.ts');
    const r = await runSim({
      nodes: options.nodes,
      churnPerHour: options.churn,
      durationS: options.duration,
      lookups: options.lookups,
      seed: options.rng,
      scenarios: options.scenarios,
      overlayNode: options.overlayNode,
      start: options.coldStart ? 'cold' : 'warm',
      threads: options.threads,
      onProgress: (p) => ctx.io.stderr(`sim ${p.scenario}: t=${p.simSeconds}s live=${p.live} supernodes=${p.supernodes} lookups=${p.lookupsFound}/${p.lookupsDone} wall=${p.wallSeconds}s\n`),
    });
    const main = r.scenarios.baseline ?? Object.values(r.scenarios).find((s) => s !== undefined);
    const leaves = main?.traffic.leaf;
    const idle = main?.traffic.leafIdle;
    const idleRate = !idle || measured(idle) ? `${r.leafIdleBytesPerSec} B/s` : 'not measured (every leaf looked something up)';
    const lines = [
      `${r.nodes} nodes, ${r.supernodes} supernodes; ${r.lookups} lookups, success ${(100 * r.lookupSuccess).toFixed(2)}%, hops p50 ${r.hopsP50} p95 ${r.hopsP95}`,
      leaves && !measured(leaves)
        ? `leaf traffic not measured: it counts from ${TRAFFIC_SETTLE_MS / 1000} s after a node joins, run longer; ${r.wallSeconds} s wall, ${r.cpuSeconds} s CPU`
        : `idle leaf ${idleRate} (all leaves ${r.leafBytesPerSec} B/s); ${r.wallSeconds} s wall, ${r.cpuSeconds} s CPU`,
    ];
    for (const [name, s] of Object.entries(r.scenarios)) {
      if (!s) continue;
      lines.push(`${name}: success ${(100 * s.lookupSuccess).toFixed(2)}% of ${s.lookups}, hops p95 ${s.hopsP95}, latency p95 ${s.latencyP95Ms} ms, supernodes ${s.supernodes} (ratio ${s.supernodeRatio.mean}), supernode ${measured(s.traffic.supernode) ? `${s.traffic.supernode.bytesPerSec} B/s` : 'traffic not measured'}, ${s.wallSeconds} s wall`);
    }
    return success({ ...r }, lines.join('\n'));
  },
});

/** Whether a traffic account covers any time (a run shorter than the settling time after joining covers none). */
function measured(account: { nodeHours: number; bytesPerSec: number }): boolean {
  return account.nodeHours > 0 || account.bytesPerSec > 0;
}
