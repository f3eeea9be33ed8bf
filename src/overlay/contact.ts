/**
 * A contact: what one overlay node knows about another, enough to reach it and to check
 * that its ID was honestly minted. Contacts travel in FIND_NODE answers and peer
 * exchange, so every field is untrusted until {@link ContactVerifier.verify} accepts it.
 *
 * @example
 * ```ts
 * const verifier = new ContactVerifier({ difficulty: 8 });
 * const c: Contact = { id, publicKey, pow: nonce, address: { host: '192.0.2.1', port: 4000 } };
 * verifier.verify(c); // { ok: true } or { ok: false, reason: 'pow' | 'id' | ... }
 *
 * const wire = contactToWire(c);        // { key: '…64 hex…', pow: '…16 hex…', host, port }
 * const back = contactFromWire(wire);   // Contact (id derived from the key) or undefined
 * ```
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Address } from '../net/net.ts';
import { ID_BYTES, idEquals, idKey, type NodeId, toHex } from './node-id.ts';
import { networkPrefix } from './ip-prefix.ts';
import { POW_NONCE_BYTES, verifyProofOfWork } from './proof-of-work.ts';

/** Another overlay node. Treat as immutable. */
export interface Contact {
  /** Node ID: SHA-256 of `publicKey`. */
  readonly id: NodeId;
  /** The node's Ed25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** Proof-of-work nonce for `publicKey` (see proof-of-work.ts). */
  readonly pow: Uint8Array;
  /** Where to reach it (an IP literal and UDP port). */
  readonly address: Address;
}

/**
 * A contact as JSON on the wire: hex key and nonce, address. The node ID is not sent:
 * the receiver derives it as SHA-256(key), so it cannot disagree with the key and each
 * contact costs about 135 bytes of JSON (a 20-contact answer fits in three 1100-byte
 * fragments).
 */
export interface WireContact {
  key: string;
  pow: string;
  host: string;
  port: number;
}

/** Wire forms made by {@link contactToWire}, per contact (contacts are immutable). */
const wireForms = new WeakMap<Contact, Readonly<WireContact>>();
/** The contact each of those wire forms decodes to (see {@link contactToWire}). */
const madeFrom = new WeakMap<object, Contact>();

/**
 * Encode a contact for the wire. The same contact goes out in many answers, so its wire
 * form is made once and shared: the result is frozen.
 */
export function contactToWire(c: Contact): WireContact {
  let w = wireForms.get(c);
  if (w === undefined) {
    w = Object.freeze({ key: idKey(c.publicKey), pow: idKey(c.pow), host: c.address.host, port: c.address.port });
    wireForms.set(c, w);
    // Remember what it decodes to only when that is `c` itself (a well-formed contact whose ID is its key's).
    const back = decodeWire(w);
    if (back !== undefined && idEquals(back.id, c.id) && idEquals(back.publicKey, c.publicKey) && idEquals(back.pow, c.pow)) madeFrom.set(w, c);
  }
  return w as WireContact;
}

const HEX_KEY = /^[0-9a-f]{64}$/;
const HEX_POW = /^[0-9a-f]{16}$/;

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Decoded key material of one (key, nonce) pair: shared, immutable arrays. */
interface DecodedKey {
  readonly id: NodeId;
  readonly publicKey: Uint8Array;
  readonly pow: Uint8Array;
}

/** Most (key, nonce) pairs remembered by {@link contactFromWire} (oldest forgotten first). */
export const WIRE_KEY_CACHE_ENTRIES = 8192;
const decodedKeys = new Map<string, DecodedKey>();

/**
 * Decode an untrusted wire contact (bounded, never throws); undefined when malformed.
 * The result still needs {@link ContactVerifier.verify} for its proof of work.
 *
 * The same supernode contact arrives in many FIND_NODE answers, so the key material of
 * the last {@link WIRE_KEY_CACHE_ENTRIES} (key, nonce) pairs is remembered: the ID
 * derivation (a SHA-256) and hex parsing run once per pair, and every contact decoded
 * from the same pair shares the same (immutable) `id`, `publicKey` and `pow` arrays, so
 * per-array memos such as {@link idKey} and the verifier's hit too.
 */
export function contactFromWire(x: unknown): Contact | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  // A (frozen) wire form this process made from a contact decodes to that contact: in a
  // simulation, where messages cross as objects, the decoding is skipped.
  return madeFrom.get(x) ?? decodeWire(x);
}

function decodeWire(x: object): Contact | undefined {
  const w = x as Record<string, unknown>;
  if (typeof w.key !== 'string' || typeof w.pow !== 'string') return undefined;
  if (typeof w.host !== 'string' || w.host.length > 64 || networkPrefix(w.host) === undefined) return undefined;
  if (!Number.isInteger(w.port) || (w.port as number) < 1 || (w.port as number) > 65535) return undefined;
  const cacheKey = w.key + w.pow;
  let k = decodedKeys.get(cacheKey);
  if (k === undefined) {
    // Only strings that passed these checks are ever cached.
    if (!HEX_KEY.test(w.key) || !HEX_POW.test(w.pow)) return undefined;
    const publicKey = fromHex(w.key);
    k = { id: sha256(publicKey), publicKey, pow: fromHex(w.pow) };
    if (decodedKeys.size >= WIRE_KEY_CACHE_ENTRIES) decodedKeys.delete(decodedKeys.keys().next().value!);
    decodedKeys.set(cacheKey, k);
  }
  return { id: k.id, publicKey: k.publicKey, pow: k.pow, address: { host: w.host, port: w.port as number } };
}

/** Why a contact was refused. */
export type ContactRejection = 'shape' | 'address' | 'id' | 'pow';

/** Result of {@link ContactVerifier.verify}. */
export type ContactCheck = { ok: true } | { ok: false; reason: ContactRejection };

/** Options for {@link ContactVerifier}. */
export interface ContactVerifierOptions {
  /** Required proof-of-work bits. */
  difficulty: number;
  /** Remembered verdicts (bounded, oldest forgotten first). Default 65,536. */
  cacheSize?: number;
}

/** Structural check of an untrusted contact (types and lengths only). */
export function isWellFormedContact(c: unknown): c is Contact {
  if (typeof c !== 'object' || c === null) return false;
  const x = c as Record<string, unknown>;
  const a = x.address as Record<string, unknown> | undefined;
  return (
    x.id instanceof Uint8Array && x.id.length === ID_BYTES &&
    x.publicKey instanceof Uint8Array && x.publicKey.length === 32 &&
    x.pow instanceof Uint8Array && x.pow.length === POW_NONCE_BYTES &&
    typeof a === 'object' && a !== null && typeof a.host === 'string' && a.host.length <= 64 &&
    Number.isInteger(a.port) && (a.port as number) > 0 && (a.port as number) <= 65535
  );
}

/**
 * Checks contacts: well-formed, an IP-literal address, `id == SHA-256(publicKey)`, and
 * enough proof of work. Verdicts are cached by (id, key, nonce) in a bounded map so a
 * contact seen in many lookup answers is hashed once.
 */
export class ContactVerifier {
  readonly difficulty: number;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, ContactCheck>();
  private readonly byObject = new WeakMap<object, { host: string; verdict: ContactCheck }>();
  private readonly byArrays = new WeakMap<Uint8Array, { publicKey: Uint8Array; pow: Uint8Array; verdict: ContactCheck }>();
  /** Counters of verdicts, for metrics. */
  readonly stats = { accepted: 0, rejected: 0, cacheHits: 0 };

  constructor(options: ContactVerifierOptions) {
    this.difficulty = options.difficulty;
    this.cacheSize = Math.max(1, options.cacheSize ?? 65_536);
    verifyProofOfWork(new Uint8Array(32), new Uint8Array(POW_NONCE_BYTES), this.difficulty); // validates the parameter
  }

  /** Verify `c`; never throws. */
  verify(c: unknown): ContactCheck {
    const r = this.check(c);
    if (r.ok) this.stats.accepted++;
    else this.stats.rejected++;
    return r;
  }

  /** Shorthand for `verify(c).ok`. */
  accepts(c: unknown): c is Contact {
    return this.verify(c).ok;
  }

  private check(c: unknown): ContactCheck {
    if (!isWellFormedContact(c)) return { ok: false, reason: 'shape' };
    // Fast path: the same contact object seen again (common in-process and in the simulator).
    const known = this.byObject.get(c);
    if (known && known.host === c.address.host) {
      this.stats.cacheHits++;
      return known.verdict;
    }
    // Second fast path: a new contact object sharing the very same (immutable) key arrays
    // as one already judged, as contactFromWire hands out; only the address is new.
    const same = this.byArrays.get(c.id);
    if (same && same.publicKey === c.publicKey && same.pow === c.pow) {
      if (networkPrefix(c.address.host) === undefined) return { ok: false, reason: 'address' };
      this.stats.cacheHits++;
      return same.verdict;
    }
    const verdict = this.checkFields(c);
    this.byObject.set(c, { host: c.address.host, verdict });
    if (verdict.ok || verdict.reason !== 'address') this.byArrays.set(c.id, { publicKey: c.publicKey, pow: c.pow, verdict });
    return verdict;
  }

  private checkFields(c: Contact): ContactCheck {
    if (networkPrefix(c.address.host) === undefined) return { ok: false, reason: 'address' };
    const key = idKey(c.id) + idKey(c.publicKey) + idKey(c.pow);
    const hit = this.cache.get(key);
    if (hit) {
      this.stats.cacheHits++;
      return hit;
    }
    let verdict: ContactCheck = { ok: true };
    if (!idEquals(sha256(c.publicKey), c.id)) verdict = { ok: false, reason: 'id' };
    else if (!verifyProofOfWork(c.publicKey, c.pow, this.difficulty)) verdict = { ok: false, reason: 'pow' };
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, verdict);
    return verdict;
  }
}
