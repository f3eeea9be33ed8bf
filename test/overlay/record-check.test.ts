/**
 * Record checks (record-check.ts): the hold list, the own-record test, and an OverlayNode
 * leaf on SimNet that drops the supernode that cannot find its record and finds the name
 * through another.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HoldList, holdsOwnRecord, RECORD_CHECK_DELAY_MS } from '../../src/overlay/record-check.ts';
import type { PresenceRecord } from '../../src/overlay/presence-record.ts';
import { OverlayWorld, PORT, type WorldNode } from './overlay-world.ts';

const s = suite('record checks');

const rec = (nodeId: string, seq: number) => ({ nodeId, seq }) as PresenceRecord;

s('holdsOwnRecord: our record at that seq or newer, not an older one or someone else\'s', () => {
  assert.ok(holdsOwnRecord([rec('b', 9), rec('a', 5)], 'a', 5));
  assert.ok(holdsOwnRecord([rec('a', 7)], 'a', 5), 'a newer one (another device of ours) counts');
  assert.not.ok(holdsOwnRecord([rec('a', 4)], 'a', 5), 'an older one is a replay');
  assert.not.ok(holdsOwnRecord([rec('b', 5)], 'a', 5));
  assert.not.ok(holdsOwnRecord([], 'a', 5));
});

s('HoldList: holds until the time given, extends but never shortens, and drops the hold that ends first when full', () => {
  const h = new HoldList<string>(2);
  h.hold('a', 100);
  assert.ok(h.isHeld('a', 99));
  assert.not.ok(h.isHeld('a', 100), 'over at its time');
  assert.is(h.size, 0, 'an ended hold is forgotten when asked about');
  h.hold('a', 100);
  h.hold('a', 50);
  assert.ok(h.isHeld('a', 60), 'an earlier time does not shorten a hold');
  h.hold('a', 300);
  assert.ok(h.isHeld('a', 200), 'a later time extends it');
  h.hold('b', 150);
  h.hold('c', 400);
  assert.is(h.size, 2);
  assert.not.ok(h.isHeld('b', 0), 'full: the hold ending first (b) went');
  assert.ok(h.isHeld('a', 0) && h.isHeld('c', 0));
});

/** Three honest supernodes and one that takes records but answers every lookup with nothing. */
async function honestAndDropper(w: OverlayWorld): Promise<{ honest: WorldNode[]; dropper: WorldNode }> {
  const honest = await w.supernodes(3);
  const dropper = w.add({ role: 'always', seeds: [{ host: honest[0]!.ip, port: PORT }] });
  await w.run(dropper.node.start());
  (dropper.node as unknown as { dht: { findRecords: () => Promise<unknown> } }).dht.findRecords = () => Promise.resolve({ records: [], hops: 0, rpcs: 0 });
  return { honest, dropper };
}

s('a leaf whose supernode drops lookups: the miss makes it check, it drops that supernode (held out), and finds the name through another', async () => {
  const w = new OverlayWorld(41);
  const { honest, dropper } = await honestAndDropper(w);

  const bob = w.add({ name: 'bob', seeds: [{ host: honest[1]!.ip, port: PORT }] });
  await w.run(bob.node.start());
  // Alice knows only the dropper and keeps one supernode: it is hers.
  const alice = w.add({ name: 'alice', seeds: [{ host: dropper.ip, port: PORT }], attachments: 1 });
  await w.run(alice.node.start());
  await w.advance(5000);
  assert.equal(alice.node.snapshot().supernodes.map((x) => x.id), [dropper.node.id]);
  assert.ok(alice.node.snapshot().published, 'alice published through it');

  const found = await w.run(alice.node.lookup('bob'));
  assert.is(found[0]?.publicKey, bob.identity.publicKeyHex, 'found through the replacement');
  const snap = alice.node.snapshot();
  assert.is(snap.counters.supernodesDistrusted, 1);
  assert.is(snap.supernodes.length, 1);
  assert.ok(honest.some((h) => h.node.id === snap.supernodes[0]!.id), 'attached to an honest supernode');
  assert.match(snap.lastDetach?.reason ?? '', /cannot find our own record/);

  // A miss through an honest supernode (no such name) verifies it: nothing is dropped.
  const now = snap.supernodes[0]!.id;
  assert.equal(await w.run(alice.node.lookup('nobody')), []);
  assert.is(alice.node.snapshot().counters.supernodesDistrusted, 1);
  assert.equal(alice.node.snapshot().supernodes.map((x) => x.id), [now]);

  // A record just published gives no verdict yet (its stores may still be landing).
  const carol = w.add({ name: 'carol', seeds: [{ host: dropper.ip, port: PORT }], attachments: 1 });
  await w.run(carol.node.start());
  await w.run(carol.node.publish());
  assert.equal(await w.run(carol.node.lookup('bob')), [], 'through the dropper alone, at once');
  assert.is(carol.node.snapshot().counters.supernodesDistrusted, 0, 'no verdict on a record younger than the check delay');
  await w.advance(RECORD_CHECK_DELAY_MS);
  assert.is((await w.run(carol.node.lookup('bob')))[0]?.publicKey, bob.identity.publicKeyHex, 'once it is older, the check drops the dropper');
  assert.is(carol.node.snapshot().counters.supernodesDistrusted, 1);

  // The dropper stays out of her candidates, even when it is the only supernode left
  // (and well after the short hold of a supernode found dead).
  await w.advance(20_000);
  for (const h of honest) await w.run(w.crash(h));
  await w.advance(60_000);
  assert.equal(alice.node.snapshot().supernodes, [], 'not attached to the dropper');
  await w.closeAll();
});

s('a leaf that looks nobody up is checked when it republishes: its own key\'s lookup (the devices check) comes back empty', async () => {
  const w = new OverlayWorld(43);
  const { honest, dropper } = await honestAndDropper(w);
  const dave = w.add({ name: 'dave', seeds: [{ host: dropper.ip, port: PORT }], attachments: 1 });
  await w.run(dave.node.start());
  await w.advance(5000);
  assert.equal(dave.node.snapshot().supernodes.map((x) => x.id), [dropper.node.id]);
  // Past the 10 minutes within which a republish skips the devices lookup.
  await w.advance(11 * 60_000);
  assert.is(dave.node.snapshot().counters.supernodesDistrusted, 0, 'no lookup yet, no check');
  await w.run(dave.node.publish());
  await w.advance(5000);
  const snap = dave.node.snapshot();
  assert.is(snap.counters.supernodesDistrusted, 1);
  assert.ok(snap.supernodes.length === 1 && snap.supernodes[0]!.id !== dropper.node.id, 'moved to an honest supernode');
  const other = w.add({ name: 'erin', seeds: [{ host: honest[1]!.ip, port: PORT }] });
  await w.run(other.node.start());
  assert.is((await w.run(other.node.lookup('dave')))[0]?.publicKey, dave.identity.publicKeyHex);
  await w.closeAll();
});

s.run();
