/**
 * Instant keepalives in the simulator (`PeerConfig.instantKeepalives`, SimSocket.sendNow):
 * a leaf's keepalive and the supernode's echo arrive within the call, through the leaf's
 * NAT, and a scenario gives the same traffic and lookup figures as with delayed ones.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { SimNet } from '../../src/net/sim.ts';
import { SimLinks } from '../../src/overlay/sim/sim-links.ts';
import { runScenario } from '../../src/overlay/sim/scenario.ts';

const s = suite('overlay/sim instant keepalives');

s('a keepalive through a NAT and its echo arrive within the call; a dead supernode stays silent', async () => {
  const clock = new VirtualClock();
  const net = new SimNet({ clock, random: new SeededRandom(3), latencyMs: 20 });
  const nat = net.addNat('203.0.113.9', { kind: 'port-restricted' });
  const leafHost = net.addHost('10.0.0.2', { nat });
  const snHost = net.addHost('198.51.100.1');
  const ips = ['203.0.113.9', '198.51.100.1'];
  const directory = { publicIpOf: (n: number) => ips[n] };
  const leaf = new SimLinks({ self: 0, socket: leafHost.bindSync({ port: 4000 }), clock, directory, instantKeepalives: true });
  const sn = new SimLinks({ self: 1, socket: snHost.bindSync({ port: 4000 }), clock, directory, instantKeepalives: true, echoKeepalives: true });
  const link = leaf.connect(1, { host: '198.51.100.1', port: 4000 });
  await clock.advance(200);
  assert.ok(link.established, 'handshake');
  const far = sn.get(0)!;
  await clock.advance(10_000);
  const before = { leaf: link.lastReceived, sn: far.lastReceived, sent: snHost.stats().sentPackets };
  link.keepalive();
  assert.is(far.lastReceived, clock.now(), 'supernode heard it at once');
  assert.is(link.lastReceived, clock.now(), 'echo heard at once');
  assert.ok(before.leaf < clock.now() && before.sn < clock.now());
  assert.is(snHost.stats().sentPackets, before.sent + 1, 'the echo is counted');
  snHost.close();
  await clock.advance(1000);
  const t = clock.now();
  link.keepalive();
  assert.ok(link.lastReceived < t, 'no echo from a closed host');
  net.close();
});

s('scenarios give the same traffic and lookup figures with instant and delayed keepalives', async () => {
  // Two seeds each way, pooled: one small run's idle-leaf bytes also hold a few re-attaches
  // and republishes (2 KB each), which the two ways' different random streams place differently.
  const runs = async (instantKeepalives: boolean) => {
    const out = [];
    for (const seed of [17, 18]) out.push(await runScenario({ nodes: 150, durationS: 240, churnPerHour: 0.69, lookups: 80, seed, seeds: 3, peer: { instantKeepalives } }));
    return out;
  };
  const pooled = (rs: Awaited<ReturnType<typeof runs>>, pick: (r: (typeof rs)[number]) => { msgsPerSec: number; bytesPerSec: number; nodeHours: number }) => {
    let h = 0, m = 0, b = 0;
    for (const r of rs) {
      const t = pick(r);
      h += t.nodeHours;
      m += t.msgsPerSec * t.nodeHours;
      b += t.bytesPerSec * t.nodeHours;
    }
    return { msgsPerSec: m / h, bytesPerSec: b / h };
  };
  const instant = await runs(true);
  const delayed = await runs(false);
  const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(a, b);
  const leafA = pooled(instant, (r) => r.traffic.leafIdle);
  const leafB = pooled(delayed, (r) => r.traffic.leafIdle);
  assert.ok(close(leafA.msgsPerSec, leafB.msgsPerSec, 0.05), `idle leaf ${leafA.msgsPerSec} vs ${leafB.msgsPerSec} datagrams/s`);
  assert.ok(close(leafA.bytesPerSec, leafB.bytesPerSec, 0.2), `idle leaf ${leafA.bytesPerSec} vs ${leafB.bytesPerSec} B/s`);
  const snA = pooled(instant, (r) => r.traffic.supernode);
  const snB = pooled(delayed, (r) => r.traffic.supernode);
  assert.ok(close(snA.bytesPerSec, snB.bytesPerSec, 0.15), `supernode ${snA.bytesPerSec} vs ${snB.bytesPerSec} B/s`);
  for (const r of [...instant, ...delayed]) assert.ok(r.lookupSuccess >= 0.97, `success ${r.lookupSuccess}`);
  // The keepalive datagrams are still there: a leaf sends about 3 every 15-25 s and hears 3 echoes.
  assert.ok(leafA.msgsPerSec > 0.2 && leafA.msgsPerSec < 0.5, `idle leaf ${leafA.msgsPerSec} datagrams/s`);
});

s.run();
