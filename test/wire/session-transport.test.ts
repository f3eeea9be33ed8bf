import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makePair, makeNode, settle, utf8 } from './session-harness.ts';
import type { Session } from '../../src/wire/session.ts';
import { PACKET_DATA, PACKET_INIT, INIT_LEN } from '../../src/wire/session/packets.ts';
import { REPLAY_WINDOW } from '../../src/wire/session/replay-window.ts';
import { FragmentedChannel } from '../../src/wire/fragment-channel.ts';
import { CookieJar } from '../../src/wire/session/cookie-jar.ts';
import { SeededRandom } from '../../src/random.ts';

async function connected(seed: number, pipeOptions = {}, options = {}) {
  const env = makePair(seed, pipeOptions, options);
  const r = await settle(env.clock, env.a.manager.connect(env.b.address, env.b.nodeId));
  if (!r.ok) throw r.error;
  const sa: Session = r.value;
  const sb = env.b.manager.get(env.a.nodeId)!;
  const close = () => {
    env.a.manager.close();
    env.b.manager.close();
  };
  return { ...env, sa, sb, close };
}

const tr = suite('session: transport');

tr('duplicates, replays and too-old packets are dropped and counted; reordered ones delivered', async () => {
  const { clock, pipe, a, b, sa, close } = await connected(11);
  const captured: Uint8Array[] = [];
  pipe.onDeliver = (d, _from, to) => {
    if (d[0] === PACKET_DATA && to.port === 2000) captured.push(d.slice());
  };
  for (let i = 0; i < 5; i++) sa.send(utf8(`m${i}`));
  await clock.advance(50);
  assert.equal(b.inbox.map((m) => m.text), ['m0', 'm1', 'm2', 'm3', 'm4']);
  // replay all five: nothing new is delivered
  for (const d of captured) b.manager.receive(d, a.address);
  assert.is(b.inbox.length, 5);
  assert.is(b.manager.stats().dropped.duplicate, 5);
  // hold back packets and deliver them in reverse order: all arrive exactly once
  pipe.onDeliver = undefined;
  const held: Uint8Array[] = [];
  pipe.tamper = (d, _f, to) => {
    if (d[0] === PACKET_DATA && to.port === 2000) {
      held.push(d);
      return undefined;
    }
    return d;
  };
  for (let i = 0; i < 10; i++) sa.send(utf8(`r${i}`));
  await clock.advance(50);
  for (const d of [...held].reverse()) b.manager.receive(d, a.address);
  assert.equal(b.inbox.slice(5).map((m) => m.text), ['r9', 'r8', 'r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
  // a packet older than the window is refused even though never seen
  held.length = 0;
  sa.send(utf8('ancient'));
  const ancient = held[0]!;
  pipe.tamper = undefined;
  for (let i = 0; i < REPLAY_WINDOW + 10; i++) sa.send(utf8('x'));
  await clock.advance(50);
  const before = b.inbox.length;
  b.manager.receive(ancient, a.address);
  assert.is(b.inbox.length, before);
  assert.is(b.manager.stats().dropped.tooOld, 1);
  close();
});

tr('a packet altered in flight (any byte) is dropped as unauthenticated and never moves the session', async () => {
  const { clock, pipe, a, b, sa, sb, close } = await connected(12);
  const captured: Uint8Array[] = [];
  pipe.onDeliver = (d, _f, to) => {
    if (d[0] === PACKET_DATA && to.port === 2000) captured.push(d.slice());
  };
  sa.send(utf8('payload under test'));
  await clock.advance(50);
  pipe.onDeliver = undefined;
  const pkt = captured[0]!;
  let rejected = 0;
  for (let i = 1; i < pkt.length; i++) {
    const bad = pkt.slice();
    bad[i]! ^= 0x01;
    b.manager.receive(bad, { host: '192.0.2.66', port: 6666 });
    rejected++;
  }
  const d = b.manager.stats().dropped;
  assert.is(b.inbox.length, 1);
  assert.is(d.authFailed + d.unknownIndex + d.duplicate + d.malformed + d.tooOld, rejected);
  assert.equal(sb.address, a.address, 'forged packets do not redirect the session');
  close();
});

tr('rekey under traffic: keys rotate every N messages without losing any', async () => {
  const { clock, a, b, sa, sb, close } = await connected(13, { jitterMs: 30 }, { rekeyAfterMessages: 100 });
  for (let i = 0; i < 2000; i++) {
    sa.send(utf8(`a${i}`));
    sb.send(utf8(`b${i}`));
    if (i % 20 === 0) await clock.advance(5);
  }
  await clock.advance(1000);
  assert.is(b.inbox.length, 2000);
  assert.is(a.inbox.length, 2000);
  assert.is(new Set(b.inbox.map((m) => m.text)).size, 2000);
  assert.is(new Set(a.inbox.map((m) => m.text)).size, 2000);
  const rekeys = a.manager.stats().rekeys + b.manager.stats().rekeys;
  assert.ok(rekeys >= 10, `rekeys: ${rekeys}`);
  assert.ok(sa.stats().keypairs <= 3 && sb.stats().keypairs <= 3, 'bounded keypairs');
  assert.is(a.manager.stats().dropped.authFailed + b.manager.stats().dropped.authFailed, 0);
  close();
});

tr('rekey by time keeps a long session alive past the key lifetime', async () => {
  const opts = { rekeyAfterMs: 10_000, rekeyResponderDelayMs: 2_000, rejectAfterMs: 20_000, idleTimeoutMs: 30_000 };
  const { clock, a, b, sa, sb, close } = await connected(14, { jitterMs: 10 }, opts);
  for (let t = 0; t < 100; t++) {
    sa.send(utf8(`a${t}`));
    sb.send(utf8(`b${t}`));
    await clock.advance(1000);
  }
  assert.is(b.inbox.length, 100);
  assert.is(a.inbox.length, 100);
  assert.ok(!sa.isClosed && !sb.isClosed);
  assert.ok(a.manager.stats().rekeys + b.manager.stats().rekeys >= 8);
  close();
});

tr('roaming: an authenticated packet from a new address moves the session, no new handshake', async () => {
  const { clock, pipe, a, b, sa, sb, close } = await connected(15);
  const oldAddress = a.address;
  const captured: Uint8Array[] = [];
  pipe.onDeliver = (d, _f, to) => {
    if (d[0] === PACKET_DATA && to.port === 2000) captured.push(d.slice());
  };
  sa.send(utf8('before'));
  await clock.advance(50);
  a.moveTo({ host: '198.51.100.20', port: 40000 }); // NAT rebinding
  sa.send(utf8('after'));
  await clock.advance(50);
  assert.equal(sb.address, { host: '198.51.100.20', port: 40000 });
  sb.send(utf8('reply'));
  await clock.advance(50);
  assert.equal(a.inbox.map((m) => m.text), ['reply']);
  assert.is(b.manager.stats().roams, 1);
  assert.is(b.manager.stats().handshakesCompleted, 1);
  // replaying an old packet from the old address does not move it back
  b.manager.receive(captured[0]!, oldAddress);
  assert.equal(sb.address, { host: '198.51.100.20', port: 40000 });
  close();
});

tr('idle sessions expire and free their state', async () => {
  const { clock, a, b, sa, close } = await connected(16, {}, { idleTimeoutMs: 30_000 });
  const reasons: string[] = [];
  sa.onClose((r) => reasons.push(r));
  await clock.advance(31_000);
  assert.equal(reasons, ['idle']);
  assert.is(a.manager.sessions().length, 0);
  assert.is(b.manager.sessions().length, 0);
  await clock.advance(1000);
  assert.is(clock.pending, 0, 'managers without sessions hold no timers');
  // a fresh connect works afterwards
  const r = await settle(clock, a.manager.connect(b.address, b.nodeId));
  assert.ok(r.ok && r.value !== sa);
  close();
});

tr('one-way traffic keeps both sides alive (passive keepalives), without keepalive ping-pong once it stops', async () => {
  const { clock, a, b, sa, sb, close } = await connected(18, {}, { idleTimeoutMs: 30_000, passiveKeepaliveMs: 5_000 });
  for (let t = 0; t < 120; t++) {
    sa.send(utf8(`a${t}`));
    await clock.advance(1000);
  }
  assert.is(b.inbox.length, 120);
  assert.ok(!sa.isClosed && !sb.isClosed, 'the sender heard keepalives');
  assert.is(a.inbox.length, 0, 'keepalives are not delivered');
  await clock.advance(40_000);
  assert.ok(sa.isClosed && sb.isClosed, 'both expire once traffic stops');
  close();
});

tr('a session is the wire layer\'s MessageChannel: 64 KiB messages through FragmentedChannel; close cascades', async () => {
  const { clock, sa, sb, close } = await connected(19, { jitterMs: 20 });
  const up = new FragmentedChannel(sa.channel(), { clock });
  const down = new FragmentedChannel(sb.channel(), { clock });
  const got: Uint8Array[] = [];
  down.onMessage((m) => got.push(m));
  const big = new Uint8Array(65_536).map((_, i) => (i * 31) & 0xff);
  up.send(big);
  await clock.advance(200);
  assert.is(got.length, 1);
  assert.equal(got[0], big);
  const reasons: string[] = [];
  up.onClose?.((r) => reasons.push(r));
  sa.close('closed');
  assert.is(reasons.length, 1);
  sa.channel().send(new Uint8Array(1)); // a no-op on a closed session, as the channel contract asks
  close();
});

tr('simultaneous open: both connect at once; the crossed keypairs keep working after a long quiet spell', async () => {
  const { clock, a, b, close } = makePair(20, { jitterMs: 5 });
  const pa = settle(clock, a.manager.connect(b.address, b.nodeId));
  const pb = settle(clock, b.manager.connect(a.address, a.nodeId));
  const [ra, rb] = await Promise.all([pa, pb]);
  assert.ok(ra.ok && rb.ok);
  const sa = a.manager.get(b.nodeId)!;
  const sb = b.manager.get(a.nodeId)!;
  assert.is(a.manager.sessions().length, 1);
  for (let round = 0; round < 3; round++) {
    sa.send(utf8(`a${round}`));
    sb.send(utf8(`b${round}`));
    await clock.advance(60_000); // quiet, longer than retired keys are kept
  }
  assert.equal(b.inbox.map((m) => m.text), ['a0', 'a1', 'a2']);
  assert.equal(a.inbox.map((m) => m.text), ['b0', 'b1', 'b2']);
  close();
});

tr('a peer that restarts (new handshake, same identity, new static key) gets a fresh session; the old one closes', async () => {
  const { clock, pipe, a, b, sb, close } = await connected(17);
  a.manager.close();
  const a2 = makeNode(pipe, 3, { host: '10.0.0.3', port: 3000 }, {}, a.identity);
  const r = await settle(clock, a2.manager.connect(b.address, b.nodeId));
  assert.ok(r.ok);
  const fresh = b.manager.get(a.nodeId)!;
  assert.ok(fresh !== sb && !fresh.isClosed, 'a new session object');
  assert.ok(sb.isClosed);
  assert.is(sb.closeReason, 'peer restarted');
  assert.is(b.manager.stats().restarts, 1);
  fresh.send(utf8('welcome back'));
  await clock.advance(50);
  assert.equal(a2.inbox.map((m) => m.text), ['welcome back']);
  a2.manager.close();
  close();
});
tr.run();

const bounds = suite('session: bounded state');

function fakeInit(i: number): Uint8Array {
  const p = new Uint8Array(INIT_LEN);
  p[0] = PACKET_INIT;
  p[1] = i & 0xff;
  p[2] = i >> 8;
  p[5] = 9; // a valid-looking X25519 public key
  p[6] = i & 0xff;
  p[7] = i >> 8;
  return p;
}

bounds('handshake initiations are rate limited per source', async () => {
  const { clock, b, close } = makePair(21, {}, { handshakeBurst: 5, handshakesPerSecond: 1 });
  for (let i = 0; i < 20; i++) b.manager.receive(fakeInit(i), { host: '192.0.2.1', port: 5000 + i });
  assert.is(b.manager.stats().dropped.rateLimited, 15);
  assert.is(b.manager.stats().pendingHandshakes, 5);
  await clock.advance(3000); // the bucket refills at 1/s
  for (let i = 20; i < 30; i++) b.manager.receive(fakeInit(i), { host: '192.0.2.1', port: 5000 + i });
  assert.is(b.manager.stats().pendingHandshakes, 8);
  await clock.advance(11_000);
  assert.is(b.manager.stats().pendingHandshakes, 0, 'half-open handshakes expire');
  close();
});

bounds('under a spoofed flood, INITs need a cookie: the flood gets 21-byte COOKIEs, real peers still connect', async () => {
  const { clock, pipe, a, b, close } = makePair(22, {}, { maxPendingHandshakes: 16, cookieThreshold: 4 });
  const sentBack: number[] = [];
  pipe.onDeliver = (d, from) => {
    if (from.port === 2000) sentBack.push(d.length);
  };
  // spoofed sources: nobody is there to receive the COOKIE
  for (let i = 0; i < 500; i++) b.manager.receive(fakeInit(i), { host: `192.0.2.${i % 250}`, port: 1000 + i });
  let s = b.manager.stats();
  assert.is(s.pendingHandshakes, 4, 'the flood holds only what arrived before the threshold');
  assert.is(s.cookiesSent, 496);
  const r = await settle(clock, a.manager.connect(b.address, b.nodeId));
  assert.ok(r.ok, 'a real initiator proves its address and gets through');
  s = b.manager.stats();
  assert.is(s.cookiesSent, 497);
  assert.is(s.pendingHandshakes, 4);
  assert.is(a.manager.stats().handshakeRetransmits >= 1, true);
  // forged COOKIEs cannot make an initiator resend more than once per handshake
  const p = a.manager.connect({ host: '10.9.9.9', port: 9 }, b.nodeId.replace(/^./, (ch) => (ch === '0' ? '1' : '0')));
  p.catch(() => {});
  await clock.advance(1);
  const before = a.manager.stats().datagramsOut;
  const idx = [...(a.manager as unknown as { byIndex: Map<number, unknown> }).byIndex.keys()].at(-1)!;
  for (let i = 0; i < 50; i++) {
    const cookie = new Uint8Array(21);
    cookie[0] = 0xe4;
    new DataView(cookie.buffer).setUint32(1, idx, true);
    cookie[5] = i;
    a.manager.receive(cookie, { host: '192.0.2.99', port: 1 });
  }
  assert.is(a.manager.stats().datagramsOut - before, 1);
  close();
});

bounds('cookies are bound to the source address', () => {
  const random = new SeededRandom(5);
  const jar = new CookieJar((n) => random.bytes(n));
  const e = new Uint8Array(32).fill(3);
  const now = 1_700_000_000_000;
  const c = jar.make(now, { host: '192.0.2.1', port: 1 }, 7, e);
  assert.ok(jar.check(now, c, { host: '192.0.2.1', port: 1 }, 7, e));
  assert.not.ok(jar.check(now, c, { host: '192.0.2.2', port: 1 }, 7, e));
  assert.not.ok(jar.check(now, c, { host: '192.0.2.1', port: 2 }, 7, e));
  assert.not.ok(jar.check(now, c, { host: '192.0.2.1', port: 1 }, 8, e));
  assert.not.ok(jar.check(now, c, { host: '192.0.2.1', port: 1 }, 7, new Uint8Array(32)));
  assert.not.ok(jar.check(now, new Uint8Array(16), { host: '192.0.2.1', port: 1 }, 7, e));
  assert.ok(jar.check(now + 130_000, c, { host: '192.0.2.1', port: 1 }, 7, e), 'previous secret still accepted');
  assert.not.ok(jar.check(now + 250_000, c, { host: '192.0.2.1', port: 1 }, 7, e), 'expired after two periods');
});

bounds('the session table is capped', async () => {
  const { clock, pipe, a, b, close } = makePair(22, {}, { maxSessions: 1, handshakeTimeoutMs: 2000 });
  const c = makeNode(pipe, 23, { host: '10.0.0.3', port: 3000 });
  assert.ok((await settle(clock, a.manager.connect(b.address, b.nodeId))).ok);
  const r = await settle(clock, c.manager.connect(b.address, b.nodeId));
  assert.not.ok(r.ok);
  assert.ok(b.manager.stats().dropped.busy >= 1);
  assert.is(b.manager.sessions().length, 1);
  c.manager.close();
  close();
});
bounds.run();
