/**
 * The overlay as a running network on SimNet (VirtualClock, seeded): 5 supernodes and 50
 * leaves behind a mix of NATs; lookups and searches between every pair; a supernode
 * crash; election; joining from the host cache; the signal relay.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NAT_KINDS } from '../../src/net/sim.ts';
import { nameKey } from '../../src/overlay/presence-record.ts';
import { compareDistance, nodeIdFromHex } from '../../src/overlay/node-id.ts';
import { Identity } from '../../src/identity/identity.ts';
import type { OverlayEnvelope } from '../../src/overlay/overlay-node.ts';
import { OverlayWorld, PORT, type WorldNode } from './overlay-world.ts';

const s = suite('overlay cluster on SimNet');

s('5 supernodes + 50 leaves behind NATs: attach, lookup, search; a supernode crash loses no record and leaves re-attach', async () => {
  const w = new OverlayWorld(11);
  const sn = await w.supernodes(5);
  const seeds = [{ host: sn[0]!.ip, port: PORT }, { host: sn[1]!.ip, port: PORT }];
  const leaves: WorldNode[] = [];
  for (let i = 0; i < 50; i++) {
    const kind = i % 5 === 4 ? undefined : NAT_KINDS[i % 4]!;
    leaves.push(w.add({ name: `leaf-${String(i).padStart(2, '0')}`, seeds, nat: kind ? w.nat(kind) : undefined }));
  }
  await w.run(Promise.all(leaves.map((l) => l.node.start())));
  await w.advance(30_000);
  for (const l of leaves) {
    const snap = l.node.snapshot();
    assert.is(snap.supernodes.length, 3, `${l.name} has ${snap.supernodes.length} supernodes`);
    assert.ok(snap.published, `${l.name} published`);
  }
  // Every leaf finds every other by name (all 2,450 pairs).
  let found = 0;
  for (const a of leaves) {
    const results = await w.run(Promise.all(leaves.filter((b) => b !== a).map(async (b) => {
      const recs = await a.node.lookup(b.name!);
      return recs.length > 0 && recs[0]!.publicKey === b.identity.publicKeyHex;
    })));
    found += results.filter(Boolean).length;
  }
  assert.is(found, 50 * 49);
  // Partial-name search from every leaf.
  for (const a of leaves.slice(0, 50)) {
    const r = await w.run(a.node.searchNames('leaf-1'));
    assert.is(new Set(r.map((x) => x.name)).size, 10, `${a.name}: ${r.map((x) => x.name).join(',')}`);
  }

  // Crash supernode 2: its leaves' probes notice, and within 5 s of the crash each is
  // attached to 3 live supernodes again with its record republished naming them.
  const dead = sn[2]!;
  const users = leaves.filter((l) => l.node.snapshot().supernodes.some((x) => x.id === dead.node.id));
  assert.ok(users.length > 0);
  const crashAt = w.clock.now();
  const reattachMs = new Map<WorldNode, number>();
  for (const l of users) {
    l.node.on('published', (e) => {
      const now = l.node.snapshot().supernodes.map((x) => x.id);
      if (!reattachMs.has(l) && now.length === 3 && !e.supernodes.includes(dead.node.id) && now.every((id) => e.supernodes.includes(id))) {
        reattachMs.set(l, w.clock.now() - crashAt);
      }
    });
  }
  await w.run(w.crash(dead));
  await w.advance(40_000, 100);
  const figures = [...reattachMs.values()];
  assert.is(figures.length, users.length, `${figures.length} of ${users.length} re-attached and republished`);
  assert.ok(Math.max(...figures) <= 5000, `slowest re-attach ${Math.max(...figures)} ms after the crash`);
  for (const l of leaves) {
    const snap = l.node.snapshot();
    assert.is(snap.supernodes.length, 3);
    assert.ok(!snap.supernodes.some((x) => x.id === dead.node.id));
  }
  // No record is lost that a live supernode should hold: for each name key, the live
  // supernodes among the k=20 closest (here all of them) hold the leaf's record.
  const live = sn.filter((x) => x !== dead);
  for (const l of leaves) {
    const key = nameKey(l.name!);
    const holders = [...live].sort((a, b) => compareDistance(key, nodeIdFromHex(a.node.id), nodeIdFromHex(b.node.id))).slice(0, 20);
    for (const h of holders) {
      const recs = h.node.storedRecords(key);
      assert.ok(recs.some((r) => r.publicKey === l.identity.publicKeyHex), `${h.node.id.slice(0, 8)} lost ${l.name}`);
    }
  }
  await w.closeAll();
});

s('election: a public, well-provisioned auto node is promoted when supernodes are too few; a NATed one never', async () => {
  const w = new OverlayWorld(21);
  const [sn] = await w.supernodes(1);
  const seeds = [{ host: sn!.ip, port: PORT }];
  const fast = { electionMs: 10_000, election: { fullUptimeMs: 60_000 } };
  const pub = w.add({ role: 'auto', name: 'public', seeds, ...fast });
  const natted = w.add({ role: 'auto', name: 'natted', seeds, nat: w.nat('full-cone'), ...fast });
  const slow = w.add({ role: 'auto', name: 'slow', seeds, uplinkKbps: 200, ...fast });
  const roles: string[] = [];
  pub.node.on('role', (e) => roles.push(`${e.role}: ${e.reason}`));
  await w.run(Promise.all([pub, natted, slow].map((x) => x.node.start())));
  await w.advance(120_000);
  const p = pub.node.snapshot();
  assert.is(p.role, 'supernode', JSON.stringify(p));
  assert.match(p.roleReason, /too few supernodes/);
  assert.ok(p.score >= 75, String(p.score));
  assert.ok(roles.some((r) => r.startsWith('supernode')));
  const n = natted.node.snapshot();
  assert.is(n.role, 'leaf');
  assert.is(n.reachable, false);
  assert.is(n.score, 0);
  const sl = slow.node.snapshot();
  assert.is(sl.role, 'leaf', `slow uplink: score ${sl.score}`);
  // The new supernode serves: a newcomer can attach to it and look names up.
  const late = w.add({ role: 'never', name: 'late', seeds: [{ host: pub.ip, port: PORT }] });
  await w.run(late.node.start());
  await w.advance(5000);
  assert.ok(late.node.snapshot().supernodes.length >= 1);
  const r = await w.run(late.node.lookup('natted'));
  assert.is(r[0]?.publicKey, natted.identity.publicKeyHex);
  await w.closeAll();
});

s('demotion with hysteresis: a supernode over --max-sessions moves its leaves, then becomes a leaf', async () => {
  const w = new OverlayWorld(23);
  const sn = await w.supernodes(3);
  const seeds = [{ host: sn[0]!.ip, port: PORT }];
  const small = w.add({ role: 'auto', seeds, maxSessions: 2, electionMs: 10_000, powDifficulty: 4 });
  // Start as supernode in auto mode through a promotion-like path: make it always first.
  await w.run(small.node.start());
  await w.run((small.node as unknown as { promote(r: string): Promise<void> }).promote('test: forced'));
  const leaves = [0, 1, 2, 3, 4].map((i) => w.add({ name: `d${i}`, seeds: [{ host: small.ip, port: PORT }] }));
  await w.run(Promise.all(leaves.map((l) => l.node.start())));
  await w.advance(5000);
  assert.is(small.node.snapshot().role, 'supernode');
  await w.run(small.node.stepDown('asked to stop'));
  await w.advance(30_000);
  const snap = small.node.snapshot();
  assert.is(snap.role, 'leaf');
  assert.match(snap.roleReason, /asked to stop/);
  for (const l of leaves) {
    const sns = l.node.snapshot().supernodes;
    assert.ok(sns.length >= 1 && !sns.some((x) => x.id === small.node.id), `${l.name} moved`);
  }
  await w.closeAll();
});

s('shedding: a supernode above its shed mark (80% here) moves one leaf to a supernode it names; the leaf still remembers it', async () => {
  const w = new OverlayWorld(29);
  const sn = await w.supernodes(3);
  // The default mark is 100% (only leaves beyond a shrunken capacity move); 80 makes one leaf too many.
  const busy = w.add({ role: 'auto', seeds: [{ host: sn[0]!.ip, port: PORT }], maxSessions: 5, electionMs: 10_000, powDifficulty: 4, election: { shedAbovePct: 80 } });
  await w.run(busy.node.start());
  await w.run((busy.node as unknown as { promote(r: string): Promise<void> }).promote('test: forced'));
  await w.advance(5000);
  // Five one-attachment leaves that know only the busy supernode: 5 of 5 sessions, the mark is 4.
  const leaves = [0, 1, 2, 3, 4].map((i) => w.add({ name: `m${i}`, seeds: [{ host: busy.ip, port: PORT }], attachments: 1 }));
  for (const l of leaves) await w.run(l.node.start());
  // Several election rounds (10 s): one leaf moves, and only one (it stops counting at once).
  await w.advance(40_000);
  assert.is(busy.node.snapshot().role, 'supernode');
  assert.is(busy.node.snapshot().leaves, 4);
  const others = new Set(sn.map((x) => x.node.id));
  const moved = leaves.filter((l) => l.node.snapshot().supernodes.some((x) => others.has(x.id)));
  assert.is(moved.length, 1, 'one leaf moved');
  assert.match(moved[0]!.node.snapshot().lastDetach?.reason ?? '', /moved: full/);
  assert.ok(moved[0]!.node.hostCache.get(busy.node.id), 'the busy supernode is still in its host cache');
  await w.closeAll();
});

s('a node whose seeds are all gone joins from its host cache', async () => {
  const w = new OverlayWorld(31);
  const sn = await w.supernodes(4);
  const seed = sn[0]!;
  const identity = Identity.generate(w.random.fork());
  const first = w.add({ name: 'returning', identity, seeds: [{ host: seed.ip, port: PORT }] });
  await w.run(first.node.start());
  await w.advance(70_000); // maintenance: peer exchange fills the host cache
  const cache = first.node.hostCache;
  assert.ok(cache.size >= 3, `cache has ${cache.size}`);
  await w.run(first.node.close());
  await w.run(w.crash(seed));
  const again = w.add({ name: 'returning', identity, device: 'default', seeds: [{ host: seed.ip, port: PORT }], hostCache: cache });
  await w.run(again.node.start());
  await w.advance(5000);
  assert.ok(again.node.snapshot().supernodes.length >= 2, JSON.stringify(again.node.snapshot().supernodes));
  const other = w.add({ name: 'other', seeds: [{ host: sn[1]!.ip, port: PORT }] });
  await w.run(other.node.start());
  const r = await w.run(other.node.lookup('returning'));
  assert.is(r[0]?.publicKey, identity.publicKeyHex);
  await w.closeAll();
});

s('signal relay: leaf -> its supernode -> the callee\'s supernodes -> every device of the callee', async () => {
  const w = new OverlayWorld(41);
  const sn = await w.supernodes(3);
  const one = { attachments: 1 };
  const alice = w.add({ name: 'alice', seeds: [{ host: sn[0]!.ip, port: PORT }], nat: w.nat('symmetric'), ...one });
  const bob = Identity.generate(w.random.fork());
  const phone = w.add({ name: 'bob', identity: bob, device: 'phone', seeds: [{ host: sn[1]!.ip, port: PORT }], nat: w.nat('port-restricted'), ...one });
  const laptop = w.add({ name: 'bob', identity: bob, device: 'laptop', seeds: [{ host: sn[2]!.ip, port: PORT }], ...one });
  await w.run(alice.node.start());
  await w.run(phone.node.start());
  await w.run(laptop.node.start());
  assert.is(alice.node.snapshot().supernodes[0]!.id, sn[0]!.node.id);
  assert.is(phone.node.snapshot().supernodes[0]!.id, sn[1]!.node.id);
  assert.is(laptop.node.snapshot().supernodes[0]!.id, sn[2]!.node.id);
  const got: Record<string, OverlayEnvelope[]> = { phone: [], laptop: [], alice: [] };
  phone.node.signalTransport().onEnvelope((e) => got.phone!.push(e));
  laptop.node.signalTransport().onEnvelope((e) => got.laptop!.push(e));
  alice.node.signalTransport().onEnvelope((e) => got.alice!.push(e));
  const sealed = new Uint8Array(3000).map((_, i) => i & 0xff);
  await w.run(alice.node.signalTransport().send({ from: alice.identity.publicKeyHex, to: bob.publicKeyHex, callId: 'c1', fromDevice: 'default', sealed }));
  await w.advance(2000);
  assert.is(got.phone!.length, 1);
  assert.is(got.laptop!.length, 1);
  assert.equal(got.laptop![0]!.sealed, sealed);
  assert.is(got.phone![0]!.from, alice.identity.publicKeyHex);
  // A reply to one device, and a notice back to the caller.
  await w.run(phone.node.signalTransport().send({ from: bob.publicKeyHex, to: alice.identity.publicKeyHex, callId: 'c1', fromDevice: 'phone', toDevice: 'default', notice: 'tampered' }));
  await w.advance(2000);
  assert.is(got.alice!.length, 1);
  assert.is(got.alice![0]!.notice, 'tampered');
  // Targeted at one device only.
  await w.run(alice.node.signalTransport().send({ from: alice.identity.publicKeyHex, to: bob.publicKeyHex, callId: 'c2', toDevice: 'laptop', sealed }));
  await w.advance(2000);
  assert.is(got.laptop!.length, 2);
  assert.is(got.phone!.length, 1);
  // Unknown recipients are refused.
  const nobody = Identity.generate(w.random.fork());
  let err = '';
  await w.run(alice.node.signalTransport().send({ from: alice.identity.publicKeyHex, to: nobody.publicKeyHex, callId: 'c3', sealed }).catch((e) => (err = String(e))));
  assert.match(err, /not found/);
  await w.closeAll();
});

s.run();
