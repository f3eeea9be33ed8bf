/**
 * The whole wire stack as the overlay will assemble it, on SimNet with loss and jitter:
 * socket -> Demux (0xE0-0xEF) -> SessionManager (Noise) -> per-session MessageChannel ->
 * FragmentedChannel -> MessageEndpoint -> RpcPeer, with `Session.channel()` as the seam.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Type } from '@sinclair/typebox';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { SimNet } from '../../src/net/sim.ts';
import type { DatagramSocket } from '../../src/net/net.ts';
import { SessionManager } from '../../src/wire/session-manager.ts';
import type { Session } from '../../src/wire/session.ts';
import { nodeIdOf } from '../../src/wire/session/identity-binding.ts';
import { Demux } from '../../src/wire/demux.ts';
import { FragmentedChannel } from '../../src/wire/fragment-channel.ts';
import { MessageEndpoint } from '../../src/wire/message-endpoint.ts';
import { createRegistry, defineMessage } from '../../src/wire/messages.ts';
import { defineMethod } from '../../src/wire/rpc-method.ts';
import { RpcPeer } from '../../src/wire/rpc.ts';
import type { RpcError } from '../../src/wire/rpc-error.ts';
import { testIdentity } from './session-harness.ts';

const s = suite('wire: full stack over Noise sessions on SimNet');

const Lookup = defineMethod(
  'test.lookup',
  Type.Object({ name: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
  Type.Object({ name: Type.String({ maxLength: 64 }), record: Type.String({ maxLength: 30_000 }) }, { additionalProperties: false }),
);
const Presence = defineMessage('test.presence', { name: Type.String({ maxLength: 64 }), online: Type.Boolean() });

s('handshake, one-way messages and 200 RPCs (some 25 KB) across 3% loss', async () => {
  const clock = new VirtualClock();
  const random = new SeededRandom(7);
  const sim = new SimNet({ clock, random: random.fork(), latencyMs: 25, jitterMs: 5, loss: 0.03 });
  const registry = createRegistry(Presence);
  const build = async (ip: string, seed: number) => {
    const socket: DatagramSocket = await sim.addHost(ip).bind({ port: 7000 });
    const identity = testIdentity(seed);
    const manager = new SessionManager({ identity, clock, random: random.fork(), send: (d, to) => socket.send(d, to) });
    const demux = new Demux(socket);
    demux.on('overlay', (d, from) => manager.receive(d, from));
    const peers = new Map<Session, { endpoint: MessageEndpoint; rpc: RpcPeer }>();
    const attach = (session: Session) => {
      if (peers.has(session)) return peers.get(session)!;
      const endpoint = new MessageEndpoint(new FragmentedChannel(session.channel(), { clock }), registry);
      const rpc = new RpcPeer(endpoint, { clock, random: random.fork(), maxInFlight: 256 });
      peers.set(session, { endpoint, rpc });
      return { endpoint, rpc };
    };
    return { socket, manager, demux, nodeId: nodeIdOf(identity.publicKey), peers, attach };
  };
  const a = await build('198.51.100.1', 11);
  const b = await build('198.51.100.2', 12);

  const records = new Map<string, string>();
  const executions = new Map<string, number>();
  const seenPresence: string[] = [];
  b.manager.onSession((session) => {
    const { endpoint, rpc } = b.attach(session);
    endpoint.on(Presence, (m) => seenPresence.push(`${m.name}:${m.online}`));
    rpc.handle(Lookup, ({ name }) => {
      executions.set(name, (executions.get(name) ?? 0) + 1);
      return { name, record: records.get(name) ?? '' };
    });
  });
  for (let i = 0; i < 200; i++) records.set(`user${i}`, i % 20 === 0 ? 'r'.repeat(25_000) : `record of user${i}`);

  const connecting = a.manager.connect(b.socket.address, b.nodeId);
  await clock.advance(3000);
  const session = await connecting;
  const { endpoint, rpc } = a.attach(session);
  assert.is(b.peers.size, 1, 'responder side attached');
  for (let i = 0; i < 20; i++) endpoint.send({ type: 'test.presence', name: `user${i}`, online: i % 2 === 0 });

  const calls = Array.from({ length: 200 }, (_, i) =>
    rpc.request(Lookup, { name: `user${i}` }, { timeoutMs: 30_000, retries: 8 }).then(
      (r) => (assert.is(r.record, records.get(`user${i}`)), 'ok'),
      (e: RpcError) => e.code,
    ),
  );
  await clock.advance(40_000);
  const outcomes = await Promise.all(calls);
  const ok = outcomes.filter((x) => x === 'ok').length;
  assert.ok(outcomes.every((x) => x === 'ok' || x === 'timeout'));
  assert.ok(ok >= 198, `${ok} of 200 answered`);
  for (const [name, n] of executions) assert.is(n, 1, `${name} executed ${n} times`);
  assert.ok(executions.size >= ok);
  // one-way messages are unreliable: most arrive, none twice
  assert.ok(seenPresence.length >= 15 && new Set(seenPresence).size === seenPresence.length, String(seenPresence.length));
  assert.ok(rpc.stats().retransmitted > 0, 'loss forced retransmissions');
  assert.is(a.demux.stats().dropped.unknown, 0);

  rpc.close('done');
  for (const p of b.peers.values()) p.rpc.close('done');
  a.manager.close();
  b.manager.close();
  a.demux.close();
  b.demux.close();
  sim.close();
  await clock.advance(1000);
  assert.is(clock.pending, 0);
});

s.run();
