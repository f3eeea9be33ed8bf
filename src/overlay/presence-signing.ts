/**
 * Presence records as identity's signed records: a {@link PresenceRecord} is a
 * `SignedRecord` of kind `"presence"` whose JSON body is `{name, supernodes, addresses}`;
 * `publicKey`, `seq`, `issuedAt`, `expiresAt` and `signature` are the envelope's fields
 * (hex-encoded here), and `nodeId` is derived from the key. This module converts
 * between the two forms, signs, and gives the record store and lookups their `verify`.
 *
 * @example
 * ```ts
 * const record = signPresence(identity, { name: 'alice', supernodes, addresses: [], seq: 7, lifetimeMs: 3_600_000 }, clock);
 * const verify = presenceVerifier({ clock, maxLifetimeMs: 2 * 3_600_000 });
 * verify(record);                      // { ok: true }
 * const store = new RecordStore({ clock, self, verify });
 * ```
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Clock } from '../clock.ts';
import type { JsonValue } from '../identity/canonical-json.ts';
import type { Signer } from '../identity/identity.ts';
import type { SignedRecord } from '../identity/record.ts';
import { signRecord, verifyRecord } from '../identity/record-sign.ts';
import type { Address } from '../net/net.ts';
import { toHex } from './node-id.ts';
import { checkRecordShape, type PresenceRecord, type SupernodeRef } from './presence-record.ts';
import type { RecordVerdict } from './record-store.ts';

/** The signed-record kind of presence records. */
export const PRESENCE_KIND = 'presence';

/** What a publisher decides; the signer supplies the key and the clock `issuedAt`. */
export interface PresenceDraft {
  name: string;
  supernodes: readonly SupernodeRef[];
  addresses: readonly Address[];
  seq: number;
  lifetimeMs: number;
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function body(r: Pick<PresenceRecord, 'name' | 'supernodes' | 'addresses'>): JsonValue {
  return {
    name: r.name,
    supernodes: r.supernodes.map((s) => ({ id: s.id, address: { host: s.address.host, port: s.address.port } })),
    addresses: r.addresses.map((a) => ({ host: a.host, port: a.port })),
  };
}

/** Sign a presence record. Throws identity's RecordFormatError on out-of-range fields. */
export function signPresence(signer: Signer, draft: PresenceDraft, clock: Pick<Clock, 'now'>): PresenceRecord {
  const signed = signRecord(signer, { kind: PRESENCE_KIND, seq: draft.seq, lifetimeMs: draft.lifetimeMs, body: body(draft) }, clock);
  const r = presenceFromSigned(signed);
  if (!r) throw new RangeError('presence draft does not fit the presence record bounds');
  return r;
}

/** The signed-record envelope of a presence record (for verification or binary encoding). */
export function presenceToSigned(r: PresenceRecord): SignedRecord {
  return {
    kind: PRESENCE_KIND,
    publicKey: fromHex(r.publicKey),
    seq: r.seq,
    issuedAt: r.issuedAt,
    expiresAt: r.expiresAt,
    body: body(r),
    signature: fromHex(r.signature),
  };
}

/**
 * A presence record from a decoded signed record, or undefined if it is not a presence
 * record or its body is out of bounds. The signature is not checked here.
 */
export function presenceFromSigned(s: SignedRecord): PresenceRecord | undefined {
  if (s.kind !== PRESENCE_KIND || typeof s.body !== 'object' || s.body === null || Array.isArray(s.body)) return undefined;
  const b = s.body as Record<string, unknown>;
  const candidate = {
    name: b.name,
    publicKey: toHex(s.publicKey),
    nodeId: toHex(sha256(s.publicKey)),
    supernodes: b.supernodes,
    addresses: b.addresses,
    seq: s.seq,
    issuedAt: s.issuedAt,
    expiresAt: s.expiresAt,
    signature: toHex(s.signature),
  };
  const shape = checkRecordShape(candidate);
  return shape.ok ? shape.record : undefined;
}

/** Options for {@link presenceVerifier}. */
export interface PresenceVerifierOptions {
  clock: Pick<Clock, 'now'>;
  /** Longest accepted lifetime (should match the record store's `maxTtlMs`). */
  maxLifetimeMs: number;
  /** Tolerated clock skew (default identity's, 60 s). */
  maxClockSkewMs?: number;
}

/**
 * The `verify` callback for {@link RecordStore} and lookups: bounded shape, node ID
 * derivation, then identity's signed-record check (kind, times, Ed25519 signature).
 */
export function presenceVerifier(options: PresenceVerifierOptions): (r: PresenceRecord) => RecordVerdict {
  return (r) => {
    const shape = checkRecordShape(r);
    if (!shape.ok) return { ok: false, error: shape.error };
    if (toHex(sha256(fromHex(r.publicKey))) !== r.nodeId) return { ok: false, error: 'nodeId is not SHA-256 of publicKey' };
    const v = verifyRecord(presenceToSigned(r), { kind: PRESENCE_KIND, maxLifetimeMs: options.maxLifetimeMs, maxClockSkewMs: options.maxClockSkewMs }, options.clock);
    return v.ok ? { ok: true } : { ok: false, error: `${v.reason}: ${v.message}` };
  };
}
