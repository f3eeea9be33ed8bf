import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { idKey, nodeIdFromHex, toHex } from '../../src/overlay/node-id.ts';
import { checkRecordShape, nameKey, normalizeName, type PresenceRecord, recordKeys, republishAt } from '../../src/overlay/presence-record.ts';
import { RecordStore, type RecordStoreOptions } from '../../src/overlay/record-store.ts';
import { fakeSign, fakeVerify, makeRecord } from './fake-records.ts';

const random = new SeededRandom(31);
const HOUR = 3600_000;

const record = (clock: VirtualClock, over: Parameters<typeof makeRecord>[2] = {}) => makeRecord(clock, random, over);

function store(clock: VirtualClock, over: Partial<RecordStoreOptions> = {}): RecordStore {
  return new RecordStore({ clock, self: random.bytes(32), verify: fakeVerify, ...over });
}

const s = suite('overlay/record-store');

s('stores under name key and node ID; refuses other keys', () => {
  const clock = new VirtualClock();
  const st = store(clock);
  const r = record(clock);
  const [nk, idk] = recordKeys(r);
  assert.equal(st.put(nk, r), { ok: true, status: 'stored' });
  assert.equal(st.put(idk, r), { ok: true, status: 'stored' });
  assert.equal(st.put(random.bytes(32), r), { ok: false, error: 'wrong-key' });
  assert.equal(st.get(nameKey('  ALICE ')), [r]);
  assert.equal(st.get(nodeIdFromHex(r.nodeId)), [r]);
  assert.equal(st.put(nk, r), { ok: true, status: 'unchanged' });
  assert.is(st.size, 2);
});

s('newest seq wins; old and equal seqs are refused, even after the record is gone', async () => {
  const clock = new VirtualClock();
  const st = store(clock);
  const pk = random.bytes(32);
  const r1 = record(clock, { pk, seq: 5 });
  const key = nameKey(r1.name);
  assert.ok(st.put(key, r1).ok);
  const r2 = record(clock, { pk, seq: 6, addresses: [] });
  assert.equal(st.put(key, r2), { ok: true, status: 'replaced' });
  assert.equal(st.put(key, r1), { ok: false, error: 'old-seq' }, 'replay of an older record');
  const r2b = record(clock, { pk, seq: 6, addresses: [{ host: '203.0.113.9', port: 1 }] });
  assert.equal(st.put(key, r2b), { ok: false, error: 'old-seq' }, 'a different record with the same seq');
  assert.equal(st.get(key), [r2]);
  await clock.advance(HOUR + 1);
  assert.equal(st.get(key), [], 'expired');
  const replay = { ...r1, expiresAt: clock.now() + HOUR };
  assert.equal(st.put(key, { ...replay, signature: fakeSign(replay) }).ok, false, 'old seq refused after expiry');
});

s('a newer publication replaces an older one under both keys (the second key sees the seq already recorded)', () => {
  const clock = new VirtualClock();
  const st = store(clock);
  const pk = random.bytes(32);
  const r1 = record(clock, { pk, seq: 5 });
  const [nk, idk] = recordKeys(r1);
  assert.ok(st.put(nk, r1).ok && st.put(idk, r1).ok);
  const r2 = record(clock, { pk, seq: 9, addresses: [] });
  assert.equal(st.put(nk, r2), { ok: true, status: 'replaced' });
  assert.equal(st.put(idk, r2), { ok: true, status: 'replaced' });
  assert.equal(st.get(idk), [r2]);
  const r2b = record(clock, { pk, seq: 9, addresses: [{ host: '203.0.113.9', port: 1 }] });
  assert.equal(st.put(idk, r2b), { ok: false, error: 'old-seq' }, 'equivocation with the same seq');
});

s('time checks: expired, issued in the future, too-far expiry', () => {
  const clock = new VirtualClock();
  const st = store(clock, { maxTtlMs: 2 * HOUR, maxSkewMs: 60_000 });
  const now = clock.now();
  const put = (o: Partial<PresenceRecord>) => {
    const r = record(clock, o);
    return st.put(nameKey(r.name), r);
  };
  assert.equal(put({ issuedAt: now - 2 * HOUR, expiresAt: now - 1 }), { ok: false, error: 'expired' });
  assert.equal(put({ issuedAt: now + 120_000, expiresAt: now + HOUR }), { ok: false, error: 'future' });
  assert.equal(put({ expiresAt: now + 3 * HOUR }), { ok: false, error: 'too-far-expiry' });
  assert.ok(put({ expiresAt: now + 2 * HOUR }).ok);
});

s('bad signatures and malformed records are refused; verify may throw', () => {
  const clock = new VirtualClock();
  const st = store(clock);
  const r = record(clock);
  const key = nameKey(r.name);
  assert.equal(st.put(key, { ...r, addresses: [] }).ok, false);
  assert.is((st.put(key, { ...r, addresses: [] }) as { error: string }).error, 'bad-signature');
  const forgedKey = record(clock, { publicKey: toHex(random.bytes(32)) });
  assert.is((st.put(key, forgedKey) as { error: string }).error, 'bad-node-id', 'node ID must be the hash of the key');
  const throwing = store(clock, { verify: () => { throw new Error('boom'); } });
  assert.equal(throwing.put(key, r), { ok: false, error: 'bad-signature', detail: 'verify threw: boom' });
  fc.assert(fc.property(fc.anything(), (x) => {
    const res = st.put(key, x);
    return !res.ok && res.error === 'malformed';
  }));
  for (const bad of [{ ...r, name: '' }, { ...r, name: 'x'.repeat(65) }, { ...r, seq: -1 }, { ...r, seq: 1.5 }, { ...r, supernodes: Array(9).fill(r.supernodes[0]) },
    { ...r, addresses: [{ host: 'h', port: 0 }] }, { ...r, publicKey: 'AB'.repeat(32) }, { ...r, expiresAt: r.issuedAt }]) {
    assert.is(checkRecordShape(bad).ok, false, JSON.stringify(bad).slice(0, 80));
  }
  assert.ok(st.refused.malformed! > 0);
});

s('bounds: per key, per publisher, in total (evicting the keys farthest from self)', () => {
  const clock = new VirtualClock();
  const st = store(clock, { maxPerKey: 3, maxPerPublisher: 2, maxRecords: 10 });
  const key = nameKey('Alice');
  for (let i = 0; i < 3; i++) assert.ok(st.put(key, record(clock)).ok);
  assert.equal(st.put(key, record(clock)), { ok: false, error: 'key-full' }, 'first come keeps the slot');
  const pk = random.bytes(32);
  assert.ok(st.put(nameKey('Bob'), record(clock, { pk, name: 'Bob' })).ok);
  assert.ok(st.put(nameKey('Bob2'), record(clock, { pk, name: 'Bob2' })).ok);
  assert.equal(st.put(nameKey('Bob3'), record(clock, { pk, name: 'Bob3' })), { ok: false, error: 'publisher-limit' });
  // Fill up, then offer many more: size never exceeds the cap, kept keys are the closest to self.
  for (let i = 0; i < 200; i++) {
    const r = record(clock, { name: `user ${i}` });
    st.put(nameKey(r.name), r);
    assert.ok(st.size <= 10);
  }
  assert.is(st.size, 10);
});

s('expiry via the clock, sweep, and replication hints', async () => {
  const clock = new VirtualClock();
  const st = store(clock, { replicateIntervalMs: HOUR });
  const short = record(clock, { name: 'short', expiresAt: clock.now() + 10 * 60_000 });
  const long = record(clock, { name: 'long', expiresAt: clock.now() + 2 * HOUR });
  st.put(nameKey('short'), short);
  st.put(nameKey('long'), long);
  assert.equal(st.dueForReplication(10), []);
  await clock.advance(HOUR);
  assert.is(st.sweep(), 1);
  const due = st.dueForReplication(10);
  assert.is(due.length, 1);
  assert.is(idKey(due[0]!.key), idKey(nameKey('long')));
  assert.equal(st.dueForReplication(10), [], 'marked as replicated');
  assert.is(republishAt(long), long.issuedAt + HOUR);
  assert.is(normalizeName('  Ｂob   SMITH '), 'bob smith');
});

s('a key shared by many publishers: one entry, several, back to one, none (expiry, replacement, sweep), in any order', () => {
  // Names are not unique: several publishers store under one name key. The store keeps a
  // lone entry inline and a table beyond; every operation must see the same records.
  fc.assert(
    fc.property(
      fc.array(fc.record({ who: fc.integer({ min: 0, max: 4 }), op: fc.constantFrom('put', 'newer', 'advance', 'sweep'), minutes: fc.integer({ min: 1, max: 90 }) }), { minLength: 1, maxLength: 40 }),
      (ops) => {
        const clock = new VirtualClock();
        const st = store(clock, { maxPerKey: 8, maxPerPublisher: 4 });
        const key = nameKey('Carol');
        const pks = [0, 1, 2, 3, 4].map(() => random.bytes(32));
        const seqs = [0, 0, 0, 0, 0];
        // The model: publisher -> its stored record.
        const model = new Map<number, PresenceRecord>();
        for (const { who, op, minutes } of ops) {
          if (op === 'advance') clock.runUntilSync(clock.now() + minutes * 60_000);
          else if (op === 'sweep') st.sweep();
          else if (op === 'put' && model.has(who)) {
            assert.equal(st.put(key, model.get(who)!), { ok: true, status: 'unchanged' });
          } else {
            const r = record(clock, { pk: pks[who], name: 'Carol', seq: ++seqs[who]!, expiresAt: clock.now() + minutes * 60_000 });
            assert.equal(st.put(key, r), { ok: true, status: model.has(who) ? 'replaced' : 'stored' });
            model.set(who, r);
          }
          for (const [w, r] of model) if (r.expiresAt <= clock.now()) model.delete(w);
          const want = [...model.values()].sort((a, b) => b.issuedAt - a.issuedAt || b.seq - a.seq);
          assert.equal(st.get(key), want);
          assert.is(st.size, model.size);
          assert.is([...st.keys()].length, model.size > 0 ? 1 : 0);
        }
      },
    ),
    { numRuns: 150, seed: 4 },
  );
});

s.run();
