/**
 * Human-comparable key fingerprints, in the style of a Signal "safety number".
 *
 * Definition (version 1, stable: changing it is a breaking change):
 *
 * 1. `h = SHA-512("tincan/fingerprint/v1" || publicKey)` (the prefix is ASCII, no
 *    terminator; `publicKey` is the 32-byte Ed25519 key).
 * 2. For `i = 0..11`, read bytes `h[5i .. 5i+5)` as a 40-bit big-endian integer `v`,
 *    and write `v mod 100000` as 5 decimal digits with leading zeros.
 * 3. Join the 12 groups with single spaces:
 *    `"30035 52218 85116 ... 04411"` (60 digits, about 199 bits).
 *
 * Two people compare their fingerprints over another channel (read aloud, or side by
 * side) to confirm that the key pinned by trust-on-first-use is the right one.
 *
 * @module
 */
import { sha512 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { PUBLIC_KEY_BYTES } from './keys.ts';

/** Number of 5-digit groups in a fingerprint. */
export const FINGERPRINT_GROUPS = 12;
const DOMAIN = utf8ToBytes('tincan/fingerprint/v1');

/** The fingerprint as 12 strings of 5 digits. Throws a RangeError on a bad key length. */
export function fingerprintGroups(publicKey: Uint8Array): string[] {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new RangeError(`a public key is ${PUBLIC_KEY_BYTES} bytes`);
  const input = new Uint8Array(DOMAIN.length + publicKey.length);
  input.set(DOMAIN);
  input.set(publicKey, DOMAIN.length);
  const h = sha512(input);
  const groups: string[] = [];
  for (let i = 0; i < FINGERPRINT_GROUPS; i++) {
    let v = 0;
    for (let j = 0; j < 5; j++) v = v * 256 + h[5 * i + j]!;
    groups.push(String(v % 100000).padStart(5, '0'));
  }
  return groups;
}

/** The fingerprint as one line: 12 groups of 5 digits separated by spaces. */
export function fingerprint(publicKey: Uint8Array): string {
  return fingerprintGroups(publicKey).join(' ');
}
