/**
 * Which of two records from the same key and kind wins. Higher `seq` wins; equal `seq`
 * with different content (a signer that equivocated) is broken by comparing the encoded
 * bytes, so every node that sees both picks the same one and the directory converges.
 *
 * @module
 */
import { type SignedRecord, encodeRecord } from './record.ts';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Total order on records of one key and kind: negative if `a` is older than `b`, 0 if
 * identical, positive if newer. Throws a TypeError if key or kind differ (comparing
 * those is a programming error: they are different slots).
 */
export function compareRecords(a: SignedRecord, b: SignedRecord): number {
  if (a.kind !== b.kind || !sameBytes(a.publicKey, b.publicKey)) {
    throw new TypeError('compareRecords: records of different keys or kinds are not ordered');
  }
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return Math.sign(compareBytes(encodeRecord(a), encodeRecord(b)));
}

/** True if `candidate` should replace `current` (same key and kind; see {@link compareRecords}). */
export function isNewer(candidate: SignedRecord, current: SignedRecord): boolean {
  return compareRecords(candidate, current) > 0;
}
