/**
 * A peer that restarts (a new process: same identity, new Noise static key, same or new
 * address) gets a fresh session, not a rekey of its old one: the survivor closes the old
 * session ('peer restarted'), so the RPC state layered on it (cached responses, pending
 * requests) goes too. Genuine rekeys keep the session; INIT floods still meet cookies.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Type } from '@sinclair/typebox';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import type { Address } from '../../src/net/net.ts';
import type { Session } from '../../src/wire/session.ts';
import { FragmentedChannel } from '../../src/wire/fragment-channel.ts';
import { MessageEndpoint } from '../../src/wire/message-endpoint.ts';
import { createRegistry } from '../../src/wire/messages.ts';
import { defineMethod } from '../../src/wire/rpc-method.ts';
import { RpcPeer } from '../../src/wire/rpc.ts';
import { RpcError } from '../../src/wire/rpc-error.ts';
import type { SessionOptions } from '../../src/wire/session/options.ts';
import { LossyPipe, makeNode, settle, type TestNode, testIdentity, utf8 } from './session-harness.ts';

const t = suite('session: restarted peer');

const Echo = defineMethod('test.echo', Type.String({ maxLength: 64 }), Type.String({ maxLength: 64 }));
const registry = createRegistry();

/** A node that serves Echo on every session and keeps one RpcPeer per session. */
function rpcNode(pipe: LossyPipe, seed: number, address: Address, options: Partial<SessionOptions> = {}, identitySeed = seed) {
  const node = makeNode(pipe, seed, address, options, testIdentity(identitySeed));
  const rpcs = new Map<Session, RpcPeer>();
  const rpcFor = (s: Session): RpcPeer => {
    let rpc = rpcs.get(s);
    if (!rpc) {
      const endpoint = new MessageEndpoint(new FragmentedChannel(s.channel(), { clock: pipe.clock }), registry);
      rpc = new RpcPeer(endpoint, { clock: pipe.clock, random: new SeededRandom(seed + 1000) });
      rpc.handle(Echo, (text) => `${text} from ${seed}`);
      rpcs.set(s, rpc);
    }
    return rpc;
  };
  node.manager.onSession((s) => void rpcFor(s));
  const closed: string[] = [];
  node.manager.onSession((s) => s.onClose((r) => closed.push(r)));
  return { node, rpcFor, rpcs, closed };
}

function closeAll(...nodes: { node: TestNode; rpcs: Map<Session, RpcPeer> }[]): void {
  for (const n of nodes) {
    for (const rpc of n.rpcs.values()) rpc.close('done');
    n.node.manager.close();
  }
}

for (const sameAddress of [true, false]) {
  t(`a restarted peer (${sameAddress ? 'same' : 'new'} address) gets a fresh session; old RPC state is dropped`, async () => {
    const clock = new VirtualClock();
    const pipe = new LossyPipe(clock, new SeededRandom(3), { latencyMs: 10 });
    const server = rpcNode(pipe, 1, { host: '10.0.0.1', port: 1000 });
    const first = rpcNode(pipe, 2, { host: '10.0.0.2', port: 2000 }, {}, 2);

    // Run 1: the client asks once (request id 0) and the server caches its answer.
    const s1 = (await settle(clock, first.node.manager.connect(server.node.address, server.node.nodeId)));
    assert.ok(s1.ok);
    const c1 = first.rpcFor((s1 as { value: Session }).value);
    const r1 = await settle(clock, c1.request(Echo, 'run 1', { timeoutMs: 5000 }));
    assert.equal(r1, { ok: true, value: 'run 1 from 1' });
    const old = server.node.manager.get(first.node.nodeId)!;
    assert.ok(old && !old.isClosed);
    // The server has a request of its own pending towards run 1 when it dies.
    const pending = server.rpcFor(old).request(Echo, 'never answered', { timeoutMs: 60_000, retries: 0 });
    const pendingOutcome = pending.then(() => 'answered', (e: unknown) => (e instanceof RpcError ? e.code : String(e)));

    // Run 1 dies without a word (SIGKILL): its socket goes, nothing is sent.
    pipe.detach(first.node.address);
    await clock.advance(2000);

    // Run 2: same identity, a new process (new random: new static key), same or new address.
    const second = rpcNode(pipe, 22, sameAddress ? { host: '10.0.0.2', port: 2000 } : { host: '10.0.0.3', port: 3000 }, {}, 2);
    assert.is(second.node.nodeId, first.node.nodeId);
    const s2 = await settle(clock, second.node.manager.connect(server.node.address, server.node.nodeId));
    assert.ok(s2.ok, 'run 2 connects');
    const fresh = server.node.manager.get(first.node.nodeId)!;
    assert.ok(fresh !== old, 'the server made a new session');
    assert.ok(old.isClosed);
    assert.is(old.closeReason, 'peer restarted');
    assert.is(server.node.manager.stats().restarts, 1);
    assert.is(server.node.manager.stats().rekeys, 0, 'not counted as a rekey');
    assert.equal(server.closed, ['peer restarted']);
    assert.is(server.rpcs.size, 2, 'the server layered fresh RPC state on the new session');
    assert.equal(fresh.address, second.node.address);

    // Run 2's first request has id 0 again: it must be executed, not answered from run 1's cache.
    const c2 = second.rpcFor((s2 as { value: Session }).value);
    const r2 = await settle(clock, c2.request(Echo, 'run 2', { timeoutMs: 5000 }));
    assert.equal(r2, { ok: true, value: 'run 2 from 1' });
    // The request pending towards run 1 failed at once (closed), not after its 60 s timeout.
    await clock.advance(10);
    assert.is(await pendingOutcome, 'closed');
    // And the server reaches run 2 on the new session.
    const back = await settle(clock, server.rpcFor(fresh).request(Echo, 'back', { timeoutMs: 5000 }));
    assert.equal(back, { ok: true, value: 'back from 22' });

    closeAll(server, first, second);
    await clock.advance(1000);
    assert.is(clock.pending, 0);
  });
}

t('the restarted peer learns of it too when it is the responder: the survivor\'s rekey makes a fresh session', async () => {
  const clock = new VirtualClock();
  const pipe = new LossyPipe(clock, new SeededRandom(4), { latencyMs: 10 });
  // Rekey by time: the survivor (initiator of the first session) starts a handshake with
  // whatever now answers at the old address.
  const opts = { rekeyAfterMs: 10_000, rekeyResponderDelayMs: 2_000, rejectAfterMs: 60_000, idleTimeoutMs: 120_000 };
  const survivor = rpcNode(pipe, 5, { host: '10.0.0.5', port: 5000 }, opts);
  const first = rpcNode(pipe, 6, { host: '10.0.0.6', port: 6000 }, opts, 6);
  const s1 = await settle(clock, survivor.node.manager.connect(first.node.address, first.node.nodeId));
  assert.ok(s1.ok);
  const old = (s1 as { value: Session }).value;
  assert.equal(await settle(clock, survivor.rpcFor(old).request(Echo, 'hi', { timeoutMs: 5000 })), { ok: true, value: 'hi from 6' });
  // The peer dies and a new run of it comes up at the same address; the survivor does not
  // know and keeps the old session until its rekey.
  first.node.manager.close();
  pipe.detach(first.node.address);
  const second = rpcNode(pipe, 66, { host: '10.0.0.6', port: 6000 }, opts, 6);
  const newSessions: Session[] = [];
  survivor.node.manager.onSession((s) => newSessions.push(s));
  await clock.advance(15_000);
  assert.ok(old.isClosed, 'the old session is gone');
  assert.is(old.closeReason, 'peer restarted');
  assert.is(survivor.node.manager.stats().restarts, 1);
  assert.is(newSessions.length, 1, 'a new session was announced');
  const fresh = survivor.node.manager.get(first.node.nodeId)!;
  assert.ok(fresh === newSessions[0] && !fresh.isClosed);
  assert.equal(await settle(clock, survivor.rpcFor(fresh).request(Echo, 'again', { timeoutMs: 5000 })), { ok: true, value: 'again from 66' });
  assert.is(second.node.manager.stats().sessions, 1);
  closeAll(survivor, first, second);
  await clock.advance(1000);
  assert.is(clock.pending, 0);
});

t('a genuine rekey keeps the session (and its RPC state); only a new static key replaces it', async () => {
  const clock = new VirtualClock();
  const pipe = new LossyPipe(clock, new SeededRandom(5), { latencyMs: 10, jitterMs: 5 });
  const opts = { rekeyAfterMessages: 20 };
  const a = rpcNode(pipe, 7, { host: '10.0.0.7', port: 7000 }, opts);
  const b = rpcNode(pipe, 8, { host: '10.0.0.8', port: 8000 }, opts);
  const s = await settle(clock, a.node.manager.connect(b.node.address, b.node.nodeId));
  assert.ok(s.ok);
  const session = (s as { value: Session }).value;
  const rpc = a.rpcFor(session);
  for (let i = 0; i < 60; i++) {
    const r = await settle(clock, rpc.request(Echo, `m${i}`, { timeoutMs: 5000 }));
    assert.equal(r, { ok: true, value: `m${i} from 8` });
  }
  const rekeys = a.node.manager.stats().rekeys + b.node.manager.stats().rekeys;
  assert.ok(rekeys >= 3, `rekeys: ${rekeys}`);
  assert.is(a.node.manager.stats().restarts + b.node.manager.stats().restarts, 0);
  assert.ok(!session.isClosed && a.node.manager.get(b.node.nodeId) === session);
  assert.is(b.rpcs.size, 1, 'one RPC peer on each side throughout');
  closeAll(a, b);
  await clock.advance(1000);
  assert.is(clock.pending, 0);
});

t('an INIT flood claiming to be a restarted peer meets cookies; the live session survives it', async () => {
  const clock = new VirtualClock();
  const pipe = new LossyPipe(clock, new SeededRandom(6), { latencyMs: 10 });
  const opts = { cookieThreshold: 4, maxPendingHandshakes: 16, handshakeBurst: 1000, handshakesPerSecond: 1000 };
  const server = rpcNode(pipe, 9, { host: '10.0.0.9', port: 9000 }, opts);
  const client = rpcNode(pipe, 10, { host: '10.0.0.10', port: 1000 }, opts);
  const s = await settle(clock, client.node.manager.connect(server.node.address, server.node.nodeId));
  assert.ok(s.ok);
  const session = server.node.manager.get(client.node.nodeId)!;
  // A flooder from spoofed addresses replays handshake starts (it never finishes them).
  let captured: Uint8Array | undefined;
  const spare = makeNode(pipe, 11, { host: '10.0.0.11', port: 1100 });
  pipe.tamper = (d, from) => {
    if (from.host === '10.0.0.11' && d[0] === 0xe0 && !captured) captured = d.slice();
    return d;
  };
  void spare.manager.connect(server.node.address, server.node.nodeId).catch(() => {});
  await clock.advance(5);
  pipe.tamper = undefined;
  spare.manager.close();
  pipe.detach(spare.address);
  assert.ok(captured, 'captured an INIT');
  const before = server.node.manager.stats().cookiesSent;
  for (let i = 0; i < 40; i++) {
    const forged = captured!.slice();
    forged[1] = i; // a different sender index each time: not a retransmission
    server.node.manager.receive(forged, { host: `10.1.0.${i}`, port: 4000 + i });
  }
  const st = server.node.manager.stats();
  assert.ok(st.cookiesSent - before >= 30, `cookies: ${st.cookiesSent - before}`);
  assert.ok(st.pendingHandshakes <= 4, `half-open: ${st.pendingHandshakes}`);
  await clock.advance(100);
  assert.ok(!session.isClosed && server.node.manager.get(client.node.nodeId) === session);
  assert.is(server.node.manager.stats().restarts, 0);
  client.node.manager.get(server.node.nodeId)!.send(utf8('still here'));
  await clock.advance(100);
  assert.ok(server.node.inbox.some((m) => m.text === 'still here'));
  closeAll(server, client);
  await clock.advance(20_000);
  assert.is(clock.pending, 0);
});

t.run();
