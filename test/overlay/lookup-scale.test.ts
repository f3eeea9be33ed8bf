/**
 * 5,000-node in-memory lookup run: real routing tables, fake RPC with 20-120 ms RTTs on
 * a virtual clock. Reports success rate, hop percentiles and RPCs per lookup as one JSON
 * line, healthy and with 10% of the nodes dead (still listed in others' tables).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { percentile, SimNetwork } from './sim-network.ts';

const s = suite('overlay/lookup at 5,000 nodes');

s('value lookups: success and hops, healthy and with 10% of the nodes dead', async () => {
  const started = performance.now();
  const n = new SimNetwork({ nodes: 5000, seed: 5000 });
  const buildMs = Math.round(performance.now() - started);
  for (const dead of [0, 0.1]) {
    if (dead) n.kill(dead);
    const t0 = performance.now();
    const live = n.nodes.filter((x) => x.alive);
    const lookups = 400;
    let found = 0;
    const hops: number[] = [];
    const rpcs: number[] = [];
    for (let i = 0; i < lookups; i++) {
      const key = n.random.bytes(32);
      n.publish(key, `record ${i}`);
      const from = live[n.random.int(live.length)]!;
      const r = await n.lookup(from, { target: key, mode: 'value' });
      if (r.found) {
        found++;
        hops.push(r.hops);
      }
      rpcs.push(r.rpcs);
    }
    const report = {
      test: 'lookup-scale', nodes: 5000, deadFraction: dead, lookups, success: found / lookups,
      hopsP50: percentile(hops, 50), hopsP95: percentile(hops, 95), hopsMax: percentile(hops, 100),
      rpcsP50: percentile(rpcs, 50), rpcsP95: percentile(rpcs, 95),
      buildMs, lookupMs: Math.round(performance.now() - t0),
    };
    console.log(JSON.stringify(report));
    assert.ok(report.success >= 0.995, `success ${report.success}`);
    assert.ok(report.hopsP95 <= 4, `p95 hops ${report.hopsP95}`);
    assert.is(n.clock.pending, 0);
  }
});

s.run();
