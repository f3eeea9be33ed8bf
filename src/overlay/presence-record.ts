/**
 * Signed presence records: what the directory stores so others can find a person.
 *
 * A leaf publishes `{name, publicKey, nodeId, supernodes, addresses, seq, issuedAt,
 * expiresAt, signature}` through its supernodes. The DHT stores it under two keys: the
 * hash of the normalised display name (names are not unique, so several publishers may
 * share a name key) and the publisher's node ID. The signature covers every other field;
 * its canonical encoding and check live in identity (injected into the store as
 * `verify`), so this module only defines the shape, the keys and a bounded structural
 * check for untrusted input.
 *
 * Binary fields are lower-case hex strings so records are plain JSON on the wire.
 *
 * @example
 * ```ts
 * const key = nameKey('  Alice ');            // same as nameKey('alice')
 * const check = checkRecordShape(untrusted);  // { ok: true, record } | { ok: false, error }
 * recordKeys(record);                         // [nameKey(record.name), nodeId bytes]
 * republishAt(record);                        // halfway to expiry
 * ```
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Address } from '../net/net.ts';
import { type NodeId, nodeIdFromHex } from './node-id.ts';
import { memoString } from '../memo-string.ts';

/** A supernode a leaf is attached to, as advertised in its record. */
export interface SupernodeRef {
  /** Hex node ID of the supernode. */
  readonly id: string;
  readonly address: Address;
}

/** A signed presence record (see module docs). */
export interface PresenceRecord {
  /** Display name, 1..64 characters; not unique. */
  readonly name: string;
  /** Hex Ed25519 public key of the publisher (64 hex chars). */
  readonly publicKey: string;
  /** Hex node ID = SHA-256(publicKey) (64 hex chars). */
  readonly nodeId: string;
  /** Supernodes the publisher is attached to (at most {@link MAX_RECORD_SUPERNODES}). */
  readonly supernodes: readonly SupernodeRef[];
  /** The publisher's own candidate addresses (at most {@link MAX_RECORD_ADDRESSES}). */
  readonly addresses: readonly Address[];
  /** Sequence number, strictly increasing per publisher. */
  readonly seq: number;
  /** Issue time, ms since the epoch. */
  readonly issuedAt: number;
  /** Expiry time, ms since the epoch. */
  readonly expiresAt: number;
  /** Hex Ed25519 signature over the canonical encoding of all other fields (128 hex chars). */
  readonly signature: string;
}

/** Longest display name, in UTF-16 code units. Bounds keep a record under ~1.5 KB of JSON. */
export const MAX_NAME_LENGTH = 64;
/** Most supernodes a record may list (a leaf keeps 3; slack for moves). */
export const MAX_RECORD_SUPERNODES = 8;
/** Most own addresses a record may list. */
export const MAX_RECORD_ADDRESSES = 8;

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const NAME_DOMAIN = 'tincan-name-v1\u0000';

/** Normalise a display name for keying and search: NFKC, trimmed, whitespace collapsed, lower case. */
export function normalizeName(name: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** The DHT key of a display name: SHA-256 of a domain tag and the normalised name. */
export function nameKey(name: string): NodeId {
  return nameKeys(name);
}

// Shared results: node IDs are immutable once made (node-id.ts).
const nameKeys = memoString((name: string) => sha256(new TextEncoder().encode(NAME_DOMAIN + normalizeName(name))), 16_384);

/** The two DHT keys a record is stored under: its name key and its publisher's node ID. */
export function recordKeys(record: PresenceRecord): [NodeId, NodeId] {
  return [nameKey(record.name), nodeIdFromHex(record.nodeId)];
}

/** When the publisher should republish: halfway between issue and expiry. */
export function republishAt(record: PresenceRecord): number {
  return record.issuedAt + Math.floor((record.expiresAt - record.issuedAt) / 2);
}

function isAddress(a: unknown): a is Address {
  if (typeof a !== 'object' || a === null) return false;
  const x = a as Record<string, unknown>;
  return typeof x.host === 'string' && x.host.length > 0 && x.host.length <= 64 &&
    Number.isInteger(x.port) && (x.port as number) > 0 && (x.port as number) <= 65535;
}

/** Result of {@link checkRecordShape}. */
export type ShapeCheck = { ok: true; record: PresenceRecord } | { ok: false; error: string };

/**
 * Bounded structural check of an untrusted value (types, lengths, ranges). It does not
 * verify the signature; that is the injected `verify` of the record store.
 */
export function checkRecordShape(x: unknown): ShapeCheck {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return { ok: false, error: 'record is not an object' };
  const r = x as Record<string, unknown>;
  if (typeof r.name !== 'string' || r.name.length === 0 || r.name.length > MAX_NAME_LENGTH || normalizeName(r.name) === '') {
    return { ok: false, error: `name must be 1..${MAX_NAME_LENGTH} characters` };
  }
  if (typeof r.publicKey !== 'string' || !HEX64.test(r.publicKey)) return { ok: false, error: 'publicKey must be 64 lower-case hex' };
  if (typeof r.nodeId !== 'string' || !HEX64.test(r.nodeId)) return { ok: false, error: 'nodeId must be 64 lower-case hex' };
  if (typeof r.signature !== 'string' || !HEX128.test(r.signature)) return { ok: false, error: 'signature must be 128 lower-case hex' };
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 0) return { ok: false, error: 'seq must be a non-negative integer' };
  if (!Number.isSafeInteger(r.issuedAt) || !Number.isSafeInteger(r.expiresAt)) return { ok: false, error: 'issuedAt/expiresAt must be integers' };
  if ((r.expiresAt as number) <= (r.issuedAt as number)) return { ok: false, error: 'expiresAt must be after issuedAt' };
  if (!Array.isArray(r.supernodes) || r.supernodes.length > MAX_RECORD_SUPERNODES) {
    return { ok: false, error: `supernodes must be an array of at most ${MAX_RECORD_SUPERNODES}` };
  }
  for (const s of r.supernodes) {
    const sr = s as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || typeof sr.id !== 'string' || !HEX64.test(sr.id) || !isAddress(sr.address)) {
      return { ok: false, error: 'supernodes[] must be {id: hex64, address}' };
    }
  }
  if (!Array.isArray(r.addresses) || r.addresses.length > MAX_RECORD_ADDRESSES || !r.addresses.every(isAddress)) {
    return { ok: false, error: `addresses must be an array of at most ${MAX_RECORD_ADDRESSES} addresses` };
  }
  return { ok: true, record: x as unknown as PresenceRecord };
}
