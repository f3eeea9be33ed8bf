import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { SeededRandom } from '../../src/random.ts';
import {
  DEFAULT_POW_DIFFICULTY, mintProofOfWork, mintProofOfWorkAsync, proofOfWorkBits, verifyProofOfWork,
} from '../../src/overlay/proof-of-work.ts';
import { type Contact, ContactVerifier } from '../../src/overlay/contact.ts';

const s = suite('overlay/proof-of-work');
const random = new SeededRandom(11);

s('minted nonces verify at their difficulty and are bound to the key', () => {
  for (const d of [0, 1, 4, 8, 10]) {
    const pk = random.bytes(32);
    const nonce = mintProofOfWork(pk, d);
    assert.ok(verifyProofOfWork(pk, nonce, d), `difficulty ${d}`);
    assert.ok(proofOfWorkBits(pk, nonce) >= d);
  }
  const pk = random.bytes(32);
  const nonce = mintProofOfWork(pk, 12);
  const other = random.bytes(32);
  assert.not.ok(verifyProofOfWork(other, nonce, 12), 'the nonce is worthless for another key (almost surely)');
});

s('tampered or malformed nonces fail; difficulty is validated', () => {
  const pk = random.bytes(32);
  const nonce = mintProofOfWork(pk, 10);
  assert.not.ok(verifyProofOfWork(pk, nonce.slice(0, 7), 10));
  assert.not.ok(verifyProofOfWork(pk, new Uint8Array(9), 10));
  fc.assert(fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (n) => {
    // A random nonce has >= 10 zero bits with probability 1/1024; the check must agree with the hash.
    return verifyProofOfWork(pk, n, 10) === (proofOfWorkBits(pk, n) >= 10);
  }));
  assert.throws(() => verifyProofOfWork(pk, nonce, -1), RangeError);
  assert.throws(() => verifyProofOfWork(pk, nonce, 1.5), RangeError);
  assert.throws(() => mintProofOfWork(pk, 99), RangeError);
  assert.throws(() => mintProofOfWork(pk, 30, { maxAttempts: 10 }), /no proof of work/);
});

s('minting cost grows as 2^D (mean attempts within a factor of the expectation)', () => {
  let attempts = 0;
  const runs = 40;
  for (let i = 0; i < runs; i++) {
    const nonce = mintProofOfWork(random.bytes(32), 8);
    attempts += Number(new DataView(nonce.buffer, nonce.byteOffset).getBigUint64(0)) + 1;
  }
  const mean = attempts / runs;
  assert.ok(mean > 256 / 3 && mean < 256 * 3, `mean attempts ${mean} for D=8`);
  assert.is(DEFAULT_POW_DIFFICULTY, 18);
});

s('async minting yields between batches and can be aborted', async () => {
  const pk = random.bytes(32);
  let yields = 0;
  const nonce = await mintProofOfWorkAsync(pk, 10, { batch: 64, yieldFn: async () => { yields++; } });
  assert.ok(verifyProofOfWork(pk, nonce, 10));
  const ac = new AbortController();
  const p = mintProofOfWorkAsync(pk, 40, { batch: 16, yieldFn: async () => { ac.abort(new Error('stop')); } , signal: ac.signal });
  await p.then(() => assert.unreachable(), (e: Error) => assert.is(e.message, 'stop'));
  assert.ok(yields >= 0);
});

const c = suite('overlay/contact verifier');

function contact(d: number): Contact {
  const publicKey = random.bytes(32);
  return { id: sha256(publicKey), publicKey, pow: mintProofOfWork(publicKey, d), address: { host: '198.51.100.7', port: 4000 } };
}

c('accepts honest contacts, rejects wrong IDs, weak work, bad shapes and addresses', () => {
  const v = new ContactVerifier({ difficulty: 6 });
  const good = contact(6);
  assert.equal(v.verify(good), { ok: true });
  assert.equal(v.verify({ ...good, id: random.bytes(32) }), { ok: false, reason: 'id' });
  let weak = contact(0);
  while (proofOfWorkBits(weak.publicKey, weak.pow) >= 6) weak = contact(0);
  assert.equal(v.verify(weak), { ok: false, reason: 'pow' });
  assert.equal(v.verify({ ...good, address: { host: 'evil.example', port: 1 } }), { ok: false, reason: 'address' });
  for (const bad of [null, 1, {}, { ...good, id: good.id.slice(1) }, { ...good, address: { host: '1.2.3.4', port: 0 } }, { ...good, pow: 'x' }]) {
    assert.equal(v.verify(bad), { ok: false, reason: 'shape' });
  }
  assert.ok(v.stats.rejected >= 9);
});

c('verdicts are cached (one hash per distinct contact), cache is bounded', () => {
  const v = new ContactVerifier({ difficulty: 4, cacheSize: 8 });
  const cs = Array.from({ length: 20 }, () => contact(4));
  for (let round = 0; round < 3; round++) for (const x of cs) assert.ok(v.accepts(x));
  assert.is(v.stats.cacheHits, 40);
  // A copy of a contact (as decoded from the wire) hits the field cache if still there.
  const copy = { ...cs[19]!, id: cs[19]!.id.slice(), publicKey: cs[19]!.publicKey.slice(), pow: cs[19]!.pow.slice() };
  assert.ok(v.accepts(copy));
});

s.run();
c.run();

const w = suite('overlay/contact wire form');

w('round trip; the ID is derived from the key; garbage never throws', async () => {
  const { contactFromWire, contactToWire } = await import('../../src/overlay/contact.ts');
  const v = new ContactVerifier({ difficulty: 5 });
  const c = contact(5);
  const wire = JSON.parse(JSON.stringify(contactToWire(c)));
  assert.not.ok('id' in wire);
  const back = contactFromWire(wire)!;
  assert.equal(back.id, c.id);
  assert.equal(back.publicKey, c.publicKey);
  assert.ok(v.accepts(back));
  assert.ok(JSON.stringify(wire).length <= 140, `small on the wire (${JSON.stringify(wire).length} bytes)`);
  for (const bad of [null, {}, { ...wire, key: wire.key.toUpperCase() }, { ...wire, pow: 'ab' }, { ...wire, host: 'x.example' }, { ...wire, port: 70000 }]) {
    assert.is(contactFromWire(bad), undefined);
  }
  fc.assert(fc.property(fc.anything(), (x) => contactFromWire(x) === undefined || typeof x === 'object'));
});

w.run();
