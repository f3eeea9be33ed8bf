import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { SeededRandom } from '../../src/random.ts';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { type Contact, ContactVerifier } from '../../src/overlay/contact.ts';
import { mintProofOfWork } from '../../src/overlay/proof-of-work.ts';
import { RoutingTable, type RoutingTableOptions } from '../../src/overlay/routing-table.ts';
import { bucketIndex, compareDistance, idEquals, idKey, type NodeId } from '../../src/overlay/node-id.ts';
import { networkPrefix } from '../../src/overlay/ip-prefix.ts';

const random = new SeededRandom(21);
const DIFFICULTY = 3;
const verifier = new ContactVerifier({ difficulty: DIFFICULTY });

function makeContact(host: string, withPow = true): Contact {
  const publicKey = random.bytes(32);
  let pow = withPow ? mintProofOfWork(publicKey, DIFFICULTY) : random.bytes(8);
  if (!withPow) while (verifier.accepts({ id: sha256(publicKey), publicKey, pow, address: { host, port: 1 } })) pow = random.bytes(8);
  return { id: sha256(publicKey), publicKey, pow, address: { host, port: 4000 } };
}

/** A contact in bucket `i` of `self` (brute force over keys; i near 255 is cheap). */
function contactInBucket(self: NodeId, i: number, host: string): Contact {
  for (;;) {
    const c = makeContact(host);
    if (bucketIndex(self, c.id) === i) return c;
  }
}

function table(extra: Partial<RoutingTableOptions> = {}, clock = new VirtualClock()): RoutingTable {
  return new RoutingTable({ self: random.bytes(32), clock, verify: (c) => verifier.accepts(c), ...extra });
}

/** Check every structural invariant through the public API. */
function checkInvariants(t: RoutingTable, perBucket: number, perTable: number): void {
  const seen = new Set<string>();
  const perPrefix = new Map<string, number>();
  const perBucketPrefix = new Map<string, number>();
  let n = 0;
  for (const e of t.entries()) {
    n++;
    const key = idKey(e.contact.id);
    assert.not.ok(seen.has(key), 'no duplicate entries');
    seen.add(key);
    assert.not.ok(idEquals(e.contact.id, t.self), 'self never stored');
    assert.ok(verifier.accepts(e.contact), 'only valid contacts stored');
    const p = networkPrefix(e.contact.address.host)!;
    perPrefix.set(p, (perPrefix.get(p) ?? 0) + 1);
    const bp = `${bucketIndex(t.self, e.contact.id)}/${p}`;
    perBucketPrefix.set(bp, (perBucketPrefix.get(bp) ?? 0) + 1);
  }
  assert.is(n, t.size);
  for (const [, count] of perPrefix) assert.ok(count <= perTable, `per-table prefix cap ${count} <= ${perTable}`);
  for (const [, count] of perBucketPrefix) assert.ok(count <= perBucket, `per-bucket prefix cap ${count} <= ${perBucket}`);
  for (const [i, entries, replacements] of t.bucketSizes()) {
    assert.ok(entries <= t.k, `bucket ${i} holds ${entries} <= k`);
    assert.ok(replacements <= t.k, `replacement cache ${i} bounded`);
  }
  for (const e of t.entries()) {
    assert.not.ok(t.replacementsFor(e.contact.id).some((r) => idEquals(r.id, e.contact.id)), 'an entry is not also a replacement');
  }
}

const s = suite('overlay/routing-table');

s('invariants hold under random add/seen/fail/remove sequences with live and dead pings', async () => {
  const hosts = Array.from({ length: 12 }, (_, i) => `10.0.${i}.${1 + (i % 7)}`);
  const pool = Array.from({ length: 160 }, (_, i) => makeContact(hosts[i % hosts.length]!, i % 17 !== 0));
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), i: fc.nat(pool.length - 1) }),
    fc.record({ kind: fc.constant('seen' as const), i: fc.nat(pool.length - 1) }),
    fc.record({ kind: fc.constant('fail' as const), i: fc.nat(pool.length - 1) }),
    fc.record({ kind: fc.constant('remove' as const), i: fc.nat(pool.length - 1) }),
  );
  await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 300 }), fc.boolean(), fc.integer({ min: 2, max: 8 }), async (ops, alive, k) => {
    const t = table({ k, maxPerPrefixPerBucket: 2, maxPerPrefix: 5, ping: async () => alive });
    for (const o of ops) {
      const c = pool[o.i]!;
      if (o.kind === 'add') t.add(c);
      else if (o.kind === 'seen') t.markSeen(c.id);
      else if (o.kind === 'fail') t.markFailed(c.id);
      else t.remove(c.id);
      await Promise.resolve();
      await Promise.resolve();
    }
    checkInvariants(t, 2, 5);
  }), { numRuns: 60 });
});

s('rejects self, invalid proof of work and non-IP addresses', () => {
  const t = table();
  const self: Contact = { ...makeContact('10.1.1.1'), id: t.self };
  assert.is(t.add(self), 'rejected-self');
  assert.is(t.add(makeContact('10.1.1.2', false)), 'rejected-invalid');
  assert.is(t.add({ ...makeContact('10.1.1.3'), address: { host: 'example.org', port: 1 } }), 'rejected-invalid');
  assert.is(t.size, 0);
  assert.is(t.stats.rejectedInvalid, 2);
});

s('per-/24 caps: per bucket and per table', () => {
  const t = table({ maxPerPrefixPerBucket: 2, maxPerPrefix: 3 });
  const results: string[] = [];
  for (let i = 0; i < 40; i++) results.push(t.add(makeContact(`192.0.2.${i + 1}`)));
  assert.ok(t.size <= 3);
  assert.ok(results.filter((r) => r === 'rejected-prefix').length >= 37);
  // IPv6: the /48 is the unit.
  const t6 = table({ maxPerPrefixPerBucket: 2, maxPerPrefix: 10 });
  const self = t6.self;
  for (let i = 0; i < 5; i++) t6.add(contactInBucket(self, 255, `2001:db8:7:${i}::1`));
  assert.is(t6.size, 2);
  assert.is(t6.add(contactInBucket(self, 255, '2001:db8:8::1')), 'added');
});

s('full bucket pings the least-recently-seen entry: alive keeps it, dead replaces it', async () => {
  const clock = new VirtualClock();
  let alive = true;
  const pinged: string[] = [];
  const t = table({ k: 3, ping: async (c) => { pinged.push(idKey(c.id)); return alive; } }, clock);
  const cs = Array.from({ length: 3 }, (_, i) => contactInBucket(t.self, 255, `10.9.${i}.1`));
  for (const c of cs) assert.is(t.add(c), 'added');
  const newcomer = contactInBucket(t.self, 255, '10.9.10.1');
  assert.is(t.add(newcomer), 'pending');
  await Promise.resolve(); await Promise.resolve();
  assert.equal(pinged, [idKey(cs[0]!.id)]);
  assert.ok(t.has(cs[0]!.id), 'alive oldest stays');
  assert.not.ok(t.has(newcomer.id));
  assert.ok(t.replacementsFor(newcomer.id).some((r) => idEquals(r.id, newcomer.id)));
  // cs[0] moved to most-recently-seen: next ping goes to cs[1]; this time it is dead.
  alive = false;
  const second = contactInBucket(t.self, 255, '10.9.11.1');
  assert.is(t.add(second), 'pending');
  await Promise.resolve(); await Promise.resolve();
  assert.equal(pinged[1], idKey(cs[1]!.id));
  assert.not.ok(t.has(cs[1]!.id), 'dead oldest evicted');
  assert.ok(t.has(second.id), 'most recent replacement promoted');
  assert.is(t.size, 3);
});

s('pingQuietMs: a full bucket pings its oldest entry only once it has been quiet that long', async () => {
  const clock = new VirtualClock();
  const pinged: string[] = [];
  const t = table({ k: 2, pingQuietMs: 1000, ping: async (c) => { pinged.push(idKey(c.id)); return true; } }, clock);
  const cs = Array.from({ length: 2 }, (_, i) => contactInBucket(t.self, 255, `10.7.${i}.1`));
  for (const c of cs) assert.is(t.add(c), 'added');
  assert.is(t.add(contactInBucket(t.self, 255, '10.7.10.1')), 'replacement');
  assert.equal(pinged, []);
  await clock.advance(1000);
  assert.is(t.add(contactInBucket(t.self, 255, '10.7.11.1')), 'pending');
  await Promise.resolve(); await Promise.resolve();
  assert.equal(pinged, [idKey(cs[0]!.id)]);
});

s('an unanswered ping times out on the clock and counts as dead', async () => {
  const clock = new VirtualClock();
  const t = table({ k: 1, pingTimeoutMs: 500, ping: () => new Promise(() => {}) }, clock);
  const old = contactInBucket(t.self, 255, '10.6.1.1');
  const fresh = contactInBucket(t.self, 255, '10.6.2.1');
  t.add(old);
  assert.is(t.add(fresh), 'pending');
  await clock.advance(499);
  assert.ok(t.has(old.id));
  await clock.advance(1);
  assert.not.ok(t.has(old.id));
  assert.ok(t.has(fresh.id));
  assert.is(clock.pending, 0);
});

s('without ping, newcomers wait; failures promote replacements', () => {
  const t = table({ k: 2, maxFailures: 3 });
  const a = contactInBucket(t.self, 255, '10.8.1.1');
  const b = contactInBucket(t.self, 255, '10.8.2.1');
  const c = contactInBucket(t.self, 255, '10.8.3.1');
  t.add(a); t.add(b);
  assert.is(t.add(c), 'replacement');
  t.markFailed(a.id); // a replacement exists: replace at once
  assert.not.ok(t.has(a.id));
  assert.ok(t.has(c.id));
  t.markFailed(b.id); t.markFailed(b.id);
  assert.ok(t.has(b.id), 'kept while under maxFailures with no replacement');
  t.markFailed(b.id);
  assert.not.ok(t.has(b.id));
  assert.is(t.add(b), 'added');
  assert.is(t.add(b), 'updated');
});

s('closest(target, n) equals the brute-force answer', () => {
  const t = table();
  const all: Contact[] = [];
  for (let i = 0; i < 400; i++) {
    const c = makeContact(`172.16.${i >> 2}.${i & 3}`);
    if (t.add(c) === 'added') all.push(c);
  }
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 1, max: 40 }), (target, n) => {
    const got = t.closest(target, n);
    const want = all.slice().sort((x, y) => compareDistance(target, x.id, y.id)).slice(0, n);
    return got.length === want.length && got.every((c, i) => idEquals(c.id, want[i]!.id));
  }));
  // Targets close to self (and self itself) exercise the bucket-order selection's other groups.
  fc.assert(fc.property(fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 60 }), (at, x, n) => {
    const target = t.self.slice();
    if (at < 32) target[at] = target[at]! ^ x;
    const got = t.closest(target, n, (c) => c.id[31]! !== 7);
    const want = all.filter((c) => c.id[31]! !== 7).sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, n);
    return got.length === want.length && got.every((c, i) => idEquals(c.id, want[i]!.id));
  }));
});

s('refreshTargets names idle buckets; close() aborts pings', async () => {
  const clock = new VirtualClock();
  let signal: AbortSignal | undefined;
  const t = table({ k: 1, ping: (_c, sig) => { signal = sig; return new Promise(() => {}); } }, clock);
  t.add(contactInBucket(t.self, 255, '10.7.1.1'));
  t.add(contactInBucket(t.self, 254, '10.7.2.1'));
  await clock.advance(3600_000);
  const targets = t.refreshTargets(3600_000, random);
  assert.equal(targets.map((x) => bucketIndex(t.self, x)).sort(), [254, 255]);
  assert.equal(t.refreshTargets(3600_000, random), [], 'refreshed buckets are not idle');
  assert.is(t.add(contactInBucket(t.self, 255, '10.7.3.1')), 'pending');
  t.close();
  assert.ok(signal?.aborted);
});

s.run();
