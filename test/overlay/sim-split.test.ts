/**
 * The simulator split over threads (`threads: 2`: two regions, one worker thread each,
 * swapping datagrams and bookkeeping every 60 ms of virtual time): the same scenarios
 * meet the same targets as in one thread, traffic crosses between the regions (supernodes
 * of both regions form one DHT), and a split run is deterministic from its seed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runScenario, type ScenarioReport } from '../../src/overlay/sim/scenario.ts';

const s = suite('overlay/sim split over threads');

/** The figures that must not depend on the machine. */
function figures(r: ScenarioReport): Omit<ScenarioReport, 'wallSeconds' | 'heapMB' | 'split'> & { crossed: [number, number] | undefined } {
  const { wallSeconds: _w, heapMB: _h, split, ...rest } = r;
  return { ...rest, crossed: split ? [split.datagramsCrossed, split.messagesCrossed] : undefined };
}

s('baseline in two regions: the targets of one thread, with the DHT spanning both', async () => {
  const opts = { nodes: 300, durationS: 600, churnPerHour: 0.69, lookups: 300, seed: 7, seeds: 6 };
  const split = await runScenario({ ...opts, threads: 2 });
  const whole = await runScenario(opts);
  console.log(JSON.stringify({ test: 'sim-split-baseline', ...figures(split), split: split.split, wallSeconds: split.wallSeconds, wholeWallSeconds: whole.wallSeconds }));
  assert.ok(split.lookups >= 290, `lookups ${split.lookups}`);
  assert.ok(split.lookupSuccess >= 0.99, `success ${split.lookupSuccess}`);
  assert.ok(split.hopsP95 <= 4, `hops p95 ${split.hopsP95}`);
  assert.ok(split.leafIdleBytesPerSec > 0 && split.leafIdleBytesPerSec <= 200, `idle leaf ${split.leafIdleBytesPerSec} B/s`);
  assert.ok(split.supernodeRatio.within, JSON.stringify(split.supernodeRatio));
  assert.ok(split.departures > 10 && split.arrivals > 10, `churn ${split.departures}/${split.arrivals}`);
  // The same network at the same size: idle traffic within 10% of one thread's.
  assert.ok(Math.abs(split.leafIdleBytesPerSec - whole.leafIdleBytesPerSec) <= 0.1 * whole.leafIdleBytesPerSec, `idle ${split.leafIdleBytesPerSec} vs ${whole.leafIdleBytesPerSec}`);
  assert.ok(Math.abs(split.datagrams - whole.datagrams) <= 0.1 * whole.datagrams, `datagrams ${split.datagrams} vs ${whole.datagrams}`);
  // Lookups and stores cross: a region's leaves find records held in the other.
  assert.is(split.split?.threads, 2);
  assert.ok(split.split!.datagramsCrossed > 1000 && split.split!.messagesCrossed > 100, JSON.stringify(split.split));
  // Leaves keep to their region: most datagrams (probes, mostly) stay within it.
  assert.ok(split.split!.datagramsCrossed < 0.2 * split.datagrams, JSON.stringify(split.split));
  // Regions are 60 ms apart: lookups that cross take longer than within one thread.
  assert.ok(split.latencyP95Ms > whole.latencyP95Ms, `latency p95 ${split.latencyP95Ms} vs ${whole.latencyP95Ms}`);
});

s('a split run is deterministic from its seed; another seed differs', async () => {
  // An odd number of nodes: new nodes' indices must still fall to the region that runs them.
  const opts = { nodes: 121, durationS: 240, churnPerHour: 6, lookups: 60, seeds: 3, threads: 2 };
  const a = await runScenario({ ...opts, seed: 11 });
  const b = await runScenario({ ...opts, seed: 11 });
  const c = await runScenario({ ...opts, seed: 12 });
  assert.equal(figures(a), figures(b));
  assert.not.equal(figures(a).datagrams, figures(c).datagrams);
  assert.ok(a.lookupSuccess >= 0.95, `success ${a.lookupSuccess}`);
  assert.ok(a.joinFailures.freshArrivals > 0, 'new nodes arrived');
  assert.is(a.joinFailures.fresh + a.joinFailures.returning, 0, JSON.stringify(a.joinFailures));
});

s('Sybil flood and seed outage in two regions', async () => {
  const sybil = await runScenario({ nodes: 200, durationS: 240, churnPerHour: 0.69, lookups: 150, seed: 21, seeds: 4, sybil: 0.2, threads: 2 });
  assert.ok(sybil.attackers >= 4, `attackers ${sybil.attackers}`);
  assert.ok(sybil.lookupSuccess >= 0.95, `honest success ${sybil.lookupSuccess}`);
  const outage = await runScenario({ nodes: 200, durationS: 300, churnPerHour: 2, lookups: 150, seed: 31, seeds: 4, seedOutage: true, threads: 2 });
  assert.ok(outage.arrivals >= 5, `arrivals ${outage.arrivals}`);
  assert.is(outage.joinFailures.returning, 0);
  assert.ok(outage.lookupSuccess >= 0.97, `success ${outage.lookupSuccess}`);
});

s('cold start in two regions: nodes join from seeds of both regions', async () => {
  const r = await runScenario({ nodes: 150, durationS: 120, churnPerHour: 0.69, lookups: 60, seed: 9, seeds: 3, start: 'cold', warmupS: 1800, threads: 2 });
  assert.ok(r.lookups >= 55, `lookups ${r.lookups}`);
  assert.ok(r.lookupSuccess >= 0.95, `success ${r.lookupSuccess}`);
  assert.ok(r.supernodeRatio.within, JSON.stringify(r.supernodeRatio));
});

s('with the message path checked, messages that cross regions decode to what was sent', async () => {
  const r = await runScenario({ nodes: 100, durationS: 90, churnPerHour: 2, lookups: 40, seed: 5, seeds: 3, threads: 2, peer: { wireCheck: true } });
  assert.ok(r.split!.messagesCrossed > 50, JSON.stringify(r.split));
  assert.ok(r.wireCheck!.checked > 1000, JSON.stringify(r.wireCheck));
  assert.is(r.wireCheck!.mismatches, 0, r.wireCheck!.firstMismatch);
  assert.ok(r.lookupSuccess >= 0.95, `success ${r.lookupSuccess}`);
});

s('misuse is refused: the real OverlayNode does not split, threads must be whole', async () => {
  const error = async (run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  assert.match(await error(() => runScenario({ nodes: 50, durationS: 10, churnPerHour: 0, lookups: 0, seed: 1, node: 'overlay', start: 'cold', threads: 2 })), /stand-in node only/);
  assert.match(await error(() => runScenario({ nodes: 50, durationS: 10, churnPerHour: 0, lookups: 0, seed: 1, threads: 1.5 })), /threads must be a whole number/);
});

s.run();
