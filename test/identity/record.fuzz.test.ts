import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { SeededRandom } from '../../src/random.ts';
import { Identity } from '../../src/identity/identity.ts';
import { type JsonValue, canonicalJson } from '../../src/identity/canonical-json.ts';
import { MAX_RECORD_BODY_BYTES, RecordFormatError, decodeRecord, encodeRecord } from '../../src/identity/record.ts';
import { signRecord, verifyRecord, verifyRecordBytes } from '../../src/identity/record-sign.ts';

const T0 = 1_800_000_000_000;
const clock = { now: () => T0 };
const policy = { maxLifetimeMs: 7 * 86_400_000 };
const signers = Array.from({ length: 4 }, (_, i) => Identity.generate(new SeededRandom(100 + i)));
const fits = (v: JsonValue) => new TextEncoder().encode(canonicalJson(v)).length <= MAX_RECORD_BODY_BYTES;

const arbBody = fc.jsonValue({ maxDepth: 4 }).filter((v) => fits(v as JsonValue)) as fc.Arbitrary<JsonValue>;
const arbDraft = fc.record({
  signer: fc.integer({ min: 0, max: signers.length - 1 }),
  kind: fc.stringMatching(/^[a-z][a-z0-9.-]{0,31}$/),
  seq: fc.maxSafeNat(),
  lifetimeMs: fc.integer({ min: 1, max: policy.maxLifetimeMs }),
  body: arbBody,
});

function decodeOutcome(bytes: Uint8Array): 'ok' | 'format-error' {
  try {
    decodeRecord(bytes);
    return 'ok';
  } catch (err) {
    if (!(err instanceof RecordFormatError)) throw new Error(`decoder threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
    assert.ok((err as Error).message.length > 0);
    return 'format-error';
  }
}

const fuzz = suite('identity: record decoder and signatures (fast-check)');

fuzz('random bytes never crash the decoder: it decodes or throws a RecordFormatError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      decodeOutcome(bytes);
      assert.is(verifyRecordBytes(bytes, policy, clock).ok, false);
    }),
    { numRuns: 2000 },
  );
});

fuzz('random bytes after a valid header prefix never crash the decoder', () => {
  const valid = encodeRecord(signRecord(signers[0]!, { kind: 'presence', seq: 1, body: { n: 1 }, lifetimeMs: 1000 }, clock));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: valid.length }), fc.uint8Array({ maxLength: 200 }), (cut, tail) => {
      const bytes = new Uint8Array(cut + tail.length);
      bytes.set(valid.subarray(0, cut));
      bytes.set(tail, cut);
      decodeOutcome(bytes);
    }),
    { numRuns: 2000 },
  );
});

fuzz('sign -> encode -> decode -> verify round trips for any body', () => {
  fc.assert(
    fc.property(arbDraft, (d) => {
      const record = signRecord(signers[d.signer]!, { kind: d.kind, seq: d.seq, body: d.body, lifetimeMs: d.lifetimeMs }, clock);
      const bytes = encodeRecord(record);
      const back = decodeRecord(bytes);
      assert.equal(encodeRecord(back), bytes);
      assert.is(canonicalJson(back.body), canonicalJson(d.body));
      const v = verifyRecord(back, policy, clock);
      assert.ok(v.ok, v.ok ? '' : v.message);
    }),
    { numRuns: 150 },
  );
});

fuzz('any single-byte change to a valid record is refused', () => {
  fc.assert(
    fc.property(arbDraft, fc.nat(), fc.integer({ min: 1, max: 255 }), (d, pos, xor) => {
      const record = signRecord(signers[d.signer]!, { kind: d.kind, seq: d.seq, body: d.body, lifetimeMs: d.lifetimeMs }, clock);
      const bytes = encodeRecord(record);
      const i = pos % bytes.length;
      bytes[i]! ^= xor;
      assert.is(verifyRecordBytes(bytes, policy, clock).ok, false);
    }),
    { numRuns: 150 },
  );
});

fuzz.run();
