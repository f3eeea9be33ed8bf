/**
 * `tincan sim` in one call: run the chosen scenarios with the same population size,
 * churn, lookups and seed, and put their figures together: the baseline's figures at the
 * top level (DESIGN.md's `sim --json` fields), every scenario's under `scenarios`.
 *
 * @example
 * ```ts
 * const r = await runSim({ nodes: 2000, churnPerHour: 0.69, durationS: 3600, lookups: 1000, seed: 1 });
 * r.lookupSuccess; r.hopsP95; r.scenarios.sybil.lookupSuccess;
 * ```
 * @module
 */
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { runScenario, type ScenarioName, type ScenarioProgress, type ScenarioReport } from './scenario.ts';
export { TRAFFIC_SETTLE_MS } from './scenario.ts';

/** All scenarios, in run order. */
export const SCENARIOS: readonly ScenarioName[] = ['baseline', 'sybil', 'seed-outage'];

/** Attacker share of the supernodes in the Sybil scenario. */
export const SYBIL_SHARE = 0.2;

/** Options of {@link runSim}. */
export interface SimOptions {
  nodes: number;
  churnPerHour: number;
  durationS: number;
  lookups: number;
  seed: number;
  scenarios?: readonly ScenarioName[];
  warmupS?: number;
  /** `warm` (default for the stand-in): start from a converged network; `cold`: everyone joins during the warm-up (see scenario.ts). */
  start?: 'warm' | 'cold';
  /** Run the real OverlayNode instead of the stand-in (the Sybil scenario stays on the stand-in). */
  overlayNode?: boolean;
  /** Split each scenario over this many threads (scenario.ts `threads`; stand-in only). */
  threads?: number;
  onProgress?: (p: ScenarioProgress) => void;
}

/** The combined report. */
export interface SimReport {
  nodes: number;
  supernodes: number;
  lookups: number;
  lookupSuccess: number;
  hopsP50: number;
  hopsP95: number;
  leafBytesPerSec: number;
  leafIdleBytesPerSec: number;
  wallSeconds: number;
  cpuSeconds: number;
  scenarios: Partial<Record<ScenarioName, ScenarioReport>>;
}

/** Run the scenarios one after the other; see module docs. */
export async function runSim(options: SimOptions): Promise<SimReport> {
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  const list = options.scenarios ?? SCENARIOS;
  const scenarios: Partial<Record<ScenarioName, ScenarioReport>> = {};
  for (const name of list) {
    scenarios[name] = await runScenario({
      name,
      nodes: options.nodes,
      churnPerHour: options.churnPerHour,
      durationS: options.durationS,
      lookups: options.lookups,
      seed: options.seed,
      warmupS: options.warmupS,
      // OverlayNode has no warm start (the Sybil scenario stays on the stand-in).
      start: options.overlayNode && name !== 'sybil' ? 'cold' : options.start,
      seeds: Math.min(8, Math.max(2, Math.ceil(options.nodes / 50))),
      sybil: name === 'sybil' ? SYBIL_SHARE : 0,
      seedOutage: name === 'seed-outage',
      node: options.overlayNode && name !== 'sybil' ? 'overlay' : 'stand-in',
      threads: options.threads,
      onProgress: options.onProgress,
    });
  }
  const main = scenarios.baseline ?? scenarios[list[0]!]!;
  const cpu = process.cpuUsage(cpu0);
  return {
    nodes: options.nodes,
    supernodes: main.supernodes,
    lookups: main.lookups,
    lookupSuccess: main.lookupSuccess,
    hopsP50: main.hopsP50,
    hopsP95: main.hopsP95,
    leafBytesPerSec: main.leafBytesPerSec,
    leafIdleBytesPerSec: main.leafIdleBytesPerSec,
    wallSeconds: Math.round((performance.now() - wall0) / 100) / 10,
    cpuSeconds: Math.round((cpu.user + cpu.system) / 1e5) / 10,
    scenarios,
  };
}
