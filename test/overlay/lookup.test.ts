import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { SimNetwork, type FakeRecord } from './sim-network.ts';
import { idKey } from '../../src/overlay/node-id.ts';
import { iterativeLookup, type OverlayRpc } from '../../src/overlay/lookup.ts';

const s = suite('overlay/lookup');

let healthy: SimNetwork | undefined;
const net = () => (healthy ??= new SimNetwork({ nodes: 1000, seed: 101 }));

s('node lookups find exactly the true k closest nodes in a healthy network', async () => {
  const n = net();
  await fc.assert(fc.asyncProperty(fc.nat(n.nodes.length - 1), fc.uint8Array({ minLength: 32, maxLength: 32 }), async (i, target) => {
    const from = n.nodes[i]!;
    const r = await n.lookup(from, { target, mode: 'node' });
    const truth = n.trueClosest(target, 21).filter((x) => x !== from).slice(0, 20);
    assert.equal(r.closest.map((c) => idKey(c.id)), truth.map((x) => idKey(x.contact.id)));
    assert.ok(r.found && r.hops >= 1 && r.rpcs <= 60);
  }), { numRuns: 40 });
  assert.is(n.clock.pending, 0, 'no timers left behind');
});

s('disjoint node lookups find the true k closest and stop once no candidate can enter them', async () => {
  const n = net();
  const rpcs: number[] = [];
  await fc.assert(fc.asyncProperty(fc.nat(n.nodes.length - 1), fc.uint8Array({ minLength: 32, maxLength: 32 }), async (i, target) => {
    const from = n.nodes[i]!;
    const r = await n.lookup(from, { target, mode: 'node', paths: 3 });
    const truth = n.trueClosest(target, 21).filter((x) => x !== from).slice(0, 20);
    assert.equal(r.closest.map((c) => idKey(c.id)), truth.map((x) => idKey(x.contact.id)));
    rpcs.push(r.rpcs);
  }), { numRuns: 40 });
  // Each path running to its own 20 answers would take at least 3 x 20 requests (63 here);
  // counting only the answered nodes, not those being asked, about 34.
  const mean = rpcs.reduce((a, b) => a + b, 0) / rpcs.length;
  assert.ok(mean < 32, `mean requests per 3-path node lookup ${mean}`);
  assert.is(n.clock.pending, 0, 'no timers left behind');
});

s('disjoint node lookups ask again when a node ahead of them fails', async () => {
  // 15% of the nodes are dead but still listed: the nodes a path held back for must be
  // asked once one of the k closer ones turns out dead (without that: 0.957 here).
  const n = new SimNetwork({ nodes: 800, seed: 303, deadFraction: 0.15 });
  const live = n.nodes.filter((x) => x.alive);
  let recall = 0;
  const runs = 30;
  for (let i = 0; i < runs; i++) {
    const target = n.random.bytes(32);
    const from = live[n.random.int(live.length)]!;
    const r = await n.lookup(from, { target, mode: 'node', paths: 3 });
    const truth = n.trueClosest(target, 21, live).filter((x) => x !== from).slice(0, 20);
    const got = new Set(r.closest.map((c) => idKey(c.id)));
    recall += truth.filter((x) => got.has(idKey(x.contact.id))).length / truth.length;
  }
  assert.ok(recall / runs >= 0.97, `mean recall of the closest live set ${recall / runs}`);
  assert.is(n.clock.pending, 0, 'no timers left behind');
});

s('no node is queried twice in one lookup, with or without disjoint paths', async () => {
  const n = net();
  for (const paths of [1, 3, 5]) {
    const queried: string[] = [];
    const rpc: OverlayRpc<FakeRecord> = {
      findNode: (to, t, sig) => { queried.push(idKey(to.id)); return n.rpc.findNode(to, t, sig); },
      findValue: (to, t, sig) => { queried.push(idKey(to.id)); return n.rpc.findValue(to, t, sig); },
    };
    const r = await n.lookup(n.nodes[7]!, { target: n.random.bytes(32), mode: 'node', paths, rpc });
    assert.is(new Set(queried).size, queried.length, `paths=${paths}`);
    assert.is(r.paths.length, paths);
    assert.is(r.rpcs, queried.length);
  }
});

s('dead nodes time out on the virtual clock; lookups route around them', async () => {
  const n = new SimNetwork({ nodes: 800, seed: 202, deadFraction: 0.15 });
  const live = n.nodes.filter((x) => x.alive);
  let found = 0, recall = 0, timeouts = 0, failedSeen = 0;
  for (let i = 0; i < 40; i++) {
    const key = n.random.bytes(32);
    n.publish(key, `v${i}`);
    const from = live[n.random.int(live.length)]!;
    const v = await n.lookup(from, { target: key, mode: 'value' });
    if (v.found) found++;
    for (const rec of v.records) assert.is(rec.key, idKey(key));
    // Node lookups must get past the dead ones and converge near the k closest live nodes.
    // (Not always exactly: other nodes' tables still list the dead, crowding their answers.)
    const r = await n.lookup(from, { target: key, mode: 'node', onFailed: () => failedSeen++ });
    timeouts += r.timeouts;
    const truth = n.trueClosest(key, 21, live).filter((x) => x !== from).slice(0, 20);
    const got = new Set(r.closest.map((c) => idKey(c.id)));
    recall += truth.filter((x) => got.has(idKey(x.contact.id))).length / truth.length;
  }
  assert.ok(found >= 39, `value found ${found}/40`);
  assert.ok(recall / 40 >= 0.9, `mean recall of the closest live set ${recall / 40}`);
  assert.ok(timeouts > 0, 'requests to dead nodes timed out');
  assert.is(failedSeen, timeouts);
  assert.is(n.clock.pending, 0);
});

s('work is bounded by maxRpcs and per-answer contact caps; garbage answers are failures', async () => {
  const n = net();
  const garbage: OverlayRpc<FakeRecord> = {
    findNode: async () => ({ not: 'an array' }) as never,
    findValue: async () => ({ records: 'nope', contacts: [null, 7, { id: 'x' }] }) as never,
  };
  const from = n.nodes[3]!;
  const r1 = await n.lookup(from, { target: n.random.bytes(32), mode: 'node', rpc: garbage });
  assert.is(r1.found, false, 'r1.found');
  assert.is(r1.failures, r1.rpcs, 'r1 failures');
  const r2 = await n.lookup(from, { target: n.random.bytes(32), mode: 'value', rpc: garbage });
  assert.is(r2.found, false);
  assert.ok(r2.rpcs <= 20, `garbage adds no candidates (${r2.rpcs})`);
  // A flood of valid contacts in one answer: at most k are taken, and the budget holds.
  const flood: OverlayRpc<FakeRecord> = {
    findNode: async () => Array.from({ length: 200 }, () => n.nodes[n.random.int(n.nodes.length)]!.contact),
    findValue: async () => ({ contacts: [] }),
  };
  const throwing: OverlayRpc<FakeRecord> = {
    findNode: () => { throw new Error('sync throw'); },
    findValue: async (to, t, sig) => n.rpc.findValue(to, t, sig),
  };
  const r5 = await n.lookup(from, { target: n.random.bytes(32), mode: 'node', rpc: throwing });
  assert.is(r5.failures, r5.rpcs, 'a synchronously throwing RPC is a failed request');
  const key = n.random.bytes(32);
  n.publish(key, 'x');
  const r6 = await n.lookup(from, { target: key, mode: 'value', acceptRecord: () => { throw new Error('bad verifier'); } });
  assert.is(r6.found, false, 'a throwing record check rejects the record');
  let verified = 0;
  const r3 = await n.lookup(from, {
    target: n.random.bytes(32), mode: 'node', rpc: flood, maxRpcs: 25,
    verifyContact: (c) => (verified++, n.verifier.accepts(c)),
  });
  assert.ok(r3.rpcs <= 25, `rpcs ${r3.rpcs} within the budget`);
  assert.ok(verified <= 20 + 20 * r3.rpcs, `at most k contacts considered per answer (${verified})`);
  const r4 = await n.lookup(from, { target: n.random.bytes(32), mode: 'node', rpc: flood, maxRpcs: 5 });
  assert.is(r4.rpcs, 5);
  assert.ok(r4.exhausted, 'budget exhaustion is reported');
});

s('aborting resolves with partial results and cancels timers', async () => {
  const n = net();
  const ac = new AbortController();
  const never: OverlayRpc<FakeRecord> = {
    findNode: (_to, _t, sig) => new Promise((_r, reject) => sig.addEventListener('abort', () => reject(sig.reason))),
    findValue: (_to, _t, sig) => new Promise((_r, reject) => sig.addEventListener('abort', () => reject(sig.reason))),
  };
  const p = iterativeLookup<FakeRecord>({
    target: n.random.bytes(32), mode: 'value', seeds: n.nodes[1]!.table.closest(n.random.bytes(32)), rpc: never,
    clock: n.clock, verifyContact: (c) => n.verifier.accepts(c), signal: ac.signal,
  });
  await n.clock.advance(10);
  assert.is(n.clock.pending, 3, 'alpha requests in flight, each with a timeout');
  ac.abort();
  const r = await p;
  assert.is(r.found, false);
  assert.is(r.rpcs, 3);
  assert.is(n.clock.pending, 0);
});

s('eclipse attempt: Sybils answering with ground, closer-looking IDs; disjoint paths restore success', async () => {
  // 35% of the nodes are attackers (each paid the proof of work, each in its own /24, so
  // neither defence filters them). For each target they grind 4096 keys and hand out the
  // 20 IDs nearest the target; they never return the honest record.
  const n = new SimNetwork({ nodes: 2000, seed: 7, attackerFraction: 0.35 });
  const honest = n.honest;
  const found: Record<number, number> = { 1: 0, 2: 0, 4: 0 };
  let total = 0;
  for (let t = 0; t < 8; t++) {
    const key = n.random.bytes(32);
    n.publish(key, `v${t}`);
    n.prepareEclipse(key, 20, 4096);
    for (let j = 0; j < 25; j++) {
      const from = honest[n.random.int(honest.length)]!;
      total++;
      for (const d of [1, 2, 4]) {
        const r = await n.lookup(from, { target: key, mode: 'value', paths: d });
        if (r.found) found[d]!++;
        assert.ok(r.records.every((x) => !x.forged), 'forged records are never accepted');
      }
    }
  }
  const rate = (d: number) => found[d]! / total;
  console.log(JSON.stringify({ test: 'eclipse', nodes: 2000, attackers: 0.35, lookups: total, success: { d1: rate(1), d2: rate(2), d4: rate(4) } }));
  assert.ok(rate(4) >= 0.99, `d=4 success ${rate(4)}`);
  assert.ok(rate(4) > rate(1), 'disjoint paths beat a single path under attack');
});

s('cheap Sybil IDs (no proof of work) handed out in answers are ignored', async () => {
  const n = new SimNetwork({ nodes: 2000, seed: 8, attackerFraction: 0.35 });
  const honest = n.honest;
  let found = 0, total = 0;
  for (let t = 0; t < 4; t++) {
    const key = n.random.bytes(32);
    n.publish(key, `v${t}`);
    n.prepareEclipse(key, 20, 4096, false);
    for (let j = 0; j < 25; j++) {
      const r = await n.lookup(honest[n.random.int(honest.length)]!, { target: key, mode: 'value', paths: 1 });
      total++;
      if (r.found) found++;
    }
  }
  console.log(JSON.stringify({ test: 'cheap-sybil', nodes: 2000, attackers: 0.35, lookups: total, success: { d1: found / total } }));
  assert.ok(n.verifier.stats.rejected > 0, 'unpaid IDs were rejected');
  assert.ok(found / total >= 0.95, `single-path success ${found / total}`);
});

s.run();
