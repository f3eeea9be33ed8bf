/**
 * OverlayNode on SimNet: supernodes form the DHT, leaves attach, publish, look up and
 * search, signal envelopes cross supernodes; a crashed supernode is replaced within 5 s;
 * an idle leaf's traffic.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { nameKey } from '../../src/overlay/presence-record.ts';
import { OverlayWorld, PORT, type WorldNode } from './overlay-world.ts';

const s = suite('overlay node: small world on SimNet');

/** Supernodes in `always` mode, one per `--max-sessions` value, the first the others' seed; started. */
async function alwaysSupernodes(w: OverlayWorld, maxSessions: number[]): Promise<WorldNode[]> {
  const first = w.add({ role: 'always', maxSessions: maxSessions[0]! });
  const seeds = [{ host: first.ip, port: PORT }];
  const sn = [first, ...maxSessions.slice(1).map((m) => w.add({ role: 'always', seeds, maxSessions: m }))];
  await w.run(first.node.start());
  await w.run(Promise.all(sn.slice(1).map((x) => x.node.start())).then(() => undefined), 60_000);
  return sn;
}

s('3 supernodes + 4 leaves: attach, publish, lookup, search', async () => {
  const w = new OverlayWorld(3);
  const first = w.add({ role: 'always' });
  const seeds = [{ host: first.ip, port: PORT }];
  const sn = [first, w.add({ role: 'always', seeds }), w.add({ role: 'always', seeds })];
  await w.run(first.node.start());
  await w.run(Promise.all(sn.slice(1).map((x) => x.node.start())).then(() => undefined), 60_000);
  const leaves = [0, 1, 2, 3].map((i) => w.add({ name: `user${i}`, seeds, nat: i % 2 ? w.nat('port-restricted') : undefined }));
  for (const l of leaves) await w.run(l.node.start());
  await w.advance(5000);
  for (const l of leaves) {
    const snap = l.node.snapshot();
    assert.is(snap.supernodes.length, 3, `leaf attached to ${snap.supernodes.length}`);
    assert.ok(snap.published, 'published');
  }
  const recs = await w.run(leaves[0]!.node.lookup('user3'));
  assert.is(recs.length, 1);
  assert.is(recs[0]!.publicKey, leaves[3]!.identity.publicKeyHex);
  // Hop counts: every supernode holds every record here (k = 20 > 3), so a supernode's
  // lookup takes 0 hops and a leaf's takes 1 (its request to its supernode).
  const detailed = await w.run(leaves[0]!.node.lookupDetailed('user3'));
  assert.equal(detailed, { records: recs, hops: 1 });
  const bySupernode = await w.run(sn[1]!.node.lookupDetailed('user2'));
  assert.is(bySupernode.records[0]!.publicKey, leaves[2]!.identity.publicKeyHex);
  assert.is(bySupernode.hops, 0);
  const nobody = await w.run(leaves[3]!.node.lookupDetailed('nobody'));
  assert.is(nobody.records.length, 0);
  assert.ok(nobody.hops >= 1, `a leaf's miss still reports its hop: ${nobody.hops}`);
  const found = await w.run(leaves[1]!.node.searchNames('user'));
  assert.is(new Set(found.map((r) => r.name)).size, 4, JSON.stringify(found));
  await w.closeAll();
});

s('TURN hook: an attached leaf gets credentials and the TURN address from its supernode; snapshot shows role and reason', async () => {
  const w = new OverlayWorld(5);
  const asked: string[] = [];
  const sn = w.add({
    role: 'always',
    issueTurnCredentials: (leaf) => {
      asked.push(leaf);
      return { username: `1800000000:${leaf.slice(0, 8)}`, password: 'secret-hmac', ttlSec: 3600, urls: [{ host: sn.ip, port: PORT }] };
    },
  });
  const plain = w.add({ role: 'always', seeds: [{ host: sn.ip, port: PORT }] });
  await w.run(sn.node.start());
  await w.run(plain.node.start());
  const leaf = w.add({ name: 'turner', seeds: [{ host: sn.ip, port: PORT }], nat: w.nat('symmetric'), attachments: 1 });
  await w.run(leaf.node.start());
  const cred = await w.run(leaf.node.turnCredentials());
  assert.equal(asked, [leaf.identity.publicKeyHex]);
  assert.equal(cred, { username: `1800000000:${leaf.identity.publicKeyHex.slice(0, 8)}`, password: 'secret-hmac', ttlSec: 3600, urls: [{ host: sn.ip, port: PORT }] });
  const snap = sn.node.snapshot();
  assert.is(snap.role, 'supernode');
  assert.match(snap.roleReason, /always/);
  assert.is(snap.leaves, 1);
  assert.is(leaf.node.snapshot().role, 'leaf');
  await w.closeAll();
});

s('a crashed supernode is noticed (late heartbeats, unanswered probes) and replaced: 3 supernodes again and the record republished naming them within 5 s', async () => {
  const w = new OverlayWorld(9);
  const first = w.add({ role: 'always' });
  const seeds = [{ host: first.ip, port: PORT }];
  const sn = [first, ...[1, 2, 3, 4, 5].map(() => w.add({ role: 'always', seeds }))];
  await w.run(first.node.start());
  await w.run(Promise.all(sn.slice(1).map((x) => x.node.start())).then(() => undefined), 60_000);
  const leaves = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => w.add({ name: `probe${i}`, seeds, nat: i % 2 ? w.nat('port-restricted') : undefined }));
  await w.run(Promise.all(leaves.map((l) => l.node.start())).then(() => undefined));
  await w.advance(40_000);
  // The supernode most leaves use dies without a word.
  const uses = (x: WorldNode) => leaves.filter((l) => l.node.snapshot().supernodes.some((s) => s.id === x.node.id));
  const dead = [...sn].sort((a, b) => uses(b).length - uses(a).length)[0]!;
  const affected = uses(dead);
  assert.ok(affected.length >= 2, `${affected.length} leaves use the victim`);
  for (const l of leaves) assert.is(l.node.snapshot().supernodes.length, 3);
  const crashAt = w.clock.now();
  const doneMs = new Map<WorldNode, number>();
  for (const l of affected) {
    l.node.on('published', (e) => {
      const now = l.node.snapshot().supernodes.map((s) => s.id).sort();
      if (!doneMs.has(l) && now.length === 3 && !now.includes(dead.node.id) && JSON.stringify([...e.supernodes].sort()) === JSON.stringify(now)) {
        doneMs.set(l, w.clock.now() - crashAt);
      }
    });
  }
  const asker = affected[0]!;
  const before = await w.run(asker.node.answeringSupernodes());
  assert.is(before.length, 3, 'all three answer before the crash');
  await w.run(w.crash(dead));
  // Right after the crash the regular probes have not noticed; an explicit check has, in at most 700 ms.
  const askedAt = w.clock.now();
  assert.ok(asker.node.snapshot().supernodes.some((s) => s.id === dead.node.id), 'not noticed yet');
  const answering = await w.run(asker.node.answeringSupernodes());
  assert.is(answering.length, 2, JSON.stringify(answering));
  assert.not.ok(answering.some((a) => a.host === dead.ip), 'the crashed supernode does not answer');
  assert.ok(w.clock.now() - askedAt <= 750, `answered in ${w.clock.now() - askedAt} ms`);
  await w.advance(10_000, 50);
  const figures = affected.map((l) => doneMs.get(l) ?? -1);
  console.log(`  re-attach after a supernode crash (SimNet, 20 ms links): ${figures.join(', ')} ms`);
  assert.ok(figures.every((ms) => ms >= 0), `not all re-attached and republished: ${figures}`);
  assert.ok(Math.max(...figures) <= 5000, `slowest ${Math.max(...figures)} ms`);
  // The live supernodes hold the new records: they name the new set, never the dead one.
  for (const l of affected) {
    const snap = l.node.snapshot();
    assert.ok(snap.published && !snap.published.supernodes.includes(dead.node.id));
    for (const s of snap.supernodes) {
      const holder = sn.find((x) => x.node.id === s.id)!;
      const recs = holder.node.storedRecords(nameKey(l.name!)).filter((r) => r.publicKey === l.identity.publicKeyHex);
      assert.ok(recs.length > 0 && !recs[0]!.supernodes.some((x) => x.id === dead.node.id), `${l.name} at ${s.id.slice(0, 8)}`);
    }
  }
  // Others find them, and the record routes through live supernodes only.
  for (const l of affected) {
    const other = leaves.find((x) => x !== l)!;
    const recs = await w.run(other.node.lookup(l.name!));
    assert.ok(recs[0] && recs[0].publicKey === l.identity.publicKeyHex && !recs[0].supernodes.some((x) => x.id === dead.node.id));
  }
  // No live supernode was dropped by mistake meanwhile.
  for (const l of leaves.filter((x) => !affected.includes(x))) assert.is(l.node.snapshot().counters.reattaches, 0, `${l.name} detached a live supernode`);
  await w.closeAll();
});

s('a supernode that does not answer the check goes last for signals: no wait for the hedge when it just died', async () => {
  const w = new OverlayWorld(21);
  const sn = await alwaysSupernodes(w, [20, 20, 20]);
  const seeds = [{ host: sn[0]!.ip, port: PORT }];
  const [a, b] = ['sender', 'receiver'].map((name) => w.add({ name, seeds }));
  await w.run(Promise.all([a!.node.start(), b!.node.start()]).then(() => undefined));
  await w.advance(20_000);
  const got: string[] = [];
  b!.node.signalTransport().onEnvelope((e) => got.push(e.callId));
  const send = (callId: string) => a!.node.signalTransport().send({ from: a!.identity.publicKeyHex, to: b!.identity.publicKeyHex, callId, sealed: new Uint8Array(100) });
  await w.run(send('warm')); // the route to b is now known: no lookup below
  // The sender's first supernode (the first its signals would go through) dies.
  const firstId = a!.node.snapshot().supernodes[0]!.id;
  const dead = sn.find((x) => x.node.id === firstId)!;
  await w.run(w.crash(dead));
  const answering = await w.run(a!.node.answeringSupernodes(), 120_000, 10);
  assert.is(answering.length, 2);
  const sentAt = w.clock.now();
  await w.run(send('after-crash'), 120_000, 10);
  const tookMs = w.clock.now() - sentAt;
  // (Each of b's supernodes delivers: the call layer drops the repeats.)
  assert.equal([...new Set(got)], ['warm', 'after-crash']);
  assert.ok(tookMs < 700, `delivered after ${tookMs} ms: the dead supernode was tried first`);
  await w.closeAll();
});

s('an idle leaf costs well under 200 B/s (IP/UDP headers included), heartbeats and probes and all', async () => {
  const w = new OverlayWorld(13);
  const first = w.add({ role: 'always' });
  const seeds = [{ host: first.ip, port: PORT }];
  const sn = [first, w.add({ role: 'always', seeds }), w.add({ role: 'always', seeds }), w.add({ role: 'always', seeds })];
  await w.run(first.node.start());
  await w.run(Promise.all(sn.slice(1).map((x) => x.node.start())).then(() => undefined), 60_000);
  const leaf = w.add({ name: 'idle', seeds });
  await w.run(leaf.node.start());
  await w.advance(120_000, 1000);
  const before = { ...counters(leaf) };
  const seconds = 600;
  await w.advance(seconds * 1000, 1000);
  const after = counters(leaf);
  const packets = after.packets - before.packets;
  const bytesPerSec = (after.bytes - before.bytes + 28 * packets) / seconds;
  console.log(`  idle leaf (3 supernodes): ${bytesPerSec.toFixed(1)} B/s, ${(packets / seconds).toFixed(2)} datagrams/s`);
  assert.is(leaf.node.snapshot().supernodes.length, 3);
  // Heartbeats 3 x 60 B / 2.5 s, probes and echoes 3 x 118 B / 15 s, keepalive pings to
  // its supernodes every 15-25 s: about 135 B/s (170 B/s when it probed every 2.5 s).
  assert.ok(bytesPerSec <= 150, `${bytesPerSec.toFixed(1)} B/s`);
  assert.ok(packets / seconds >= 1.2, 'heartbeats flow');
  assert.is(leaf.node.snapshot().counters.reattaches, 0);
  await w.closeAll();
});

s('heartbeats and probes ride out 1% loss: no live supernode dropped in 20 minutes', async () => {
  const w = new OverlayWorld(17);
  const first = w.add({ role: 'always' });
  const seeds = [{ host: first.ip, port: PORT }];
  const sn = [first, w.add({ role: 'always', seeds }), w.add({ role: 'always', seeds }), w.add({ role: 'always', seeds })];
  await w.run(first.node.start());
  await w.run(Promise.all(sn.slice(1).map((x) => x.node.start())).then(() => undefined), 60_000);
  const leaves = [0, 1, 2].map((i) => w.add({ name: `lossy${i}`, seeds }));
  for (const l of leaves) for (const x of sn) w.sim.setLink(l.ip, x.ip, { latencyMs: 20, jitterMs: 5, loss: 0.01 });
  await w.run(Promise.all(leaves.map((l) => l.node.start())).then(() => undefined));
  await w.advance(20 * 60_000, 1000);
  for (const l of leaves) {
    const snap = l.node.snapshot();
    assert.is(snap.supernodes.length, 3);
    assert.is(snap.counters.reattaches, 0, `${l.name}: ${JSON.stringify(snap.lastDetach)}`);
  }
  await w.closeAll();
});

function counters(x: WorldNode): { bytes: number; packets: number } {
  return { bytes: x.host.sentBytes + x.host.receivedBytes, packets: x.host.sentPackets + x.host.receivedPackets };
}

s('a leaf does not attach to a supernode whose ID lacks the proof of work, wherever it heard of it', async () => {
  const w = new OverlayWorld(17);
  // The network's difficulty here is 12 bits; one supernode mints none (difficulty 0 for
  // itself; a 0-bit proof passes a 12-bit check with probability 1/4096).
  const honest = w.add({ role: 'always', powDifficulty: 12 });
  await w.run(honest.node.start());
  const cheap = w.add({ role: 'always', powDifficulty: 0, seeds: [{ host: honest.ip, port: PORT }] });
  await w.run(cheap.node.start());
  // The leaf hears of the cheap one first.
  const leaf = w.add({ name: 'careful', powDifficulty: 12, seeds: [{ host: cheap.ip, port: PORT }, { host: honest.ip, port: PORT }] });
  await w.run(leaf.node.start());
  await w.advance(30_000);
  const snap = leaf.node.snapshot();
  const ids = snap.supernodes.map((x) => x.id);
  assert.ok(ids.includes(honest.node.id), `attached to the honest supernode: ${JSON.stringify(ids)}`);
  assert.ok(!ids.includes(cheap.node.id), 'not attached to the one without proof of work');
  assert.ok(snap.counters.attachFailures >= 1, 'the refusal is counted');
  await w.closeAll();
});

s('leaves keep the least loaded of the supernodes that accept them: a busy one (above the load floor) is passed over', async () => {
  const w = new OverlayWorld(23);
  const sn = await alwaysSupernodes(w, [4, 10, 10]);
  const all = sn.map((x) => ({ host: x.ip, port: PORT }));
  // Three leaves that know only the first supernode: it serves 3 of 4 (75%, busy).
  for (let i = 0; i < 3; i++) {
    const leaf = w.add({ name: `first${i}`, seeds: [all[0]!], attachments: 1 });
    await w.run(leaf.node.start());
    await w.advance(2000);
  }
  assert.equal(sn.map((x) => x.node.snapshot().leaves), [3, 0, 0]);
  // Leaves that ask all three (one needed + two spare tries) keep one that is not busy
  // (at 50% or less, answer order decides: attach-choice.ts) and detach from the others.
  for (let i = 0; i < 6; i++) {
    const leaf = w.add({ name: `even${i}`, seeds: all, attachments: 1 });
    await w.run(leaf.node.start());
    await w.advance(2000);
    assert.is(leaf.node.snapshot().supernodes.length, 1);
  }
  await w.advance(5000);
  const loads = sn.map((x) => x.node.snapshot().leaves);
  assert.equal(loads[0], 3, `leaves per supernode: ${loads}`);
  assert.is(loads[1]! + loads[2]!, 6, `leaves per supernode: ${loads}`);
  await w.closeAll();
});

s("supernodes report their load in DHT answers; leaves read each one's area estimate in attach answers and echoes", async () => {
  const w = new OverlayWorld(37);
  const sn = await alwaysSupernodes(w, [10, 20, 40]);
  const seeds = [{ host: sn[0]!.ip, port: PORT }];
  // Four leaves on all three: 4 of 10, 20 and 40 sessions (40%, 20%, 10%); their publishes make DHT traffic.
  const leaves = [0, 1, 2, 3].map((i) => w.add({ name: `area${i}`, seeds }));
  for (const l of leaves) await w.run(l.node.start());
  await w.advance(10_000);
  const own = sn.map((x) => x.node.snapshot().loadPct!);
  assert.equal(own, [40, 20, 10]);
  for (const x of sn) {
    const area = x.node.snapshot().areaLoadPct!;
    // Each heard the others' loads (as they were when they answered) and counts its own.
    assert.ok(area !== Math.round(x.node.snapshot().loadPct!) && area >= 0 && area <= 40, `area ${area} of a supernode at ${x.node.snapshot().loadPct}%`);
  }
  const view = leaves[0]!.node.snapshot().supernodes;
  assert.is(view.length, 3);
  for (const v of view) {
    const s = sn.find((x) => x.node.id === v.id)!;
    assert.is(v.loadPct, s.node.snapshot().loadPct, 'the echo carries the load');
    assert.is(v.areaLoadPct, s.node.snapshot().areaLoadPct, 'and the area estimate');
  }
  await w.closeAll();
});

s.run();
