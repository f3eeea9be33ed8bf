/**
 * The overlay simulator at small scale (`tincan sim`'s scenarios): the issue's targets
 * scaled down (lookup success, hops, idle leaf traffic, supernode ratio), determinism
 * from the seed, and the Sybil-flood and seed-outage scenarios.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runScenario, type ScenarioReport } from '../../src/overlay/sim/scenario.ts';

const s = suite('overlay/sim scenarios');

/** The figures that must not depend on the machine. */
function figures(r: ScenarioReport): Omit<ScenarioReport, 'wallSeconds' | 'heapMB'> {
  const { wallSeconds: _w, heapMB: _h, ...rest } = r;
  return rest;
}

s('baseline: 300 nodes, 10 simulated minutes of churn: success, hops, idle leaf traffic, supernode ratio', async () => {
  const r = await runScenario({ nodes: 300, durationS: 600, churnPerHour: 0.69, lookups: 300, seed: 7, seeds: 6 });
  console.log(JSON.stringify({ test: 'sim-baseline', ...figures(r), wallSeconds: r.wallSeconds }));
  assert.ok(r.lookups >= 290, `lookups ${r.lookups}`);
  assert.ok(r.lookupSuccess >= 0.99, `success ${r.lookupSuccess}`);
  assert.ok(r.hopsP95 <= 4, `hops p95 ${r.hopsP95}`);
  assert.ok(r.leafIdleBytesPerSec > 0 && r.leafIdleBytesPerSec <= 200, `idle leaf ${r.leafIdleBytesPerSec} B/s`);
  assert.ok(r.leafBytesPerSec <= 200, `leaf ${r.leafBytesPerSec} B/s`);
  assert.ok(r.supernodeRatio.within, JSON.stringify(r.supernodeRatio));
  assert.ok(r.departures > 10 && r.arrivals > 10, `churn ${r.departures}/${r.arrivals}`);
  assert.ok(r.traffic.supernode.bytesPerSec > r.traffic.leaf.bytesPerSec);
});

s('cold start: every node joins from the seeds during the warm-up (the join storm path)', async () => {
  // Supernodes come from the election (damped: a few promotions a minute, once the area
  // loads the supernodes report have caught up), so the network needs a 30-minute
  // warm-up to grow from the 3 seeds into the band (measured over seeds 9-24: after 15
  // minutes 5 of 16 runs were still below it, after 30 none, the lowest at 0.087).
  const r = await runScenario({ nodes: 150, durationS: 120, churnPerHour: 0.69, lookups: 60, seed: 9, seeds: 3, start: 'cold', warmupS: 1800 });
  assert.ok(r.lookups >= 55, `lookups ${r.lookups}`);
  assert.ok(r.lookupSuccess >= 0.95, `success ${r.lookupSuccess}`);
  assert.ok(r.supernodeRatio.within, JSON.stringify(r.supernodeRatio));
});

s('determinism: the same seed gives the same figures, another seed different ones', async () => {
  const opts = { nodes: 120, durationS: 120, churnPerHour: 2, lookups: 60, seeds: 3 };
  const a = await runScenario({ ...opts, seed: 11 });
  const b = await runScenario({ ...opts, seed: 11 });
  const c = await runScenario({ ...opts, seed: 12, lookups: 10, durationS: 30 });
  assert.equal(figures(a), figures(b));
  assert.not.equal(figures(a).datagrams, figures(c).datagrams);
  assert.ok(a.lookupSuccess >= 0.95, `success ${a.lookupSuccess}`);
});

s('Sybil flood: 20% attacker supernodes (half without proof of work); honest lookups still succeed', async () => {
  const r = await runScenario({ nodes: 200, durationS: 240, churnPerHour: 0.69, lookups: 150, seed: 21, seeds: 4, sybil: 0.2 });
  console.log(JSON.stringify({ test: 'sim-sybil', ...figures(r) }));
  assert.ok(r.attackers >= 4, `attackers ${r.attackers}`);
  assert.ok(r.lookupSuccess >= 0.95, `honest success ${r.lookupSuccess}`);
});

s('record checks: with half the supernodes attackers, leaves drop those that cannot find their own record and still find others', async () => {
  // Without the checks a leaf held by attackers finds nobody: 0.77 at this seed.
  const r = await runScenario({ nodes: 200, durationS: 240, churnPerHour: 0.69, lookups: 150, seed: 21, seeds: 4, sybil: 0.5 });
  console.log(JSON.stringify({ test: 'sim-sybil-half', ...figures(r) }));
  assert.ok(r.attackers >= 15, `attackers ${r.attackers}`);
  assert.ok(r.lookupSuccess >= 0.95, `honest success ${r.lookupSuccess}`);
});

s('seed outage: every seed down; returning nodes join from their host caches', async () => {
  const r = await runScenario({ nodes: 200, durationS: 300, churnPerHour: 2, lookups: 150, seed: 31, seeds: 4, seedOutage: true });
  console.log(JSON.stringify({ test: 'sim-seed-outage', ...figures(r) }));
  assert.ok(r.arrivals >= 5, `arrivals ${r.arrivals}`);
  assert.is(r.joinFailures.returning, 0);
  assert.ok(r.lookupSuccess >= 0.97, `success ${r.lookupSuccess}`);
});

s.run();
