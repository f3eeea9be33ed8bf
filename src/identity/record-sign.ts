/**
 * Signing and verifying {@link SignedRecord}s, with the time rules every receiver
 * applies: not expired, not issued in the future, and no longer-lived than the
 * receiver's policy allows (a record "valid for 10 years" would outlive a key
 * compromise, so the receiver caps it).
 *
 * @example
 * ```ts
 * const rec = signRecord(identity, { kind: 'presence', seq: 7, body: { name: 'alice' }, lifetimeMs: 3_600_000 }, clock);
 * const bytes = encodeRecord(rec);
 * const res = verifyRecordBytes(bytes, { kind: 'presence', maxLifetimeMs: 86_400_000 }, clock);
 * if (!res.ok) log.warn({ reason: res.reason }, res.message);
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import type { JsonValue } from './canonical-json.ts';
import type { Signer } from './identity.ts';
import { verifySignature } from './keys.ts';
import { type SignedRecord, RecordFormatError, decodeRecord, recordSigningMessage } from './record.ts';

/** What to sign: the signer supplies the key, the clock supplies `issuedAt`. */
export interface RecordDraft<B extends JsonValue = JsonValue> {
  kind: string;
  seq: number;
  body: B;
  /** How long the record stays valid, in ms (`expiresAt = issuedAt + lifetimeMs`). */
  lifetimeMs: number;
}

/**
 * Sign a record with `issuedAt = clock.now()` (rounded down to whole ms). Throws a
 * RecordFormatError if a field is out of range or the body is not JSON.
 */
export function signRecord<B extends JsonValue>(signer: Signer, draft: RecordDraft<B>, clock: Pick<Clock, 'now'>): SignedRecord<B> {
  const issuedAt = Math.floor(clock.now());
  const fields = {
    kind: draft.kind,
    publicKey: signer.publicKey,
    seq: draft.seq,
    issuedAt,
    expiresAt: issuedAt + draft.lifetimeMs,
    body: draft.body,
  };
  const signature = signer.sign(recordSigningMessage(fields));
  return { ...fields, signature };
}

/** The receiver's rules. */
export interface RecordPolicy {
  /** Longest accepted lifetime (`expiresAt - issuedAt`), and so the furthest accepted expiry. */
  maxLifetimeMs: number;
  /** Tolerated clock difference between signer and receiver, in ms (default 60 000). */
  maxClockSkewMs?: number;
  /** If set, only records of this kind are accepted. */
  kind?: string;
}

/** Why a record was refused. */
export type RecordRejection =
  | 'malformed' // bad structure or field ranges
  | 'wrong-kind' // not the kind the policy expects
  | 'expiry-too-far' // lifetime or expiry beyond the policy's maximum
  | 'not-yet-valid' // issued further in the future than the clock skew allows
  | 'expired' // now >= expiresAt
  | 'bad-signature'; // signature does not match the fields and key

/** The outcome of verification: the record, or a reason and a readable message. */
export type RecordVerdict<B extends JsonValue = JsonValue> =
  | { ok: true; record: SignedRecord<B> }
  | { ok: false; reason: RecordRejection; message: string };

const DEFAULT_SKEW_MS = 60_000;

function reject(reason: RecordRejection, message: string): { ok: false; reason: RecordRejection; message: string } {
  return { ok: false, reason, message };
}

/**
 * Check a record against `policy` at `clock.now()`: kind, lifetime and expiry, then the
 * signature (cheap checks first). Never throws for a bad record.
 */
export function verifyRecord<B extends JsonValue = JsonValue>(
  record: SignedRecord<B>,
  policy: RecordPolicy,
  clock: Pick<Clock, 'now'>,
): RecordVerdict<B> {
  let message: Uint8Array;
  try {
    message = recordSigningMessage(record);
  } catch (err) {
    if (err instanceof RecordFormatError) return reject('malformed', err.message);
    throw err;
  }
  if (policy.kind !== undefined && record.kind !== policy.kind) {
    return reject('wrong-kind', `record kind is "${record.kind}", expected "${policy.kind}"`);
  }
  const now = clock.now();
  const skew = policy.maxClockSkewMs ?? DEFAULT_SKEW_MS;
  const lifetime = record.expiresAt - record.issuedAt;
  if (lifetime > policy.maxLifetimeMs) {
    return reject('expiry-too-far', `record lifetime ${lifetime} ms exceeds the maximum ${policy.maxLifetimeMs} ms`);
  }
  if (record.expiresAt > now + policy.maxLifetimeMs + skew) {
    return reject('expiry-too-far', `record expires ${record.expiresAt - now} ms from now, more than the maximum ${policy.maxLifetimeMs} ms`);
  }
  if (record.issuedAt > now + skew) {
    return reject('not-yet-valid', `record is issued ${record.issuedAt - now} ms in the future (clock skew allowed: ${skew} ms)`);
  }
  if (now >= record.expiresAt) {
    return reject('expired', `record expired ${now - record.expiresAt} ms ago`);
  }
  if (!verifySignature(record.publicKey, message, record.signature)) {
    return reject('bad-signature', 'record signature does not match its content and key');
  }
  return { ok: true, record };
}

/** Decode then verify; a decoding failure is reported as `malformed`. Never throws. */
export function verifyRecordBytes(bytes: Uint8Array, policy: RecordPolicy, clock: Pick<Clock, 'now'>): RecordVerdict {
  let record: SignedRecord;
  try {
    record = decodeRecord(bytes);
  } catch (err) {
    if (err instanceof RecordFormatError) return reject('malformed', err.message);
    throw err;
  }
  return verifyRecord(record, policy, clock);
}
