/**
 * The simulator's platform Ed25519 (src/overlay/sim/native-ed25519.ts) and its memoized
 * presence verifier give exactly the results of the node's own code: the same signature
 * bytes as Identity.sign, and the same verdicts as presenceVerifier on valid, tampered,
 * expired, future, too-long-lived, mis-derived and malformed records.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { Identity } from '../../src/identity/identity.ts';
import { presenceVerifier, signPresence } from '../../src/overlay/presence-signing.ts';
import { nativeIdentity, nativeSigner, nativeVerify } from '../../src/overlay/sim/native-ed25519.ts';
import { MemoVerifier } from '../../src/overlay/sim/memo-verifier.ts';
import type { PresenceRecord } from '../../src/overlay/presence-record.ts';

const HOUR = 3600_000;
const s = suite('overlay/sim native Ed25519');

s('native signatures are byte for byte Identity.sign; native verification agrees', () => {
  const random = new SeededRandom(5);
  for (let i = 0; i < 20; i++) {
    const id = Identity.generate(random);
    const message = random.bytes(1 + random.int(300));
    const sig = nativeSigner(id).sign(message);
    assert.equal(sig, id.sign(message));
    assert.ok(nativeVerify(id.publicKey, message, sig));
    const bad = sig.slice();
    bad[random.int(64)] ^= 1 << random.int(8);
    assert.not.ok(nativeVerify(id.publicKey, message, bad));
    assert.not.ok(nativeVerify(id.publicKey, message, sig.subarray(1)));
    assert.not.ok(nativeVerify(new Uint8Array(32).fill(0xff), message, sig));
  }
});

s('native identities are Identity.generate from the same seed bytes: keys, node ID', () => {
  const a = new SeededRandom(8);
  const b = new SeededRandom(8);
  for (let i = 0; i < 50; i++) {
    const ref = Identity.generate(a);
    const mine = nativeIdentity(b);
    assert.equal(mine.secretKey, ref.secretKey);
    assert.equal(mine.publicKey, ref.publicKey);
    assert.equal(mine.idBytes, ref.idBytes);
    assert.is(mine.id, ref.id);
    assert.equal(a.bytes(4), b.bytes(4)); // the same randomness consumed
  }
});

s('MemoVerifier verdicts equal presenceVerifier verdicts', async () => {
  const clock = new VirtualClock();
  const random = new SeededRandom(6);
  const reference = presenceVerifier({ clock, maxLifetimeMs: 2 * HOUR });
  const memo = new MemoVerifier({ clock, maxLifetimeMs: 2 * HOUR });
  const alice = Identity.generate(random);
  const other = Identity.generate(random);
  const sign = (lifetimeMs: number, at: number, signer = alice) =>
    signPresence(signer, { name: 'alice', supernodes: [], addresses: [{ host: '198.51.100.1', port: 5000 }], seq: 1, lifetimeMs }, { now: () => at });
  const now = clock.now();
  const good = sign(HOUR, now - 10 * 60_000);
  const records: unknown[] = [
    good,
    sign(HOUR, now - 2 * HOUR), // expired
    sign(HOUR, now + 10 * 60_000), // issued in the future
    sign(HOUR, now + 30_000), // within the skew
    sign(3 * HOUR, now), // lifetime too long
    { ...good, name: 'alicia' }, // tampered
    { ...good, seq: 2 },
    { ...good, nodeId: other.id }, // ID not derived from the key
    { ...good, publicKey: Array.from(other.publicKey, (b) => b.toString(16).padStart(2, '0')).join(''), nodeId: other.id }, // key swapped
    { ...good, signature: good.signature.slice(0, 126) + '00' },
    { ...good, signature: 'zz' },
    { ...good, name: '' },
    { ...good, supernodes: 'x' },
    null,
  ];
  for (const r of records) assert.equal(memo.verify(r as PresenceRecord), reference(r as PresenceRecord), JSON.stringify(r));
  // An hour later the time rules give other verdicts: the memo must not hand out a stale
  // acceptance (a refusal for a bad signature stays cached with its first reason).
  await clock.advance(HOUR);
  for (const r of records) assert.is(memo.verify(r as PresenceRecord).ok, reference(r as PresenceRecord).ok, JSON.stringify(r));
  assert.ok(memo.stats.hits > 0);
});

s.run();
