/** The wire stack over SimNet: a lossy, jittery simulated path on a virtual clock. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Type } from '@sinclair/typebox';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { SimNet } from '../../src/net/sim.ts';
import { FragmentedChannel } from '../../src/wire/fragment-channel.ts';
import { MessageEndpoint } from '../../src/wire/message-endpoint.ts';
import { createRegistry } from '../../src/wire/messages.ts';
import { defineMethod } from '../../src/wire/rpc-method.ts';
import { RpcPeer } from '../../src/wire/rpc.ts';
import type { RpcError } from '../../src/wire/rpc-error.ts';
import { plainUdpChannel } from './wire-helpers.ts';

const s = suite('wire/rpc over SimNet');

const Store = defineMethod(
  'test.store',
  Type.Object({ key: Type.Integer({ minimum: 0 }), blob: Type.String({ maxLength: 20_000 }) }, { additionalProperties: false }),
  Type.Object({ stored: Type.Integer() }, { additionalProperties: false }),
);

s('300 requests across 5% loss and jitter: exactly-once execution, answers intact', async () => {
  const clock = new VirtualClock();
  const random = new SeededRandom(42);
  const sim = new SimNet({ clock, random: random.fork(), latencyMs: 30, jitterMs: 10, loss: 0.05 });
  const ha = sim.addHost('198.51.100.1');
  const hb = sim.addHost('198.51.100.2');
  const sa = await ha.bind({ port: 4000 });
  const sb = await hb.bind({ port: 4000 });
  const registry = createRegistry();
  const side = (sock: typeof sa, peer: typeof sa) => {
    const endpoint = new MessageEndpoint(new FragmentedChannel(plainUdpChannel(sock, peer.address), { clock }), registry);
    return new RpcPeer(endpoint, { clock, random: random.fork(), maxInFlight: 300 });
  };
  const a = side(sa, sb);
  const b = side(sb, sa);
  const executed = new Map<number, number>();
  b.handle(Store, ({ key, blob }) => {
    executed.set(key, (executed.get(key) ?? 0) + 1);
    return { stored: blob.length };
  });
  const results: Promise<string>[] = [];
  for (let i = 0; i < 300; i++) {
    const blob = 'q'.repeat(i % 10 === 0 ? 15_000 : i * 3);
    results.push(
      a.request(Store, { key: i, blob }, { timeoutMs: 30_000, retries: 6 }).then(
        (r) => (assert.is(r.stored, blob.length), 'ok'),
        (e: RpcError) => e.code,
      ),
    );
    if (i % 50 === 49) await clock.advance(200);
  }
  await clock.advance(40_000);
  const outcome = await Promise.all(results);
  const ok = outcome.filter((x) => x === 'ok').length;
  assert.ok(outcome.every((x) => x === 'ok' || x === 'timeout'), JSON.stringify([...new Set(outcome)]) + JSON.stringify(sim.stats()));
  for (const [i, x] of outcome.entries()) {
    const n = executed.get(i) ?? 0;
    assert.ok(n <= 1, `request ${i} executed ${n} times`);
    if (x === 'ok') assert.is(n, 1);
  }
  // With 6 retransmissions, loss of 5% per datagram leaves essentially nothing unanswered.
  assert.ok(ok >= 297, `${ok} of 300 answered`);
  assert.ok(a.stats().retransmitted > 0, 'loss forced retransmissions');
  a.close();
  b.close();
  sim.close();
  assert.is(clock.pending, 0);
});

s.run();
