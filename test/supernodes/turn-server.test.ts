import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SeededRandom } from '../../src/random.ts';
import type { Address } from '../../src/net/net.ts';
import { Attr, Method, StunClass } from '../../supernodes/stun/constants.ts';
import { decodeAddress, encodeEvenPort, encodeRequestedTransport, encodeText, encodeU32 } from '../../supernodes/stun/attributes.ts';
import { StunWriter, getAttribute, parseStun } from '../../supernodes/stun/message.ts';
import { TurnClient } from '../../supernodes/turn/client.ts';
import { mintTurnCredentials } from '../../supernodes/turn/credentials.ts';
import { type StandaloneTurnOptions } from '../../supernodes/turn/standalone.ts';
import { settle, type MemSocket } from '../fixtures/turn/mem-net.ts';
import { TURN_TEST_SECRET, rejectsWithTurnError, turnHarness } from '../fixtures/turn/turn-harness.ts';

const SECRET = TURN_TEST_SECRET;
const te = new TextEncoder();
const td = new TextDecoder();

const setup = (opts: Partial<StandaloneTurnOptions> = {}) => turnHarness({ seed: 7, ...opts });
const rejects = rejectsWithTurnError;

const t = suite('turn server');

t('Allocate: 401 challenge, then an authenticated allocation with a relayed address', async () => {
  const h = await setup();
  const { socket, c } = await h.client();
  const r = await c.allocate();
  assert.is(r.relayed.host, '198.51.100.1');
  assert.equal({ host: r.mapped.host, port: r.mapped.port }, socket.address);
  assert.is(r.lifetime, 600);
  const st = h.turn.server.stats();
  assert.is(st.allocations, 1);
  assert.is(st.errors[401], 1);
  assert.is(h.turn.server.allocationFor(r.mapped)!.relayAddress.port, r.relayed.port);
  h.close();
});

t('lifetimes: default 600 s, capped at 3600 s, refresh extends, Refresh 0 deletes', async () => {
  const h = await setup();
  const { c } = await h.client();
  assert.is((await c.allocate(100000)).lifetime, 3600);
  assert.is(await c.refresh(30), 600);
  assert.is(await c.refresh(1200), 1200);
  assert.is(await c.refresh(0), 0);
  assert.is(h.turn.server.stats().allocations, 0);
  assert.is(h.turn.server.stats().allocationsDeleted, 1);
  await rejects(c.refresh(600), 437);
  h.close();
});

t('a second Allocate on the same 5-tuple is 437; a retransmission gets the same answer', async () => {
  const h = await setup();
  const { socket, c } = await h.client();
  await c.allocate();
  await rejects(c.allocate(), 437);
  // A fresh client object on the same socket with a different user: 441 on Refresh.
  const other = mintTurnCredentials({ secret: SECRET, user: 'mallory', now: h.clock.now() });
  const c2 = new TurnClient({ socket, clock: h.clock, random: new SeededRandom(9), server: h.turn.address, ...other });
  await rejects(c2.refresh(600), 441);
  c2.close();
  h.close();
});

t('Send indication -> peer; peer -> Data indication; no permission, no relay', async () => {
  const h = await setup();
  const { c } = await h.client();
  const { relayed } = await c.allocate();
  const p = await h.peer();
  const got: [string, Address][] = [];
  c.onData((d, from) => got.push([td.decode(d), { host: from.host, port: from.port }]));
  c.send(p.address, te.encode('dropped: no permission yet'));
  await settle();
  assert.is(p.received.length, 0);
  assert.is(h.turn.server.stats().drops.noPermission, 1);
  await c.createPermission(p.address);
  c.send(p.address, te.encode('hello peer'));
  await settle();
  assert.is(td.decode(p.received[0]!.data), 'hello peer');
  assert.equal(p.received[0]!.from, { host: relayed.host, port: relayed.port });
  p.send(te.encode('hello client'), relayed);
  await settle();
  assert.equal(got, [['hello client', p.address]]);
  // A stranger without permission cannot reach the client through the relay.
  const stranger = await h.peer('203.0.113.99');
  stranger.send(te.encode('spam'), relayed);
  await settle();
  assert.is(got.length, 1);
  const st = h.turn.server.stats();
  assert.is(st.relayedToPeerPackets, 1);
  assert.is(st.relayedToClientPackets, 1);
  assert.is(st.permissions, 1);
  h.close();
});

t('ChannelBind: ChannelData both ways; rebinding rules', async () => {
  const h = await setup();
  const { socket, c } = await h.client();
  const { relayed } = await c.allocate();
  const p = await h.peer();
  await c.channelBind(p.address, 0x4001);
  const got: string[] = [];
  c.onData((d) => got.push(td.decode(d)));
  c.send(p.address, te.encode('via channel'));
  await settle();
  assert.is(td.decode(p.received[0]!.data), 'via channel');
  const before = socket.received.length;
  p.send(te.encode('back'), relayed);
  await settle();
  assert.equal(got, ['back']);
  const raw = socket.received[before]!.data;
  assert.equal([raw[0], raw[1], raw[2], raw[3]], [0x40, 0x01, 0, 4]);
  await c.channelBind(p.address, 0x4001); // refresh: fine
  await rejects(c.channelBind(p.address, 0x4002), 400); // same peer, other channel
  const p2 = await h.peer('203.0.113.21');
  await rejects(c.channelBind(p2.address, 0x4001), 400); // same channel, other peer
  await rejects(c.channelBind(p2.address, 0x3fff), 400); // out of range
  assert.is(h.turn.server.stats().channels, 1);
  h.close();
});

t('expiry via the clock: permissions after 300 s, channels after 600 s, allocations after their lifetime', async () => {
  const h = await setup();
  const { c } = await h.client();
  const { relayed } = await c.allocate(1800);
  const p = await h.peer();
  await c.createPermission(p.address);
  await h.clock.advance(301_000);
  assert.is(h.turn.server.stats().permissions, 0);
  p.send(te.encode('late'), relayed);
  c.send(p.address, te.encode('late'));
  await settle();
  assert.is(p.received.length, 0);
  await c.channelBind(p.address, 0x4000);
  await h.clock.advance(299_000);
  await c.createPermission(p.address); // keep the permission, let the channel lapse
  await h.clock.advance(250_000);
  await c.createPermission(p.address);
  await h.clock.advance(52_000);
  assert.is(h.turn.server.stats().channels, 0);
  assert.is(h.turn.server.stats().permissions, 1);
  await h.clock.advance(1800_000);
  const st = h.turn.server.stats();
  assert.is(st.allocations, 0);
  assert.is(st.allocationsExpired, 1);
  assert.is(h.net.sockets.has(`198.51.100.1|${relayed.port}`), false, 'relay socket closed');
  h.close();
});

t('stale nonce: 438, and the client recovers with the new nonce', async () => {
  const h = await setup({ nonceLifetimeS: 60 });
  const { c } = await h.client();
  await c.allocate(3600);
  await h.clock.advance(61_000);
  assert.is(await c.refresh(3600), 3600);
  assert.is(h.turn.server.stats().errors[438], 1);
  h.close();
});

t('credentials: wrong secret, expired username, wrong realm -> 401', async () => {
  const h = await setup();
  const bad = mintTurnCredentials({ secret: 'not-the-secret', user: 'eve', now: h.clock.now() });
  await rejects((await h.client('eve', '203.0.113.11', bad)).c.allocate(), 401);
  const expired = mintTurnCredentials({ secret: SECRET, user: 'eve', now: h.clock.now() - 7200_000, ttlSeconds: 3600 });
  await rejects((await h.client('eve', '203.0.113.12', expired)).c.allocate(), 401);
  await rejects((await h.client('eve', '203.0.113.13', { username: 'no-expiry', password: 'x' })).c.allocate(), 401);
  assert.is(h.turn.server.stats().allocations, 0);
  h.close();
});

t('secret rotation: credentials minted with any configured secret work', async () => {
  const h = await setup({ secret: ['new-secret', SECRET] });
  const { c } = await h.client();
  await c.allocate();
  h.close();
});

t('442 for TCP, 420 for DONT-FRAGMENT, 400 without REQUESTED-TRANSPORT', async () => {
  const h = await setup();
  const { c } = await h.client();
  await rejects(c.request(Method.Allocate, (w) => w.add(Attr.RequestedTransport, encodeRequestedTransport(6))), 442);
  await rejects(
    c.request(Method.Allocate, (w) => w.add(Attr.RequestedTransport, encodeRequestedTransport(17)).add(Attr.DontFragment, new Uint8Array())),
    420,
  );
  await rejects(c.request(Method.Allocate, (w) => w.add(Attr.Lifetime, encodeU32(600))), 400);
  h.close();
});

t('403 for loopback/private/link-local peers unless allowPrivatePeers; 443 on family mismatch', async () => {
  const h = await setup();
  const { c } = await h.client();
  await c.allocate();
  for (const host of ['127.0.0.1', '10.1.2.3', '192.168.0.9', '172.20.0.1', '169.254.1.1', '100.64.0.1', '0.0.0.0', '224.0.0.1']) {
    await rejects(c.createPermission({ host, port: 9 }), 403);
  }
  await rejects(c.channelBind({ host: '127.0.0.1', port: 9 }, 0x4000), 403);
  await rejects(c.createPermission({ host: '2001:db8::1', port: 9 }), 443);
  h.close();
  const open = await setup({ allowPrivatePeers: true });
  const o = await open.client();
  await o.c.allocate();
  await o.c.createPermission({ host: '127.0.0.1', port: 9 });
  open.close();
});

t('quotas: 486 per user and in total; 508 when no relay port; bounded permission table', async () => {
  const h = await setup({ userQuota: 1, totalQuota: 2, maxPermissionsPerAllocation: 2 });
  await (await h.client('alice', '203.0.113.10')).c.allocate();
  await rejects((await h.client('alice', '203.0.113.11')).c.allocate(), 486);
  await (await h.client('bob', '203.0.113.12')).c.allocate();
  await rejects((await h.client('carol', '203.0.113.13')).c.allocate(), 486);
  h.close();
  const g = await setup({ maxPermissionsPerAllocation: 2 });
  const { c } = await g.client();
  await c.allocate();
  await c.createPermission({ host: '203.0.113.1', port: 1 }, { host: '203.0.113.2', port: 1 });
  await rejects(c.createPermission({ host: '203.0.113.3', port: 1 }), 508);
  g.net.failBinds = true;
  await rejects((await (async () => { g.net.failBinds = false; const x = await g.client('dave', '203.0.113.14'); g.net.failBinds = true; return x; })()).c.allocate(), 508);
  assert.is(g.turn.server.stats().allocations, 1);
  g.close();
});

t('EVEN-PORT with R reserves the next port; RESERVATION-TOKEN claims it', async () => {
  const h = await setup();
  const { c } = await h.client('alice', '203.0.113.10');
  const res = await c.request(Method.Allocate, (w) =>
    w.add(Attr.RequestedTransport, encodeRequestedTransport(17)).add(Attr.EvenPort, encodeEvenPort(true)),
  );
  const relayed = decodeAddress(getAttribute(res, Attr.XorRelayedAddress)!, true, res.transactionId);
  assert.is(relayed.port % 2, 0);
  const token = getAttribute(res, Attr.ReservationToken)!;
  assert.is(token.length, 8);
  const { c: c2 } = await h.client('alice', '203.0.113.11');
  const res2 = await c2.request(Method.Allocate, (w) =>
    w.add(Attr.RequestedTransport, encodeRequestedTransport(17)).add(Attr.ReservationToken, token.slice()),
  );
  const relayed2 = decodeAddress(getAttribute(res2, Attr.XorRelayedAddress)!, true, res2.transactionId);
  assert.is(relayed2.port, relayed.port + 1);
  const { c: c3 } = await h.client('alice', '203.0.113.12');
  await rejects(
    c3.request(Method.Allocate, (w) => w.add(Attr.RequestedTransport, encodeRequestedTransport(17)).add(Attr.ReservationToken, token.slice())),
    508,
  );
  h.close();
});

t('hairpin: two allocations on one server relay to each other in process', async () => {
  const h = await setup();
  const a = await h.client('alice', '203.0.113.10');
  const b = await h.client('bob', '203.0.113.11');
  const ra = (await a.c.allocate()).relayed;
  const rb = (await b.c.allocate()).relayed;
  await a.c.channelBind(rb, 0x4000);
  await b.c.createPermission(ra);
  const got: [string, number][] = [];
  b.c.onData((d, from) => got.push([td.decode(d), from.port]));
  a.c.send(rb, te.encode('a->b'));
  await settle();
  assert.equal(got, [['a->b', ra.port]]);
  // With a channel on both sides the client's ChannelData frame is forwarded in place.
  await b.c.channelBind(ra, 0x4abc);
  const before = b.socket.received.length;
  a.c.send(rb, te.encode('a->b again'));
  await settle();
  assert.equal(got[1], ['a->b again', ra.port]);
  const frame = b.socket.received[before]!.data;
  assert.equal([frame[0], frame[1], frame.length], [0x4a, 0xbc, 4 + 10]);
  assert.is(h.turn.server.stats().hairpinPackets, 2);
  h.close();
});

t('STUN Binding on the TURN port; non-STUN bytes are left to the caller', async () => {
  const h = await setup();
  const s = await h.peer('203.0.113.50');
  const tid = new Uint8Array(12).fill(3);
  s.send(new StunWriter(Method.Binding, StunClass.Request, tid).add(Attr.Software, encodeText('x')).encode({ fingerprint: true }), h.turn.address);
  s.send(new Uint8Array([0xe0, 1, 2, 3]), h.turn.address);
  await settle();
  const m = parseStun(s.received[0]!.data);
  assert.is(m.cls, StunClass.SuccessResponse);
  assert.equal(decodeAddress(getAttribute(m, Attr.XorMappedAddress)!, true, tid).port, s.address.port);
  assert.is(h.turn.foreignDatagrams(), 1);
  h.close();
});

t.run();
