/**
 * Signed records: the generic envelope for anything a node asserts about itself
 * (presence, stream announcements, ...), and its binary encoding.
 *
 * A record is `{kind, publicKey, seq, issuedAt, expiresAt, body, signature}`. `kind`
 * says what the body is; `seq` orders versions from the same key (higher replaces
 * lower); times are milliseconds since the Unix epoch; `body` is any JSON value.
 *
 * Encoding, version 1 (integers big-endian, no padding, nothing after the signature):
 *
 * | bytes | field                                                                  |
 * |-------|------------------------------------------------------------------------|
 * | 1     | version = 1                                                            |
 * | 1     | kind length K, 1..32                                                   |
 * | K     | kind: ASCII, `[a-z][a-z0-9.-]*`                                        |
 * | 32    | Ed25519 public key                                                     |
 * | 8     | seq, 0..2^53-1                                                         |
 * | 8     | issuedAt, 0..2^53-1                                                    |
 * | 8     | expiresAt, issuedAt < expiresAt <= 2^53-1                               |
 * | 2     | body length B, 1..{@link MAX_RECORD_BODY_BYTES}                          |
 * | B     | body: canonical JSON (see canonical-json.ts), UTF-8                     |
 * | 64    | Ed25519 signature over `"tincan/record/v1\0"` followed by all bytes above |
 *
 * Every field has exactly one encoding (the decoder refuses a body that is not in
 * canonical form), so a record's bytes, and any hash of them, are unique.
 *
 * @module
 */
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { CanonicalJsonError, type JsonValue, canonicalJson } from './canonical-json.ts';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './keys.ts';

/** Encoding version written and accepted. */
export const RECORD_VERSION = 1;
/** Longest `kind`. */
export const MAX_KIND_LENGTH = 32;
/** Largest body, in bytes of canonical JSON. */
export const MAX_RECORD_BODY_BYTES = 8192;
/** Largest encoded record. */
export const MAX_RECORD_BYTES = 2 + MAX_KIND_LENGTH + PUBLIC_KEY_BYTES + 24 + 2 + MAX_RECORD_BODY_BYTES + SIGNATURE_BYTES;
/** Domain-separation prefix of the signed message. */
export const RECORD_SIGNING_DOMAIN = utf8ToBytes('tincan/record/v1\0');

const KIND_RE = /^[a-z][a-z0-9.-]*$/;

/** The signed content of a record. */
export interface RecordFields<B extends JsonValue = JsonValue> {
  /** What the body is, e.g. `"presence"`. */
  readonly kind: string;
  /** The signer's Ed25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** Version number; a higher seq from the same key and kind replaces a lower one. */
  readonly seq: number;
  /** When it was signed (ms since epoch, the signer's clock). */
  readonly issuedAt: number;
  /** When it stops being valid (ms since epoch); after issuedAt. */
  readonly expiresAt: number;
  /** Kind-specific content; validated by whoever interprets the kind. */
  readonly body: B;
}

/** A record with its signature. */
export interface SignedRecord<B extends JsonValue = JsonValue> extends RecordFields<B> {
  /** Ed25519 signature (64 bytes) over {@link recordSigningMessage}. */
  readonly signature: Uint8Array;
}

/** A record that cannot be encoded or decoded; the message says which field and why. */
export class RecordFormatError extends Error {
  override name = 'RecordFormatError';
}

function fail(message: string): never {
  throw new RecordFormatError(message);
}

function checkU53(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) fail(`${name} must be an integer from 0 to 2^53-1, got ${v}`);
}

/** Check the fields' ranges; returns the body's canonical bytes. Throws RecordFormatError. */
function checkFields(f: RecordFields): Uint8Array {
  if (typeof f.kind !== 'string' || f.kind.length < 1 || f.kind.length > MAX_KIND_LENGTH || !KIND_RE.test(f.kind)) {
    fail(`kind must be 1-${MAX_KIND_LENGTH} characters matching [a-z][a-z0-9.-]*, got ${JSON.stringify(f.kind)}`);
  }
  if (!(f.publicKey instanceof Uint8Array) || f.publicKey.length !== PUBLIC_KEY_BYTES) fail(`publicKey must be ${PUBLIC_KEY_BYTES} bytes`);
  checkU53('seq', f.seq);
  checkU53('issuedAt', f.issuedAt);
  checkU53('expiresAt', f.expiresAt);
  if (f.expiresAt <= f.issuedAt) fail(`expiresAt (${f.expiresAt}) must be after issuedAt (${f.issuedAt})`);
  let body: Uint8Array;
  try {
    body = utf8ToBytes(canonicalJson(f.body));
  } catch (err) {
    if (err instanceof CanonicalJsonError) fail(`body is not JSON: ${err.message}`);
    throw err;
  }
  if (body.length > MAX_RECORD_BODY_BYTES) fail(`body is ${body.length} bytes, more than ${MAX_RECORD_BODY_BYTES}`);
  return body;
}

function writeU64(view: DataView, at: number, v: number): void {
  view.setUint32(at, Math.floor(v / 2 ** 32));
  view.setUint32(at + 4, v >>> 0);
}

function encodeFields(f: RecordFields, trailer: number): { bytes: Uint8Array; signedLength: number } {
  const body = checkFields(f);
  const kind = utf8ToBytes(f.kind);
  const signedLength = 2 + kind.length + PUBLIC_KEY_BYTES + 24 + 2 + body.length;
  const bytes = new Uint8Array(signedLength + trailer);
  const view = new DataView(bytes.buffer);
  let at = 0;
  bytes[at++] = RECORD_VERSION;
  bytes[at++] = kind.length;
  bytes.set(kind, at);
  at += kind.length;
  bytes.set(f.publicKey, at);
  at += PUBLIC_KEY_BYTES;
  writeU64(view, at, f.seq);
  writeU64(view, at + 8, f.issuedAt);
  writeU64(view, at + 16, f.expiresAt);
  at += 24;
  view.setUint16(at, body.length);
  at += 2;
  bytes.set(body, at);
  return { bytes, signedLength };
}

/**
 * The exact bytes a signer signs: {@link RECORD_SIGNING_DOMAIN} followed by the
 * encoding of every field but the signature. Throws RecordFormatError on bad fields.
 */
export function recordSigningMessage(fields: RecordFields): Uint8Array {
  const { bytes } = encodeFields(fields, 0);
  const out = new Uint8Array(RECORD_SIGNING_DOMAIN.length + bytes.length);
  out.set(RECORD_SIGNING_DOMAIN);
  out.set(bytes, RECORD_SIGNING_DOMAIN.length);
  return out;
}

/** The binary encoding of a signed record. Throws RecordFormatError on bad fields. */
export function encodeRecord(record: SignedRecord): Uint8Array {
  if (!(record.signature instanceof Uint8Array) || record.signature.length !== SIGNATURE_BYTES) {
    fail(`signature must be ${SIGNATURE_BYTES} bytes`);
  }
  const { bytes, signedLength } = encodeFields(record, SIGNATURE_BYTES);
  bytes.set(record.signature, signedLength);
  return bytes;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parse an encoded record. Checks structure, ranges and canonical form, not the
 * signature or times (see `verifyRecord`). Any input either decodes or throws a
 * {@link RecordFormatError} that says what is wrong; nothing else is thrown.
 */
export function decodeRecord(bytes: Uint8Array): SignedRecord {
  if (!(bytes instanceof Uint8Array)) fail('a record must be bytes');
  if (bytes.length > MAX_RECORD_BYTES) fail(`record is ${bytes.length} bytes, more than ${MAX_RECORD_BYTES}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number, what: string) => {
    if (at + n > bytes.length) fail(`record truncated: ${what} needs ${n} bytes at offset ${at}, only ${bytes.length - at} left`);
  };
  need(1, 'version');
  const version = bytes[at++]!;
  if (version !== RECORD_VERSION) fail(`unsupported record version ${version} (expected ${RECORD_VERSION})`);
  need(1, 'kind length');
  const kindLength = bytes[at++]!;
  if (kindLength < 1 || kindLength > MAX_KIND_LENGTH) fail(`kind length ${kindLength} is not 1-${MAX_KIND_LENGTH}`);
  need(kindLength, 'kind');
  let kind = '';
  for (let i = 0; i < kindLength; i++) kind += String.fromCharCode(bytes[at + i]!);
  if (!KIND_RE.test(kind)) fail(`kind ${JSON.stringify(kind)} does not match [a-z][a-z0-9.-]*`);
  at += kindLength;
  need(PUBLIC_KEY_BYTES, 'public key');
  const publicKey = bytes.slice(at, at + PUBLIC_KEY_BYTES);
  at += PUBLIC_KEY_BYTES;
  need(24, 'seq and times');
  const readU53 = (name: string) => {
    const hi = view.getUint32(at);
    const lo = view.getUint32(at + 4);
    at += 8;
    if (hi >= 2 ** 21) fail(`${name} is larger than 2^53-1`);
    return hi * 2 ** 32 + lo;
  };
  const seq = readU53('seq');
  const issuedAt = readU53('issuedAt');
  const expiresAt = readU53('expiresAt');
  if (expiresAt <= issuedAt) fail(`expiresAt (${expiresAt}) must be after issuedAt (${issuedAt})`);
  need(2, 'body length');
  const bodyLength = view.getUint16(at);
  at += 2;
  if (bodyLength < 1 || bodyLength > MAX_RECORD_BODY_BYTES) fail(`body length ${bodyLength} is not 1-${MAX_RECORD_BODY_BYTES}`);
  need(bodyLength, 'body');
  const bodyBytes = bytes.subarray(at, at + bodyLength);
  at += bodyLength;
  let text: string;
  let body: JsonValue;
  try {
    text = utf8.decode(bodyBytes);
  } catch {
    fail('body is not valid UTF-8');
  }
  try {
    body = JSON.parse(text) as JsonValue;
  } catch {
    fail('body is not valid JSON');
  }
  let canonical: string;
  try {
    canonical = canonicalJson(body);
  } catch (err) {
    fail(`body is not acceptable JSON: ${(err as Error).message}`);
  }
  if (canonical !== text) fail('body is not in canonical JSON form');
  need(SIGNATURE_BYTES, 'signature');
  const signature = bytes.slice(at, at + SIGNATURE_BYTES);
  at += SIGNATURE_BYTES;
  if (at !== bytes.length) fail(`${bytes.length - at} unexpected bytes after the signature`);
  return { kind, publicKey, seq, issuedAt, expiresAt, body, signature };
}
