import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SeededRandom } from '../../src/random.ts';
import { NAT_KINDS } from '../../src/net/sim.ts';
import type { DatagramSocket } from '../../src/net/net.ts';
import { makeSim } from './sim-fixture.ts';

/**
 * A busy little network (public hosts, hosts behind each NAT kind, loss, jitter, slow
 * links) where every host keeps talking to random peers; returns the delivery trace.
 */
async function scenario(seed: number): Promise<string[]> {
  const { clock, sim } = makeSim({ latencyMs: 15, jitterMs: 4, loss: 0.05, seed });
  const traffic = new SeededRandom(seed ^ 0x5eed);
  const socks: DatagramSocket[] = [];
  const publicAddrs: { host: string; port: number }[] = [];
  for (let i = 0; i < 8; i++) {
    const s = await sim.addHost(`198.51.100.${i + 1}`, { uplinkKbps: 200 + 100 * i, queueBytes: 3000 }).bind({ port: 4000 });
    socks.push(s);
    publicAddrs.push(s.address);
  }
  for (const [k, kind] of NAT_KINDS.entries()) {
    const nat = sim.addNat(`203.0.113.${k + 1}`, { kind, bindingTimeoutMs: 2_000, jitterMs: 2 });
    for (let j = 0; j < 3; j++) socks.push(await sim.addHost(`10.0.0.${j + 2}`, { nat, loss: 0.02 }).bind());
  }
  const trace: string[] = [];
  for (const [i, s] of socks.entries()) {
    s.onMessage((data, from) => {
      trace.push(`${clock.now().toFixed(4)} ${i} ${from.host}:${from.port} ${Array.from(data).join('.')}`);
      // Public hosts answer whoever talks to them (through their NAT mapping).
      if (i < 8 && data[0]! < 3) s.send(Uint8Array.of(data[0]! + 1, i), from);
    });
  }
  for (let step = 0; step < 400; step++) {
    const from = socks[traffic.int(socks.length)]!;
    const to = publicAddrs[traffic.int(publicAddrs.length)]!;
    from.send(Uint8Array.of(0, step & 0xff, traffic.int(256)), to);
    await clock.advance(traffic.int(40));
  }
  await clock.advance(10_000);
  const st = sim.stats();
  trace.push(JSON.stringify(st));
  sim.close();
  return trace;
}

const s = suite('SimNet determinism');

s('same seed, identical delivery trace; different seed, different trace', async () => {
  const a = await scenario(1234);
  const b = await scenario(1234);
  const c = await scenario(4321);
  assert.ok(a.length > 300, `only ${a.length} deliveries`);
  assert.equal(a, b);
  assert.not.equal(a, c);
  const stats = JSON.parse(a.at(-1)!);
  assert.ok(stats.drops.loss > 0 && stats.drops.uplinkQueue >= 0, 'the scenario exercises loss');
});

s.run();
