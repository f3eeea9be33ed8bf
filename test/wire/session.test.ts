import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makePair, makeNode, settle, utf8, badSignatureIdentity, testIdentity } from './session-harness.ts';
import { HandshakeTimeoutError, IdentityMismatchError, HandshakeRefusedError, SessionClosedError } from '../../src/wire/session/errors.ts';
import { nodeIdOf } from '../../src/wire/session/identity-binding.ts';
import { Identity } from '../../src/identity/identity.ts';
import { SeededRandom } from '../../src/random.ts';
import { MAX_SESSION_PAYLOAD, PACKET_DATA, PACKET_FINISH, PACKET_INIT, PACKET_RESP } from '../../src/wire/session/packets.ts';

const hs = suite('session: handshake');

hs('connect completes; both sides learn the verified identity; messages flow both ways', async () => {
  const { clock, a, b } = makePair(1);
  const inbound: string[] = [];
  b.manager.onSession((s) => inbound.push(s.nodeId));
  const r = await settle(clock, a.manager.connect(b.address, b.nodeId));
  assert.ok(r.ok);
  const sa = r.ok ? r.value : undefined!;
  assert.is(sa.nodeId, b.nodeId);
  assert.equal(sa.publicKey, b.identity.publicKey);
  assert.equal(inbound, [a.nodeId]);
  const sb = b.manager.get(a.nodeId)!;
  assert.ok(sb);
  assert.equal(sb.address, a.address);
  sa.send(utf8('hello b'));
  sb.send(utf8('hello a'));
  await clock.advance(100);
  assert.equal(b.inbox.map((m) => [m.text, m.from]), [['hello b', a.nodeId]]);
  assert.equal(a.inbox.map((m) => [m.text, m.from]), [['hello a', b.nodeId]]);
  // a second connect reuses the session
  const again = await settle(clock, a.manager.connect(b.address, b.nodeId.toUpperCase()));
  assert.ok(again.ok && again.value === sa);
  assert.is(a.manager.stats().handshakesCompleted, 1);
  assert.is(b.manager.stats().handshakesCompleted, 1);
  a.manager.close();
  b.manager.close();
  assert.is(clock.pending, 0, 'no timers left');
});

hs('a peer whose key does not match the expected node ID is refused', async () => {
  const { clock, a, b } = makePair(2);
  const wrong = nodeIdOf(testIdentity(999).publicKey);
  const r = await settle(clock, a.manager.connect(b.address, wrong));
  assert.not.ok(r.ok);
  const err = (r as { error: Error }).error;
  assert.instance(err, IdentityMismatchError);
  assert.match(err.message, /not the expected node/);
  assert.match(err.message, new RegExp(b.nodeId));
  assert.is(a.manager.sessions().length, 0);
  assert.is(a.manager.stats().dropped.refused, 1);
  // B never learns A's identity: the initiator stops before sending its static key
  assert.is(b.manager.sessions().length, 0);
  await clock.advance(20_000);
  assert.is(b.manager.stats().pendingHandshakes, 0, 'B forgot the half-open handshake');
  a.manager.close();
  b.manager.close();
});

hs('the identity module\'s Identity plugs in directly; node IDs agree', async () => {
  const { clock, pipe, b, close } = makePair(10);
  const id = Identity.generate(new SeededRandom(77));
  const c = makeNode(pipe, 77, { host: '10.0.0.7', port: 7000 }, {}, id);
  assert.is(c.manager.nodeId, id.id);
  const r = await settle(clock, b.manager.connect(c.address, id.id));
  assert.ok(r.ok && r.value.nodeId === id.id);
  assert.ok(c.manager.get(b.nodeId));
  c.manager.close();
  close();
});

hs('a bad or own expected node ID is a clear TypeError', async () => {
  const { a, b } = makePair(3);
  await a.manager.connect(b.address, a.nodeId).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /our own node ID/),
  );
  await a.manager.connect(b.address, 'xyz').then(
    () => assert.unreachable(),
    (e: Error) => {
      assert.instance(e, TypeError);
      assert.match(e.message, /64 hex digits/);
    },
  );
  a.manager.close();
  b.manager.close();
});

hs('an identity proof with a bad signature is refused on both sides', async () => {
  const { clock, pipe, a } = makePair(4);
  const liar = makeNode(pipe, 40, { host: '10.0.0.9', port: 9000 }, {}, badSignatureIdentity(40));
  const r = await settle(clock, a.manager.connect(liar.address, liar.nodeId));
  assert.not.ok(r.ok);
  assert.instance((r as { error: Error }).error, HandshakeRefusedError);
  assert.match(((r as { error: Error }).error).message, /invalid identity proof/);
  assert.is(a.manager.stats().dropped.badIdentity, 1);
  // and as initiator: the honest responder drops it
  const r2 = await settle(clock, liar.manager.connect(a.address, a.nodeId));
  assert.not.ok(r2.ok);
  assert.ok(a.manager.stats().dropped.badIdentity >= 1);
  assert.is(a.manager.sessions().length, 0);
  a.manager.close();
  liar.manager.close();
});

for (const [name, type] of [['INIT', PACKET_INIT], ['RESP', PACKET_RESP], ['FINISH', PACKET_FINISH]] as const) {
  hs(`a tampered ${name} is refused (counted), the handshake times out`, async () => {
    const { clock, pipe, a, b } = makePair(5, {}, { handshakeTimeoutMs: 3000 });
    pipe.tamper = (d) => {
      if (d[0] === type) d[d.length - 20]! ^= 0x40;
      return d;
    };
    const r = await settle(clock, a.manager.connect(b.address, b.nodeId));
    assert.not.ok(r.ok);
    assert.instance((r as { error: Error }).error, HandshakeTimeoutError);
    const drops = a.manager.stats().dropped.authFailed + b.manager.stats().dropped.authFailed;
    assert.ok(drops >= 1, `auth failures counted (${drops})`);
    assert.is(a.manager.sessions().length + b.manager.sessions().length, 0);
    // the same managers still work once the path is clean
    pipe.tamper = undefined;
    const ok = await settle(clock, a.manager.connect(b.address, b.nodeId));
    assert.ok(ok.ok);
    a.manager.close();
    b.manager.close();
    assert.is(clock.pending, 0);
  });
}

hs('lost handshake messages are retransmitted', async () => {
  const { clock, pipe, a, b } = makePair(6);
  const dropped = new Set<number>();
  pipe.tamper = (d) => {
    if (d[0]! <= PACKET_FINISH && !dropped.has(d[0]!)) {
      dropped.add(d[0]!); // lose the first INIT, RESP and FINISH
      return undefined;
    }
    return d;
  };
  const r = await settle(clock, a.manager.connect(b.address, b.nodeId));
  assert.ok(r.ok);
  assert.ok(a.manager.stats().handshakeRetransmits >= 2);
  a.manager.close();
  b.manager.close();
});

hs('a lost confirmation is repeated when the FINISH is retransmitted', async () => {
  const { clock, pipe, a, b } = makePair(7);
  let lost = false;
  pipe.tamper = (d, from) => {
    if (!lost && d[0] === PACKET_DATA && from.port === 2000) {
      lost = true;
      return undefined;
    }
    return d;
  };
  const r = await settle(clock, a.manager.connect(b.address, b.nodeId));
  assert.ok(r.ok && lost);
  assert.is(b.manager.stats().handshakesCompleted, 1, 'no second handshake');
  a.manager.close();
  b.manager.close();
});

hs('an unreachable peer times out; an aborted connect rejects with the reason and cleans up', async () => {
  const { clock, a, b } = makePair(8, {}, { handshakeTimeoutMs: 5000 });
  const t0 = clock.now();
  const r = await settle(clock, a.manager.connect({ host: '10.9.9.9', port: 1 }, nodeIdOf(testIdentity(5).publicKey)));
  assert.not.ok(r.ok);
  assert.instance((r as { error: Error }).error, HandshakeTimeoutError);
  assert.ok(clock.now() - t0 >= 5000 && clock.now() - t0 < 5100);
  const ac = new AbortController();
  const p = a.manager.connect({ host: '10.9.9.9', port: 1 }, nodeIdOf(testIdentity(5).publicKey), ac.signal);
  await clock.advance(100);
  ac.abort(new Error('user gave up'));
  const r2 = await settle(clock, p);
  assert.not.ok(r2.ok);
  assert.match(((r2 as { error: Error }).error).message, /user gave up/);
  assert.is(a.manager.stats().pendingHandshakes, 0);
  a.manager.close();
  b.manager.close();
  assert.is(clock.pending, 0);
});

hs('close rejects pending connects and zeroizes; sending afterwards is an error', async () => {
  const { clock, a, b } = makePair(9);
  const r = await settle(clock, a.manager.connect(b.address, b.nodeId));
  const s = r.ok ? r.value : undefined!;
  const closes: string[] = [];
  s.onClose((why) => closes.push(why));
  const pending = a.manager.connect({ host: '10.9.9.9', port: 1 }, nodeIdOf(testIdentity(5).publicKey));
  a.manager.close();
  const r2 = await settle(clock, pending);
  assert.instance((r2 as { error: Error }).error, HandshakeRefusedError);
  assert.equal(closes, ['manager closed']);
  assert.throws(() => s.send(utf8('x')), (e: Error) => e instanceof SessionClosedError);
  assert.throws(() => b.manager.get(a.nodeId)!.send(new Uint8Array(MAX_SESSION_PAYLOAD + 1)), RangeError);
  b.manager.close();
  assert.is(clock.pending, 0);
});
hs.run();
