import { SimNetwork, percentile } from './sim-network.ts';
const t = performance.now();
const n = new SimNetwork({ nodes: 10000, seed: 10000 });
const built = performance.now();
for (const dead of [0, 0.1]) {
  if (dead) n.kill(dead);
  const live = n.nodes.filter((x) => x.alive);
  let found = 0; const hops: number[] = []; const rpcs: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) {
    const key = n.random.bytes(32);
    n.publish(key, 'r' + i);
    const from = live[n.random.int(live.length)]!;
    const r = await n.lookup(from, { target: key, mode: 'value' });
    if (r.found) { found++; hops.push(r.hops); }
    rpcs.push(r.rpcs);
  }
  console.log(JSON.stringify({ nodes: 10000, dead, lookups: 1000, success: found / 1000, hopsP50: percentile(hops, 50), hopsP95: percentile(hops, 95), hopsMax: percentile(hops, 100), rpcsP50: percentile(rpcs, 50), rpcsP95: percentile(rpcs, 95), buildMs: Math.round(built - t), lookupMs: Math.round(performance.now() - t0), heapMB: Math.round(process.memoryUsage().heapUsed / 1e6) }));
}
