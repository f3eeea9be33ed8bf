/**
 * MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (RFC 8489
 * 14.5, 14.6, 14.7): computing them while encoding and checking them on received
 * messages. The hash covers the message up to the attribute, with the header's length
 * field rewritten to end just after the attribute.
 *
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { FINGERPRINT_XOR, HEADER_SIZE } from './constants.ts';
import { crc32 } from './crc32.ts';
import type { StunMessage } from './message.ts';

function headerWithLength(raw: Uint8Array, length: number): Uint8Array {
  const h = raw.slice(0, HEADER_SIZE);
  h[2] = length >> 8;
  h[3] = length & 0xff;
  return h;
}

/** HMAC-SHA1 for a MESSAGE-INTEGRITY attribute whose header is at `offset` of `raw`. */
export function integrityOf(raw: Uint8Array, offset: number, key: Uint8Array): Uint8Array {
  return hmac
    .create(sha1, key)
    .update(headerWithLength(raw, offset - HEADER_SIZE + 24))
    .update(raw.subarray(HEADER_SIZE, offset))
    .digest();
}

/** HMAC-SHA256 (truncated to `size`) for MESSAGE-INTEGRITY-SHA256 at `offset`. */
export function integritySha256Of(raw: Uint8Array, offset: number, key: Uint8Array, size: number): Uint8Array {
  return hmac
    .create(sha256, key)
    .update(headerWithLength(raw, offset - HEADER_SIZE + 4 + size))
    .update(raw.subarray(HEADER_SIZE, offset))
    .digest()
    .subarray(0, size);
}

/** FINGERPRINT value for a FINGERPRINT attribute at `offset`. */
export function fingerprintOf(raw: Uint8Array, offset: number): number {
  const crc = crc32(raw.subarray(HEADER_SIZE, offset), crc32(headerWithLength(raw, offset - HEADER_SIZE + 8)));
  return (crc ^ FINGERPRINT_XOR) >>> 0;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** True if the message has a MESSAGE-INTEGRITY that matches `key`. */
export function verifyIntegrity(msg: StunMessage, key: Uint8Array): boolean {
  const o = msg.integrityOffset;
  if (o < 0) return false;
  return equalBytes(integrityOf(msg.raw, o, key), msg.raw.subarray(o + 4, o + 24));
}

/** True if the message has a MESSAGE-INTEGRITY-SHA256 that matches `key`. */
export function verifyIntegritySha256(msg: StunMessage, key: Uint8Array): boolean {
  const o = msg.integritySha256Offset;
  if (o < 0) return false;
  const size = (msg.raw[o + 2]! << 8) | msg.raw[o + 3]!;
  return equalBytes(integritySha256Of(msg.raw, o, key, size), msg.raw.subarray(o + 4, o + 4 + size));
}

/** True if the message has no FINGERPRINT, or a correct one. */
export function fingerprintOk(msg: StunMessage): boolean {
  const o = msg.fingerprintOffset;
  if (o < 0) return true;
  const r = msg.raw;
  const got = ((r[o + 4]! << 24) | (r[o + 5]! << 16) | (r[o + 6]! << 8) | r[o + 7]!) >>> 0;
  return got === fingerprintOf(r, o);
}
