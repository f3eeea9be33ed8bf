/**
 * 256-bit overlay node IDs and the Kademlia XOR metric.
 *
 * A node ID is SHA-256 of the node's Ed25519 public key (computed by identity); here it
 * is simply a 32-byte `Uint8Array`. Distance between two IDs is their bitwise XOR read
 * as a big-endian unsigned integer. All functions here are allocation-free except
 * where they return a new array, because lookups at 10,000 simulated nodes call them
 * millions of times.
 *
 * Bucket convention (the Kademlia paper's): bucket `i` of node `self` holds the IDs
 * whose distance `d` satisfies `2^i <= d < 2^(i+1)`, i.e. `i = 255 - commonPrefixLength`.
 * Bucket 255 is the far half of the ID space; low buckets are close to `self`.
 *
 * @example
 * ```ts
 * const a = nodeIdFromHex('80'.padEnd(64, '0'));
 * const b = nodeIdFromHex('00'.padEnd(64, '0'));
 * commonPrefixLength(a, b); // 0
 * bucketIndex(a, b);        // 255
 * compareDistance(b, a, b); // 1 (b is closer to itself than a is)
 * ```
 * @module
 */
import type { Random } from '../random.ts';

/** A 32-byte node ID (also used for DHT keys such as name hashes). */
export type NodeId = Uint8Array;

/** Length of a node ID in bytes. */
export const ID_BYTES = 32;
/** Length of a node ID in bits. */
export const ID_BITS = 256;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** True when `x` is a `Uint8Array` of exactly {@link ID_BYTES} bytes. */
export function isNodeId(x: unknown): x is NodeId {
  return x instanceof Uint8Array && x.length === ID_BYTES;
}

/** Lower-case hex of any byte array (64 characters for a node ID). */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/**
 * Parse a 64-character hex node ID. Throws `Error` with a clear message on bad input.
 *
 * @example
 * ```ts
 * nodeIdFromHex('ab'.repeat(32)).length; // 32
 * ```
 */
export function nodeIdFromHex(hex: string): NodeId {
  if (typeof hex !== 'string' || hex.length !== 2 * ID_BYTES) throw new Error(`invalid node id: expected 64 hex characters`);
  const out = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) {
    const hi = nibble(hex.charCodeAt(2 * i));
    const lo = nibble(hex.charCodeAt(2 * i + 1));
    if ((hi | lo) < 0) throw new Error(`invalid node id: expected 64 hex characters`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Value of one hex digit's char code (either case), or -1. */
function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

const keyCache = new WeakMap<Uint8Array, string>();

/**
 * A node ID's hex string, memoised per array instance: use it as a `Map` key. IDs are
 * treated as immutable once created.
 */
export function idKey(id: NodeId): string {
  let k = keyCache.get(id);
  if (k === undefined) {
    k = toHex(id);
    keyCache.set(id, k);
  }
  return k;
}

/** Byte-wise equality of two IDs. */
export function idEquals(a: NodeId, b: NodeId): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic (= numeric, big-endian) order of two IDs: negative, 0 or positive. */
export function compareIds(a: NodeId, b: NodeId): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** The XOR distance `a ^ b` as a new 32-byte array. */
export function xorDistance(a: NodeId, b: NodeId): Uint8Array {
  const out = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/**
 * Which of `a` and `b` is closer to `target`: negative when `a` is closer, positive
 * when `b` is, 0 when they are the same ID. Allocation-free; use as a sort comparator
 * via `(x, y) => compareDistance(target, x, y)`.
 */
export function compareDistance(target: NodeId, a: NodeId, b: NodeId): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const t = target[i]!;
    const d = (a[i]! ^ t) - (b[i]! ^ t);
    if (d !== 0) return d;
  }
  return 0;
}

/** Number of leading bits `a` and `b` share (256 when equal). */
export function commonPrefixLength(a: NodeId, b: NodeId): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + (Math.clz32(x) - 24);
  }
  return ID_BITS;
}

/** Number of leading zero bits of a byte array (used for proof-of-work hashes too). */
export function leadingZeroBits(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    const x = bytes[i]!;
    if (x !== 0) return i * 8 + (Math.clz32(x) - 24);
  }
  return bytes.length * 8;
}

/**
 * Index of the k-bucket of `self` that `other` belongs to: `floor(log2(self ^ other))`,
 * 0..255, or -1 when `other` equals `self`.
 */
export function bucketIndex(self: NodeId, other: NodeId): number {
  return ID_BITS - 1 - commonPrefixLength(self, other);
}

/**
 * A uniformly random ID that falls in bucket `index` of `self` (for bucket refresh:
 * look up a random ID in a bucket that has been quiet).
 *
 * @example
 * ```ts
 * const id = randomIdInBucket(self, 200, random);
 * bucketIndex(self, id) === 200; // true
 * ```
 */
export function randomIdInBucket(self: NodeId, index: number, random: Random): NodeId {
  if (!Number.isInteger(index) || index < 0 || index >= ID_BITS) throw new RangeError(`bucket index ${index} out of range`);
  const cpl = ID_BITS - 1 - index;
  const out = random.bytes(ID_BYTES);
  const fullBytes = cpl >> 3;
  for (let i = 0; i < fullBytes; i++) out[i] = self[i]!;
  const bit = cpl & 7;
  // Byte `fullBytes` keeps `bit` prefix bits of self, flips the next one, randomises the rest.
  const keepMask = (0xff << (8 - bit)) & 0xff;
  const flip = 0x80 >> bit;
  const rest = (0xff >> (bit + 1)) & 0xff;
  const s = self[fullBytes]!;
  out[fullBytes] = (s & keepMask) | ((s & flip) ^ flip) | (out[fullBytes]! & rest);
  return out;
}

/**
 * Sort `items` in place by the XOR distance of `idOf(item)` to `target`, closest first.
 * Returns `items` for chaining.
 */
export function sortByDistance<T>(target: NodeId, items: T[], idOf: (item: T) => NodeId): T[] {
  return items.sort((x, y) => compareDistance(target, idOf(x), idOf(y)));
}
