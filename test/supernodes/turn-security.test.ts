import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { silentLogger } from '../../src/log.ts';
import { Attr, Method, StunClass } from '../../supernodes/stun/constants.ts';
import { encodeRequestedTransport } from '../../supernodes/stun/attributes.ts';
import { StunWriter, parseStun } from '../../supernodes/stun/message.ts';
import { encodeChannelData } from '../../supernodes/turn/channel-data.ts';
import { ChallengeLimiter } from '../../supernodes/turn/challenge-limiter.ts';
import { PeerPolicy, parseCidr } from '../../supernodes/turn/peer-policy.ts';
import { TurnServer } from '../../supernodes/turn/server.ts';
import { type StandaloneTurnOptions } from '../../supernodes/turn/standalone.ts';
import { MemNet, settle, type MemSocket } from '../fixtures/turn/mem-net.ts';
import { TURN_TEST_SECRET, rejectsWithTurnError, turnHarness } from '../fixtures/turn/turn-harness.ts';

const SECRET = TURN_TEST_SECRET;
const te = new TextEncoder();
const td = new TextDecoder();

const setup = (opts: Partial<StandaloneTurnOptions> = {}) => turnHarness({ seed: 11, ...opts });
const rejects = rejectsWithTurnError;

const t = suite('turn security');

// ---- channel hold-down (RFC 8656 12) ------------------------------------------------

t('an expired channel keeps its number and its peer for 5 minutes, then both are free', async () => {
  const h = await setup();
  const { c, socket } = await h.client();
  const { relayed } = await c.allocate(3600);
  const p = await h.peer('203.0.113.20');
  const p2 = await h.peer('203.0.113.21');
  await c.channelBind(p.address, 0x4001);
  await h.clock.advance(601_000); // the binding (600 s) has expired
  assert.is(h.turn.server.stats().channels, 0);
  // Expired: ChannelData on it is dropped, and the peer's datagrams come as Data indications.
  await c.createPermission(p.address);
  socket.send(encodeChannelData(0x4001, te.encode('late')), h.turn.address);
  await settle();
  assert.is(p.received.length, 0);
  assert.is(h.turn.server.stats().drops.noChannel, 1);
  // Hold-down: the number cannot go to another peer, nor the peer to another number.
  await rejects(c.channelBind(p2.address, 0x4001), 400);
  await rejects(c.channelBind(p.address, 0x4002), 400);
  await h.clock.advance(200_000); // 801 s after binding: 201 s into the hold-down
  await rejects(c.channelBind(p2.address, 0x4001), 400);
  // The same pair may be bound again at any time, and works at once.
  await c.channelBind(p.address, 0x4001);
  assert.is(h.turn.server.stats().channels, 1);
  c.send(p.address, te.encode('again'));
  await settle();
  assert.is(td.decode(p.received[0]!.data), 'again');
  // Let it expire, then wait out the whole hold-down: number and peer are free again.
  await h.clock.advance(601_000 + 300_000);
  await c.channelBind(p2.address, 0x4001);
  await c.channelBind(p.address, 0x4002);
  assert.is(h.turn.server.stats().channels, 2);
  p2.send(te.encode('to relay'), relayed);
  await settle();
  const raw = socket.received.at(-1)!.data;
  assert.equal([raw[0], raw[1]], [0x40, 0x01]);
  h.close();
});

t('held-down channels do not count against the channel quota', async () => {
  const h = await setup({ maxChannelsPerAllocation: 1 });
  const { c } = await h.client();
  await c.allocate(3600);
  const p = await h.peer('203.0.113.20');
  const p2 = await h.peer('203.0.113.21');
  await c.channelBind(p.address, 0x4001);
  await rejects(c.channelBind(p2.address, 0x4002), 508);
  await h.clock.advance(601_000);
  await c.channelBind(p2.address, 0x4002); // the first is expired (held, not live)
  assert.is(h.turn.server.stats().channels, 1);
  await rejects(c.channelBind(p.address, 0x4001), 508); // re-activating it would make 2 live
  h.close();
});

// ---- rate limit on unauthenticated responses -----------------------------------------

function unauthenticatedAllocate(i: number): Uint8Array {
  const tid = new Uint8Array(12).fill(i & 0xff);
  tid[0] = i >> 8;
  return new StunWriter(Method.Allocate, StunClass.Request, tid).add(Attr.RequestedTransport, encodeRequestedTransport(17)).encode();
}

t('401 challenges are limited per source address and in total; loopback is exempt', async () => {
  const h = await setup({ challengeLimits: { perSourceBurst: 5, perSourceRate: 1, totalBurst: 12, totalRate: 1 } });
  const spoofed = await h.peer('203.0.113.66');
  for (let i = 0; i < 20; i++) spoofed.send(unauthenticatedAllocate(i), h.turn.address);
  await settle();
  assert.is(spoofed.received.length, 5, 'only the burst is answered');
  for (const r of spoofed.received) assert.is(parseStun(r.data).cls, StunClass.ErrorResponse);
  assert.is(h.turn.server.stats().drops.challengeRateLimited, 15);
  assert.is(h.turn.server.stats().errors[401], 5);
  // Another source has its own bucket.
  const other = await h.peer('203.0.113.67');
  for (let i = 0; i < 3; i++) other.send(unauthenticatedAllocate(i), h.turn.address);
  await settle();
  assert.is(other.received.length, 3);
  // Tokens come back at the sustained rate (1/s).
  await h.clock.advance(2_000);
  for (let i = 0; i < 5; i++) spoofed.send(unauthenticatedAllocate(100 + i), h.turn.address);
  await settle();
  assert.is(spoofed.received.length, 7);
  // The total bucket (12, refilling at 1/s) caps many fresh sources: 12 - 5 - 3 + 2 - 2 = 4 left.
  const many = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => h.peer(`203.0.113.${100 + n}`)));
  for (const s of many) s.send(unauthenticatedAllocate(1), h.turn.address);
  await settle();
  const answered = many.filter((s) => s.received.length > 0).length;
  assert.is(answered, 4, 'total limit');
  // Loopback sources cannot be spoofed from the network: never limited.
  const local = await h.peer('127.0.0.1');
  for (let i = 0; i < 30; i++) local.send(unauthenticatedAllocate(i), h.turn.address);
  await settle();
  assert.is(local.received.length, 30);
  h.close();
});

t('a client behind a limited address still gets through once tokens return', async () => {
  const h = await setup({ challengeLimits: { perSourceBurst: 2, perSourceRate: 1 } });
  const noise = await h.peer('203.0.113.10'); // same IP as the client below
  for (let i = 0; i < 10; i++) noise.send(unauthenticatedAllocate(i), h.turn.address);
  await settle();
  const { c } = await h.client('alice', '203.0.113.10');
  const allocation = c.allocate(); // first 401 dropped: the client retransmits
  await h.clock.advance(5_000);
  const r = await allocation;
  assert.is(r.lifetime, 600);
  h.close();
});

t('ChallengeLimiter: bounded table, sweep forgets full buckets', () => {
  const l = new ChallengeLimiter({ perSourceBurst: 2, perSourceRate: 1, maxSources: 3 });
  for (let i = 0; i < 10; i++) assert.ok(l.allow(`198.18.0.${i}`, 0));
  assert.is(l.size, 3);
  assert.ok(l.allow('198.18.0.9', 0));
  assert.not.ok(l.allow('198.18.0.9', 0));
  l.sweep(10_000);
  assert.is(l.size, 0);
  assert.ok(l.allow('::1', 0) && l.allow('127.0.0.5', 0));
});

// ---- peer CIDR allow-list --------------------------------------------------------------

t('allowedPeerCidrs opens listed restricted blocks only; allowPrivatePeers still opens all', async () => {
  const h = await setup({ allowedPeerCidrs: ['10.1.0.0/16', '127.0.0.1', '192.168.7.128/25'] });
  const { c, socket } = await h.client();
  const { relayed } = await c.allocate();
  await c.createPermission({ host: '10.1.2.3', port: 9 });
  await c.createPermission({ host: '127.0.0.1', port: 9 });
  await c.createPermission({ host: '192.168.7.200', port: 9 });
  await c.createPermission({ host: '203.0.113.20', port: 9 }); // public: always fine
  for (const host of ['10.2.0.1', '127.0.0.2', '192.168.7.127', '192.168.0.1', '172.16.0.1', '169.254.0.1']) {
    await rejects(c.createPermission({ host, port: 9 }), 403);
  }
  await rejects(c.channelBind({ host: '10.2.0.1', port: 9 }, 0x4000), 403);
  // Relaying to and from an allowed private peer works.
  const lan = await h.peer('10.1.2.3');
  await c.channelBind(lan.address, 0x4000);
  c.send(lan.address, te.encode('to lan'));
  lan.send(te.encode('from lan'), relayed);
  await settle();
  assert.is(td.decode(lan.received[0]!.data), 'to lan');
  assert.equal([...socket.received.at(-1)!.data.subarray(0, 2)], [0x40, 0x00]);
  // A Send indication to a refused peer is dropped as forbidden.
  c.send({ host: '10.2.0.1', port: 9 }, te.encode('x'));
  await settle();
  assert.is(h.turn.server.stats().drops.forbiddenPeer! >= 1, true);
  h.close();
  const open = await setup({ allowPrivatePeers: true, allowedPeerCidrs: ['10.1.0.0/16'] });
  const o = await open.client();
  await o.c.allocate();
  await o.c.createPermission({ host: '10.9.9.9', port: 9 }, { host: '127.0.0.1', port: 9 });
  open.close();
});

t('allowedPeerCidrs: IPv6 blocks, IPv4-mapped peers, invalid blocks throw', () => {
  const p = new PeerPolicy({ allowedPeerCidrs: ['fd00:1::/32', '10.0.0.0/8'] });
  assert.ok(p.allows('fd00:1:2::5'));
  assert.not.ok(p.allows('fd00:2::5'));
  assert.ok(p.allows('::ffff:10.3.4.5'));
  assert.not.ok(p.allows('::ffff:192.168.1.1'));
  assert.ok(p.allows('2a00:1450::1')); // public
  assert.not.ok(p.allows('::1'));
  assert.not.ok(p.allows('not an address'));
  assert.equal(parseCidr('10.0.0.0/8').prefix, 8);
  assert.equal(parseCidr('::1').prefix, 128);
  for (const bad of ['10.0.0.0/33', '10.0.0/8', 'fd00::/129', '10.0.0.0/', '/8', 'x/1', '10.0.0.0/-1']) {
    assert.throws(() => parseCidr(bad), /not a CIDR block/, bad);
  }
  assert.throws(
    () =>
      new TurnServer({
        env: { clock: new VirtualClock(), random: new SeededRandom(1), net: new MemNet(), log: silentLogger() },
        send: () => {},
        secret: 's',
        relayHost: '198.51.100.1',
        allowedPeerCidrs: ['10.0.0.0/40'],
      }),
    /not a CIDR block/,
  );
  // Permissive default: PeerPolicy without options refuses only restricted addresses.
  assert.ok(new PeerPolicy().allows('203.0.113.1'));
});

t('fuzz: parseCidr and PeerPolicy.allows never fail other than the documented way', () => {
  const p = new PeerPolicy({ allowedPeerCidrs: ['10.0.0.0/8', 'fc00::/7'] });
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.ipV4(), fc.ipV6(), fc.tuple(fc.ipV4(), fc.nat(40)).map(([a, n]) => `${a}/${n}`)), (s) => {
      assert.type(p.allows(s), 'boolean');
      try {
        const c = parseCidr(s);
        assert.ok(c.prefix >= 0 && c.prefix <= c.bytes.length * 8);
      } catch (err) {
        assert.match((err as Error).message, /not a CIDR block/);
      }
    }),
    { numRuns: 2000 },
  );
});

t.run();
