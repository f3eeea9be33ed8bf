/**
 * Fragment format: how one message of up to 64 KiB is cut into payloads that fit a
 * session datagram (default 1100 bytes including this header).
 *
 * ```
 *  0        1                 5         7         9
 * +--------+-----------------+---------+---------+----------------+
 * | 0x01   | message id u32  | index   | count   | data ...       |
 * | version| big-endian      | u16 BE  | u16 BE  |                |
 * +--------+-----------------+---------+---------+----------------+
 * ```
 *
 * Ids increase by one per message and channel (wrapping at 2^32); `count` is 1..256
 * and the same in every fragment of a message; `index` is 0..count-1. A message of 0
 * bytes is one fragment with no data. See {@link Reassembler} for the receiving side.
 *
 * @example
 * ```ts
 * const parts = fragmentMessage(7, new Uint8Array(3000), 1100); // 3 fragments
 * const f = parseFragment(parts[0]!); // { ok: true, id: 7, index: 0, count: 3, data }
 * ```
 * @module
 */

/** First byte of a version-1 fragment. */
export const FRAGMENT_VERSION = 0x01;
/** Bytes of fragment header. */
export const FRAGMENT_HEADER_BYTES = 9;
/** Largest message: 64 KiB. */
export const MAX_MESSAGE_BYTES = 65536;
/** Most fragments a message may have. */
export const MAX_FRAGMENTS = 256;
/** Default fragment size including the header: what a session datagram carries. */
export const DEFAULT_MAX_FRAGMENT_BYTES = 1100;

/** Why a fragment was refused by {@link parseFragment}. */
export type FragmentError = 'short' | 'version' | 'count' | 'index';

/** A parsed fragment; `data` is a view into the input. */
export interface Fragment {
  ok: true;
  id: number;
  index: number;
  count: number;
  data: Uint8Array;
}

/** Parse one fragment. Never throws: malformed input gives `{ ok: false, error }`. */
export function parseFragment(bytes: Uint8Array): Fragment | { ok: false; error: FragmentError } {
  if (bytes.length < FRAGMENT_HEADER_BYTES) return { ok: false, error: 'short' };
  if (bytes[0] !== FRAGMENT_VERSION) return { ok: false, error: 'version' };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = v.getUint32(1);
  const index = v.getUint16(5);
  const count = v.getUint16(7);
  if (count === 0 || count > MAX_FRAGMENTS) return { ok: false, error: 'count' };
  if (index >= count) return { ok: false, error: 'index' };
  return { ok: true, id, index, count, data: bytes.subarray(FRAGMENT_HEADER_BYTES) };
}

/** Encode one fragment (header + data). */
export function encodeFragment(id: number, index: number, count: number, data: Uint8Array): Uint8Array {
  if (count < 1 || count > MAX_FRAGMENTS || index < 0 || index >= count) throw new RangeError(`bad fragment ${index}/${count}`);
  const out = new Uint8Array(FRAGMENT_HEADER_BYTES + data.length);
  const v = new DataView(out.buffer);
  out[0] = FRAGMENT_VERSION;
  v.setUint32(1, id >>> 0);
  v.setUint16(5, index);
  v.setUint16(7, count);
  out.set(data, FRAGMENT_HEADER_BYTES);
  return out;
}

/** How many fragments a message of `length` bytes needs at `maxFragmentBytes`. */
export function fragmentCount(length: number, maxFragmentBytes = DEFAULT_MAX_FRAGMENT_BYTES): number {
  const room = maxFragmentBytes - FRAGMENT_HEADER_BYTES;
  return Math.max(1, Math.ceil(length / room));
}

/**
 * Split a message into fragments of at most `maxFragmentBytes` each. Throws a
 * RangeError for a message over {@link MAX_MESSAGE_BYTES} or a fragment size that would
 * need more than {@link MAX_FRAGMENTS} fragments (both are programming errors).
 */
export function fragmentMessage(id: number, message: Uint8Array, maxFragmentBytes = DEFAULT_MAX_FRAGMENT_BYTES): Uint8Array[] {
  if (message.length > MAX_MESSAGE_BYTES) throw new RangeError(`message of ${message.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  if (!Number.isInteger(maxFragmentBytes) || maxFragmentBytes <= FRAGMENT_HEADER_BYTES) throw new RangeError(`fragment size must exceed the ${FRAGMENT_HEADER_BYTES}-byte header`);
  const room = maxFragmentBytes - FRAGMENT_HEADER_BYTES;
  const count = fragmentCount(message.length, maxFragmentBytes);
  if (count > MAX_FRAGMENTS) throw new RangeError(`message of ${message.length} bytes needs ${count} fragments of ${maxFragmentBytes} bytes; at most ${MAX_FRAGMENTS} allowed`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(encodeFragment(id, i, count, message.subarray(i * room, (i + 1) * room)));
  return out;
}
