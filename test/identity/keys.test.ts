import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { SeededRandom } from '../../src/random.ts';
import { generateKeyPair, isValidPublicKey, keyPairFromSecretKey, signMessage, verifySignature } from '../../src/identity/keys.ts';
import { isNodeId, nodeId, nodeIdBytes } from '../../src/identity/node-id.ts';
import { fingerprint, fingerprintGroups } from '../../src/identity/fingerprint.ts';
import { Identity } from '../../src/identity/identity.ts';

// RFC 8032 section 7.1, TEST 1 (empty message).
const RFC_SECRET = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const RFC_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const RFC_SIG =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

const keys = suite('identity: keys, node IDs, fingerprints');

keys('derives the RFC 8032 public key and signature', () => {
  const kp = keyPairFromSecretKey(hexToBytes(RFC_SECRET));
  assert.is(bytesToHex(kp.publicKey), RFC_PUBLIC);
  const sig = signMessage(kp.secretKey, new Uint8Array(0));
  assert.is(bytesToHex(sig), RFC_SIG);
  assert.ok(verifySignature(kp.publicKey, new Uint8Array(0), sig));
});

keys('sign/verify round trip; tampering and wrong keys fail; bad input returns false', () => {
  const r = new SeededRandom(3);
  const a = generateKeyPair(r);
  const b = generateKeyPair(r);
  const msg = new TextEncoder().encode('hello tincan');
  const sig = signMessage(a.secretKey, msg);
  assert.ok(verifySignature(a.publicKey, msg, sig));
  assert.not.ok(verifySignature(b.publicKey, msg, sig));
  const other = msg.slice();
  other[0]! ^= 1;
  assert.not.ok(verifySignature(a.publicKey, other, sig));
  const badSig = sig.slice();
  badSig[10]! ^= 0x40;
  assert.not.ok(verifySignature(a.publicKey, msg, badSig));
  assert.not.ok(verifySignature(a.publicKey, msg, sig.subarray(0, 63)));
  assert.not.ok(verifySignature(new Uint8Array(31), msg, sig));
  assert.not.ok(verifySignature(new Uint8Array(32).fill(0xff), msg, sig));
  assert.ok(isValidPublicKey(a.publicKey));
  assert.not.ok(isValidPublicKey(new Uint8Array(5)));
  assert.throws(() => keyPairFromSecretKey(new Uint8Array(31)), /32 bytes/);
});

keys('key generation is deterministic from a seeded Random', () => {
  const x = Identity.generate(new SeededRandom(42));
  const y = Identity.generate(new SeededRandom(42));
  const z = Identity.generate(new SeededRandom(43));
  assert.is(x.id, y.id);
  assert.is.not(x.id, z.id);
});

keys('node ID is SHA-256 of the public key, in hex', () => {
  const pub = hexToBytes(RFC_PUBLIC);
  const expected = createHash('sha256').update(pub).digest('hex');
  assert.is(nodeId(pub), expected);
  assert.is(bytesToHex(nodeIdBytes(pub)), expected);
  assert.is(expected, '21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9');
  assert.ok(isNodeId(expected));
  assert.not.ok(isNodeId(expected.toUpperCase()));
  assert.throws(() => nodeId(new Uint8Array(33)), /32 bytes/);
});

keys('fingerprint is stable for a fixed key and follows its documented definition', () => {
  const pub = hexToBytes(RFC_PUBLIC);
  // Pinned: changing the derivation changes every user's safety number.
  assert.is(fingerprint(pub), '59975 44984 17677 32398 08896 53149 06829 13864 42558 74069 56562 23632');
  // The definition, recomputed independently with node:crypto and BigInt.
  const h = createHash('sha512').update(new TextEncoder().encode('tincan/fingerprint/v1')).update(pub).digest();
  const groups = Array.from({ length: 12 }, (_, i) => {
    let v = 0n;
    for (let j = 0; j < 5; j++) v = v * 256n + BigInt(h[5 * i + j]!);
    return String(v % 100000n).padStart(5, '0');
  });
  assert.equal(fingerprintGroups(pub), groups);
  const id = Identity.fromSecretKey(hexToBytes(RFC_SECRET));
  assert.is(id.fingerprint, fingerprint(pub));
  assert.is(id.publicKeyHex, RFC_PUBLIC);
  assert.ok(/^(\d{5} ){11}\d{5}$/.test(id.fingerprint));
});

keys('different keys give different fingerprints', () => {
  const r = new SeededRandom(9);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(Identity.generate(r).fingerprint);
  assert.is(seen.size, 200);
});

keys.run();
