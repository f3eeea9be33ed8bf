import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { silentLogger } from '../../src/log.ts';
import { Identity } from '../../src/identity/identity.ts';
import { CallManager } from '../../src/call/call-manager.ts';
import type { SignalEnvelope } from '../../src/call/signal-transport.ts';
import { FakeMedia, Switchboard } from './call-fakes.ts';
import type { Call, CallSnapshot } from '../../src/call/call.ts';

const random = new SeededRandom(11);
const ids = { alice: Identity.generate(random), bob: Identity.generate(random), carol: Identity.generate(random) };

function setup() {
  FakeMedia.all = [];
  const clock = new VirtualClock();
  const board = new Switchboard(clock);
  const make = (who: keyof typeof ids, device = 'main', extra: object = {}) =>
    new CallManager(
      { clock, random, log: silentLogger(), identity: ids[who] },
      { transport: board.transport(ids[who].publicKeyHex, device), createMedia: () => new FakeMedia(`${who}-${device}`), device, ...extra },
    );
  return { clock, board, make };
}

function states(call: Call): string[] {
  const seen: string[] = [call.state];
  call.onChange((s: CallSnapshot) => seen.push(s.state + (s.reason ? `:${s.reason}` : '')));
  return seen;
}

const c = suite('call manager');

c('dial, ring, answer, talk, hang up', async () => {
  const { clock, make } = setup();
  const alice = make('alice');
  const bob = make('bob');
  let incoming: Call | undefined;
  bob.onIncoming((call) => (incoming = call));
  const call = alice.dial(ids.bob.publicKeyHex, 'bob');
  const seen = states(call);
  await clock.advance(50);
  assert.ok(incoming, 'bob rings');
  assert.is(incoming!.state, 'ringing');
  assert.is(call.state, 'ringing');
  await bob.accept(incoming!.id);
  await clock.advance(50);
  assert.is(call.state, 'active');
  assert.is(incoming!.state, 'active');
  assert.ok(FakeMedia.all.some((m) => m.log.includes('complete:sdp-answer-bob-main')), 'caller applied the sealed answer');
  alice.hangup(call.id);
  await clock.advance(50);
  assert.is(incoming!.snapshot().reason, 'hangup');
  assert.equal(seen, ['dialing', 'ringing', 'active', 'ended:hangup']);
  await alice.close();
  await bob.close();
});

c('declined, busy, ring timeout, unreachable', async () => {
  const { clock, make } = setup();
  const alice = make('alice');
  const bob = make('bob');
  const carol = make('carol');
  bob.onIncoming((call) => bob.decline(call.id));
  const declined = alice.dial(ids.bob.publicKeyHex);
  await clock.advance(100);
  assert.is(declined.snapshot().reason, 'declined');

  const bob2 = setup();
  const a2 = bob2.make('alice');
  const b2 = bob2.make('bob');
  const c2 = bob2.make('carol');
  b2.onIncoming((call) => void b2.accept(call.id));
  const first = c2.dial(ids.bob.publicKeyHex);
  await bob2.clock.advance(100);
  assert.is(first.state, 'active');
  const second = a2.dial(ids.bob.publicKeyHex);
  await bob2.clock.advance(100);
  assert.is(second.snapshot().reason, 'busy');

  const t = setup();
  const a3 = t.make('alice', 'main', { ringTimeoutMs: 5000 });
  const b3 = t.make('bob', 'main', { ringTimeoutMs: 5000 });
  let ringing: Call | undefined;
  b3.onIncoming((call) => (ringing = call));
  const unanswered = a3.dial(ids.bob.publicKeyHex);
  await t.clock.advance(6000);
  assert.is(unanswered.snapshot().reason, 'timeout');
  assert.is(ringing!.snapshot().reason, 'timeout');

  const nobody = alice.dial(ids.carol.publicKeyHex.replace(/^../, '00'));
  await clock.advance(100);
  assert.is(nobody.snapshot().reason, 'unreachable');
  void carol;
  for (const m of [alice, bob, carol, a2, b2, c2, a3, b3]) await m.close();
});

c('cancel while ringing stops the callee ringing', async () => {
  const { clock, make } = setup();
  const alice = make('alice');
  const bob = make('bob');
  let incoming: Call | undefined;
  bob.onIncoming((call) => (incoming = call));
  const call = alice.dial(ids.bob.publicKeyHex);
  await clock.advance(50);
  alice.hangup(call.id);
  await clock.advance(50);
  assert.is(incoming!.snapshot().reason, 'hangup');
  assert.match(incoming!.snapshot().detail!, /cancelled/);
  await alice.close();
  await bob.close();
});

c('call waiting: a second call rings instead of busy', async () => {
  const { clock, make } = setup();
  const alice = make('alice');
  const bob = make('bob', 'main', { callWaiting: true });
  const carol = make('carol');
  const rang: string[] = [];
  bob.onIncoming((call) => {
    rang.push(call.id);
    if (rang.length === 1) void bob.accept(call.id);
  });
  carol.dial(ids.bob.publicKeyHex);
  await clock.advance(100);
  const second = alice.dial(ids.bob.publicKeyHex);
  await clock.advance(100);
  assert.is(rang.length, 2);
  assert.is(second.state, 'ringing');
  for (const m of [alice, bob, carol]) await m.close();
});

c('a service with call waiting takes call after call: ended calls (kept 30 s for views) do not make it busy', async () => {
  const { clock, make } = setup();
  const alice = make('alice');
  const echo = make('bob', 'main', { callWaiting: true });
  echo.onIncoming((call) => void echo.accept(call.id));
  const reasons: string[] = [];
  for (let i = 0; i < 12; i++) {
    const call = alice.dial(ids.bob.publicKeyHex);
    await clock.advance(100);
    assert.is(call.state, 'active', `call ${i + 1}: ${call.snapshot().reason ?? ''}`);
    alice.hangup(call.id);
    await clock.advance(100);
    reasons.push(call.snapshot().reason ?? '');
  }
  assert.equal(new Set(reasons), new Set(['hangup']));
  for (const m of [alice, echo]) await m.close();
});

c('glare: both dial each other at once and end up in one call', async () => {
  const { clock, make } = setup();
  const alice = make('alice');
  const bob = make('bob');
  const a = alice.dial(ids.bob.publicKeyHex);
  const b = bob.dial(ids.alice.publicKeyHex);
  await clock.advance(200);
  const aliceActive = alice.calls().filter((s) => s.state === 'active');
  const bobActive = bob.calls().filter((s) => s.state === 'active');
  assert.is(aliceActive.length, 1);
  assert.is(bobActive.length, 1);
  assert.is(aliceActive[0]!.callId, bobActive[0]!.callId);
  const loser = [a, b].find((x) => x.ended)!;
  assert.match(loser.snapshot().detail!, /glare/);
  await alice.close();
  await bob.close();
});

c('several devices ring; the first to answer wins, the others stop ringing', async () => {
  const { clock, make } = setup();
  const alice = make('alice');
  const phone = make('bob', 'phone');
  const laptop = make('bob', 'laptop');
  const incoming: Record<string, Call> = {};
  phone.onIncoming((call) => (incoming.phone = call));
  laptop.onIncoming((call) => (incoming.laptop = call));
  const call = alice.dial(ids.bob.publicKeyHex);
  await clock.advance(50);
  assert.ok(incoming.phone && incoming.laptop, 'both devices ring');
  await laptop.accept(incoming.laptop!.id);
  await clock.advance(100);
  assert.is(call.state, 'active');
  assert.is(incoming.laptop!.state, 'active');
  assert.is(incoming.phone!.snapshot().reason, 'hangup');
  assert.match(incoming.phone!.snapshot().detail!, /another device/);
  for (const m of [alice, phone, laptop]) await m.close();
});

c('a supernode that alters the sealed offer makes the call fail as tampered', async () => {
  const { clock, board, make } = setup();
  const alice = make('alice');
  const bob = make('bob');
  let rang = false;
  bob.onIncoming(() => (rang = true));
  board.tamper = (e) => {
    if (!e.sealed || e.from !== ids.alice.publicKeyHex) return e;
    const sealed = e.sealed.slice();
    sealed[sealed.length - 20]! ^= 0x04;
    return { ...e, sealed };
  };
  const call = alice.dial(ids.bob.publicKeyHex);
  await clock.advance(200);
  assert.not.ok(rang, 'the callee never rings for a tampered offer');
  assert.is(call.snapshot().reason, 'failed');
  assert.match(call.snapshot().detail!, /^tampered/);
  assert.is(bob.refused.tampered, 1);
  await alice.close();
  await bob.close();
});

c('an altered answer is refused and the caller fails as tampered', async () => {
  const { clock, board, make } = setup();
  const alice = make('alice');
  const bob = make('bob');
  bob.onIncoming((call) => void bob.accept(call.id));
  board.tamper = (e) => {
    if (!e.sealed || e.from !== ids.bob.publicKeyHex) return e;
    const sealed = e.sealed.slice();
    sealed[60]! ^= 0x01;
    return { ...e, sealed };
  };
  const call = alice.dial(ids.bob.publicKeyHex);
  await clock.advance(200);
  assert.is(call.snapshot().reason, 'failed');
  assert.match(call.snapshot().detail!, /^tampered/);
  assert.not.ok(FakeMedia.all.some((m) => m.owner === 'alice-main' && m.log.some((l) => l.startsWith('complete:'))), 'never connected media to the wrong key');
  await alice.close();
  await bob.close();
});

c('hold and resume show on both sides; a dead path triggers an ICE restart', async () => {
  const { clock, make } = setup();
  const alice = make('alice');
  const bob = make('bob');
  let incoming: Call | undefined;
  bob.onIncoming((call) => {
    incoming = call;
    void bob.accept(call.id);
  });
  const call = alice.dial(ids.bob.publicKeyHex);
  await clock.advance(100);
  alice.hold(call.id);
  await clock.advance(50);
  assert.is(incoming!.state, 'on-hold');
  alice.resume(call.id);
  await clock.advance(50);
  assert.is(incoming!.state, 'active');
  const aliceMedia = alice.media(call.id) as FakeMedia;
  const bobMedia = bob.media(call.id) as FakeMedia;
  aliceMedia.deadHandler!();
  await clock.advance(100);
  assert.ok(aliceMedia.log.includes('restart-offer'));
  assert.ok(bobMedia.log.includes('answer:sdp-offer-alice-main-restart'));
  assert.ok(aliceMedia.log.includes('complete:sdp-answer-bob-main'));
  assert.is(call.state, 'active');
  // A restart that did not bring the path back is tried again, and only while it stays dead.
  const restarts = () => aliceMedia.log.filter((l) => l === 'restart-offer').length;
  aliceMedia.pathDead = true;
  aliceMedia.deadHandler!();
  await clock.advance(100);
  assert.is(restarts(), 2);
  await clock.advance(4000);
  assert.is(restarts(), 3, 'still dead after 4 s: again');
  aliceMedia.pathDead = false;
  await clock.advance(8000);
  assert.is(restarts(), 3, 'the path came back: no more');
  await alice.close();
  await bob.close();
  assert.ok(aliceMedia.closed && bobMedia.closed, 'closing the manager closes media');
});

c("the callee's dead path asks the caller to restart (its relay may be the one that died)", async () => {
  const { clock, make } = setup();
  const alice = make('alice');
  const bob = make('bob');
  bob.onIncoming((call) => void bob.accept(call.id));
  const call = alice.dial(ids.bob.publicKeyHex);
  await clock.advance(100);
  assert.is(call.state, 'active');
  const aliceMedia = alice.media(call.id) as FakeMedia;
  const bobMedia = bob.media(call.id) as FakeMedia;
  const restarts = () => aliceMedia.log.filter((l) => l === 'restart-offer').length;
  // Only the callee hears nothing: the caller still hears the callee.
  bobMedia.pathDead = true;
  bobMedia.deadHandler!();
  await clock.advance(100);
  assert.is(restarts(), 1, 'the caller restarted on request');
  assert.ok(bobMedia.log.includes('answer:sdp-offer-alice-main-restart'));
  assert.not.ok(bobMedia.log.includes('restart-offer'), 'the callee never offers');
  // Still dead: the callee asks again after the retry period, not before.
  await clock.advance(3000);
  assert.is(restarts(), 1);
  await clock.advance(1000);
  assert.is(restarts(), 2, 'asked again after 4 s');
  bobMedia.pathDead = false;
  await clock.advance(10_000);
  assert.is(restarts(), 2, 'the path came back: no more');
  assert.is(call.state, 'active');
  // Requests in a burst (a confused or hostile callee) restart at most once per 2 s.
  bobMedia.pathDead = true;
  for (let i = 0; i < 5; i++) {
    bobMedia.deadHandler!();
    await clock.advance(10);
  }
  assert.is(restarts(), 3);
  await alice.close();
  await bob.close();
});

c('replayed and stale signals are refused', async () => {
  const { clock, board, make } = setup();
  const alice = make('alice');
  const bob = make('bob');
  const captured: SignalEnvelope[] = [];
  board.tamper = (e) => {
    captured.push(e);
    return e;
  };
  let rings = 0;
  bob.onIncoming(() => rings++);
  const call = alice.dial(ids.bob.publicKeyHex);
  await clock.advance(50);
  alice.hangup(call.id);
  await clock.advance(50);
  const offer = captured.find((e) => e.from === ids.alice.publicKeyHex)!;
  board.tamper = undefined;
  await board.transport(ids.alice.publicKeyHex, 'x').send(offer);
  await clock.advance(50);
  assert.is(rings, 1);
  assert.is(bob.refused.duplicate, 1);
  await clock.advance(200_000);
  await board.transport(ids.alice.publicKeyHex, 'x').send({ ...offer, callId: offer.callId });
  await clock.advance(50);
  assert.ok((bob.refused.stale ?? 0) + (bob.refused.duplicate ?? 0) >= 2);
  await alice.close();
  await bob.close();
});

c.run();
