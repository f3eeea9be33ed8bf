import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SeededRandom } from '../../src/random.ts';
import { Identity } from '../../src/identity/identity.ts';
import { canonicalJson } from '../../src/identity/canonical-json.ts';
import { MAX_RECORD_BODY_BYTES, RecordFormatError, type SignedRecord, decodeRecord, encodeRecord } from '../../src/identity/record.ts';
import { type RecordPolicy, signRecord, verifyRecord, verifyRecordBytes } from '../../src/identity/record-sign.ts';
import { compareRecords, isNewer } from '../../src/identity/record-order.ts';

const T0 = 1_800_000_000_000;
const HOUR = 3_600_000;
const at = (t: number) => ({ now: () => t });
const alice = Identity.generate(new SeededRandom(1));
const bob = Identity.generate(new SeededRandom(2));
const policy: RecordPolicy = { maxLifetimeMs: 24 * HOUR, kind: 'presence' };
const body = { name: 'alice', addresses: ['192.0.2.1:4000'], supernodes: [] };

/** Byte offset of an ASCII string inside binary data. */
function indexOfBytes(haystack: Uint8Array, needle: string): number {
  const n = new TextEncoder().encode(needle);
  outer: for (let i = 0; i + n.length <= haystack.length; i++) {
    for (let j = 0; j < n.length; j++) if (haystack[i + j] !== n[j]) continue outer;
    return i;
  }
  throw new Error(`${needle} not found`);
}

function presence(seq = 1, lifetimeMs = HOUR, signer = alice): SignedRecord {
  return signRecord(signer, { kind: 'presence', seq, body, lifetimeMs }, at(T0));
}

const canon = suite('identity: canonical JSON');

canon('sorts keys, drops whitespace, refuses non-JSON values', () => {
  assert.is(canonicalJson({ b: 1, a: [true, null, 'x', { d: 1.5, c: -0 }] }), '{"a":[true,null,"x",{"c":0,"d":1.5}],"b":1}');
  assert.is(canonicalJson('é\u2028"'), JSON.stringify('é\u2028"'));
  assert.throws(() => canonicalJson({ a: undefined }), /\$\.a: a undefined/);
  assert.throws(() => canonicalJson([1, NaN]), /\$\[1\]: NaN/);
  assert.throws(() => canonicalJson(new Date(0)), /Date/);
  assert.throws(() => canonicalJson(new Uint8Array(1)), /Uint8Array/);
  assert.throws(() => canonicalJson(10n), /bigint/);
  let deep: unknown = 1;
  for (let i = 0; i < 40; i++) deep = [deep];
  assert.throws(() => canonicalJson(deep), /deeper/);
});

const rec = suite('identity: signed records');

rec('sign, encode, decode and verify round trip', () => {
  const r = presence();
  assert.is(r.issuedAt, T0);
  assert.is(r.expiresAt, T0 + HOUR);
  const bytes = encodeRecord(r);
  const back = decodeRecord(bytes);
  assert.equal(back, r);
  assert.equal(encodeRecord(back), bytes);
  const v = verifyRecordBytes(bytes, policy, at(T0 + 1000));
  assert.ok(v.ok);
  if (v.ok) assert.equal(v.record.body, body);
});

rec('encoding is deterministic: key order in the body does not matter', () => {
  const a = signRecord(alice, { kind: 'k', seq: 1, body: { x: 1, y: 2 }, lifetimeMs: HOUR }, at(T0));
  const b = signRecord(alice, { kind: 'k', seq: 1, body: { y: 2, x: 1 }, lifetimeMs: HOUR }, at(T0));
  assert.equal(encodeRecord(a), encodeRecord(b));
});

rec('tampering with any signed field is detected', () => {
  const r = presence();
  const now = at(T0 + 1000);
  const tampered: SignedRecord[] = [
    { ...r, body: { ...body, name: 'mallory' } },
    { ...r, seq: r.seq + 1 },
    { ...r, expiresAt: r.expiresAt + 1000 },
    { ...r, issuedAt: r.issuedAt - 1000 },
    { ...r, kind: 'presence2' },
    { ...r, publicKey: bob.publicKey },
  ];
  for (const t of tampered) {
    const v = verifyRecord(t, { maxLifetimeMs: 24 * HOUR }, now);
    assert.is(v.ok, false);
    if (!v.ok) assert.is(v.reason, 'bad-signature', JSON.stringify(v));
  }
  // Flip every single bit of the encoding: never verifies.
  const bytes = encodeRecord(r);
  for (let i = 0; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const copy = bytes.slice();
      copy[i]! ^= 1 << bit;
      const v = verifyRecordBytes(copy, { maxLifetimeMs: 24 * HOUR }, now);
      assert.is(v.ok, false, `bit ${bit} of byte ${i}`);
    }
  }
});

rec('expiry rules: expired, not yet valid, lifetime and expiry too far', () => {
  const r = presence(1, HOUR);
  const check = (rec: SignedRecord, now: number, p: RecordPolicy = policy) => {
    const v = verifyRecord(rec, p, at(now));
    return v.ok ? 'ok' : v.reason;
  };
  assert.is(check(r, T0), 'ok');
  assert.is(check(r, T0 + HOUR - 1), 'ok');
  assert.is(check(r, T0 + HOUR), 'expired');
  assert.is(check(r, T0 + 2 * HOUR), 'expired');
  // Signer's clock slightly ahead: tolerated within the skew (default 60 s).
  assert.is(check(r, T0 - 30_000), 'ok');
  assert.is(check(r, T0 - 61_000), 'not-yet-valid');
  assert.is(check(r, T0 - 1000, { ...policy, maxClockSkewMs: 0 }), 'not-yet-valid');
  // A lifetime longer than the receiver allows is refused even if correctly signed.
  const long = presence(1, 48 * HOUR);
  assert.is(check(long, T0), 'expiry-too-far');
  const v = verifyRecord(long, policy, at(T0));
  assert.ok(!v.ok && /exceeds the maximum/.test(v.message));
  assert.is(check(r, T0, { maxLifetimeMs: HOUR - 1 }), 'expiry-too-far');
  assert.is(check(r, T0, { ...policy, kind: 'stream' }), 'wrong-kind');
});

rec('signing refuses out-of-range fields with a clear error', () => {
  const sign = (d: Partial<{ kind: string; seq: number; lifetimeMs: number; body: unknown }>) => () =>
    signRecord(alice, { kind: 'presence', seq: 1, body: {}, lifetimeMs: HOUR, ...d } as never, at(T0));
  assert.throws(sign({ kind: "Presence" }), (e: unknown) => e instanceof RecordFormatError);
  assert.throws(sign({ kind: '' }), /kind/);
  assert.throws(sign({ kind: 'x'.repeat(33) }), /kind/);
  assert.throws(sign({ seq: -1 }), /seq/);
  assert.throws(sign({ seq: 1.5 }), /seq/);
  assert.throws(sign({ seq: 2 ** 53 }), /seq/);
  assert.throws(sign({ lifetimeMs: 0 }), /expiresAt/);
  assert.throws(sign({ body: { big: 'x'.repeat(MAX_RECORD_BODY_BYTES) } }), /body is \d+ bytes/);
  assert.throws(sign({ body: { f: () => 1 } }), /body is not JSON/);
});

rec('decoder errors say what is wrong', () => {
  const bytes = encodeRecord(presence());
  const err = (b: Uint8Array) => {
    try {
      decodeRecord(b);
    } catch (e) {
      assert.instance(e, RecordFormatError);
      return (e as Error).message;
    }
    return 'decoded';
  };
  assert.match(err(new Uint8Array(0)), /truncated: version/);
  assert.match(err(Uint8Array.of(2)), /unsupported record version 2/);
  assert.match(err(bytes.subarray(0, 20)), /truncated/);
  assert.match(err(bytes.subarray(0, bytes.length - 1)), /truncated: signature/);
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.match(err(longer), /1 unexpected bytes after the signature/);
  // A body that is not JSON, or JSON but not in canonical form, is refused.
  const r = presence();
  const broken = encodeRecord({ ...r, body: { a: 1 } }).slice();
  const i = indexOfBytes(broken, '{"a":1}');
  broken.set(new TextEncoder().encode('{"a":1,'), i);
  assert.match(err(broken), /body is not valid JSON/);
  const spaced = encodeRecord({ ...r, body: 'ab' }).slice();
  const j = indexOfBytes(spaced, '"ab"');
  spaced.set(new TextEncoder().encode(' 12 '), j);
  assert.match(err(spaced), /not in canonical JSON form/);
});

rec('newer-than: higher seq wins; equal seq is broken deterministically', () => {
  const r1 = presence(1);
  const r2 = presence(2);
  assert.ok(isNewer(r2, r1));
  assert.not.ok(isNewer(r1, r2));
  assert.not.ok(isNewer(r1, r1));
  assert.is(compareRecords(r1, { ...r1 }), 0);
  // Seq beats time: an older timestamp with a higher seq still wins.
  const later = signRecord(alice, { kind: 'presence', seq: 1, body, lifetimeMs: HOUR }, at(T0 + 5000));
  const higher = signRecord(alice, { kind: 'presence', seq: 3, body, lifetimeMs: HOUR }, at(T0));
  assert.ok(isNewer(higher, later));
  // Equivocation at the same seq: both orders agree.
  const other = signRecord(alice, { kind: 'presence', seq: 1, body: { name: 'alice2' }, lifetimeMs: HOUR }, at(T0));
  assert.is(compareRecords(r1, other), -compareRecords(other, r1));
  assert.is.not(compareRecords(r1, other), 0);
  assert.throws(() => compareRecords(r1, presence(1, HOUR, bob)), /different keys or kinds/);
});

canon.run();
rec.run();
