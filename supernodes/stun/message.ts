/**
 * STUN message codec (RFC 8489 section 5 and 14): a bounded parser that either returns
 * a {@link StunMessage} or throws a {@link StunError} (never anything else), and a
 * {@link StunWriter} that encodes messages with optional MESSAGE-INTEGRITY,
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT.
 *
 * @example
 * ```ts
 * const req = new StunWriter(Method.Binding, StunClass.Request, randomTid).encode({ fingerprint: true });
 * const msg = parseStun(req); // msg.method === Method.Binding
 * ```
 * @module
 */
import { Attr, HEADER_SIZE, MAGIC_COOKIE, MAX_ATTRIBUTES, MAX_MESSAGE_SIZE, type StunClass } from './constants.ts';
import { fingerprintOf, integrityOf, integritySha256Of } from './integrity.ts';

/** Why a datagram could not be parsed as STUN, or an attribute value is malformed. */
export class StunError extends Error {
  override readonly name = 'StunError';
  constructor(message: string) {
    super(message);
  }
}

/** One attribute: its type, its value (a view into the message) and where its header starts. */
export interface StunAttribute {
  readonly type: number;
  readonly value: Uint8Array;
  /** Offset of the 4-byte attribute header within {@link StunMessage.raw}. */
  readonly offset: number;
}

/** A parsed STUN message. Attribute values are views into `raw` (no copies). */
export interface StunMessage {
  readonly method: number;
  readonly cls: StunClass;
  /** The 12-byte transaction ID (a view). */
  readonly transactionId: Uint8Array;
  /** The whole message. */
  readonly raw: Uint8Array;
  /** Attributes in order, up to and including MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT. */
  readonly attributes: readonly StunAttribute[];
  /** Offset of the MESSAGE-INTEGRITY attribute header, or -1. */
  readonly integrityOffset: number;
  /** Offset of the MESSAGE-INTEGRITY-SHA256 attribute header, or -1. */
  readonly integritySha256Offset: number;
  /** Offset of the FINGERPRINT attribute header, or -1. */
  readonly fingerprintOffset: number;
}

/** Message type field from method and class (RFC 8489 figure 3). */
export function messageType(method: number, cls: number): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7);
}

/**
 * Cheap check that `data` looks like a STUN message (top bits zero, magic cookie, length
 * consistent). Use it to demultiplex before {@link parseStun}.
 */
export function looksLikeStun(data: Uint8Array): boolean {
  if (data.length < HEADER_SIZE || (data[0]! & 0xc0) !== 0) return false;
  const len = (data[2]! << 8) | data[3]!;
  return (
    (len & 3) === 0 &&
    len + HEADER_SIZE === data.length &&
    data[4] === 0x21 &&
    data[5] === 0x12 &&
    data[6] === 0xa4 &&
    data[7] === 0x42
  );
}

/** Parse one STUN message (exactly one datagram). Throws {@link StunError} on bad input. */
export function parseStun(data: Uint8Array): StunMessage {
  if (!(data instanceof Uint8Array)) throw new StunError('not a byte array');
  if (data.length < HEADER_SIZE) throw new StunError(`too short for a STUN header: ${data.length} bytes`);
  if (data.length > MAX_MESSAGE_SIZE) throw new StunError(`message too large: ${data.length} > ${MAX_MESSAGE_SIZE} bytes`);
  if ((data[0]! & 0xc0) !== 0) throw new StunError('first two bits must be zero');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = view.getUint16(0);
  const length = view.getUint16(2);
  if (view.getUint32(4) !== MAGIC_COOKIE) throw new StunError('bad magic cookie');
  if (length % 4 !== 0) throw new StunError(`message length ${length} is not a multiple of 4`);
  if (length + HEADER_SIZE !== data.length) {
    throw new StunError(`message length field ${length} does not match datagram size ${data.length - HEADER_SIZE}`);
  }
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = (((type & 0x0010) >> 4) | ((type & 0x0100) >> 7)) as StunClass;
  const attributes: StunAttribute[] = [];
  let integrityOffset = -1;
  let integritySha256Offset = -1;
  let fingerprintOffset = -1;
  let pos = HEADER_SIZE;
  while (pos < data.length) {
    if (fingerprintOffset >= 0) throw new StunError('attribute after FINGERPRINT');
    if (pos + 4 > data.length) throw new StunError(`truncated attribute header at offset ${pos}`);
    if (attributes.length >= MAX_ATTRIBUTES) throw new StunError(`more than ${MAX_ATTRIBUTES} attributes`);
    const at = view.getUint16(pos);
    const alen = view.getUint16(pos + 2);
    const padded = (alen + 3) & ~3;
    if (pos + 4 + padded > data.length) {
      throw new StunError(`attribute 0x${at.toString(16).padStart(4, '0')} length ${alen} overruns the message`);
    }
    const attr: StunAttribute = { type: at, value: data.subarray(pos + 4, pos + 4 + alen), offset: pos };
    if (at === Attr.Fingerprint) {
      if (alen !== 4) throw new StunError(`FINGERPRINT must be 4 bytes, got ${alen}`);
      fingerprintOffset = pos;
      attributes.push(attr);
    } else if (at === Attr.MessageIntegrity) {
      if (alen !== 20) throw new StunError(`MESSAGE-INTEGRITY must be 20 bytes, got ${alen}`);
      if (integrityOffset < 0 && integritySha256Offset < 0) {
        integrityOffset = pos;
        attributes.push(attr);
      }
    } else if (at === Attr.MessageIntegritySha256) {
      if (alen < 16 || alen > 32 || alen % 4 !== 0) throw new StunError(`MESSAGE-INTEGRITY-SHA256 has bad length ${alen}`);
      if (integritySha256Offset < 0) {
        integritySha256Offset = pos;
        attributes.push(attr);
      }
    } else if (integrityOffset < 0 && integritySha256Offset < 0) {
      // RFC 8489 14.5: attributes after MESSAGE-INTEGRITY (other than the above) are ignored.
      attributes.push(attr);
    }
    pos += 4 + padded;
  }
  return {
    method,
    cls,
    transactionId: data.subarray(8, 20),
    raw: data,
    attributes,
    integrityOffset,
    integritySha256Offset,
    fingerprintOffset,
  };
}

/** Value of the first attribute of `type`, or undefined. */
export function getAttribute(msg: StunMessage, type: number): Uint8Array | undefined {
  for (const a of msg.attributes) if (a.type === type) return a.value;
  return undefined;
}

/** Values of every attribute of `type`, in order. */
export function getAttributes(msg: StunMessage, type: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const a of msg.attributes) if (a.type === type) out.push(a.value);
  return out;
}

/** Options for {@link StunWriter.encode}. */
export interface EncodeOptions {
  /** Add MESSAGE-INTEGRITY (HMAC-SHA1) with this key. */
  integrityKey?: Uint8Array;
  /** Add MESSAGE-INTEGRITY-SHA256 with this key. */
  integritySha256Key?: Uint8Array;
  /** Add FINGERPRINT. */
  fingerprint?: boolean;
}

/** Builds one STUN message; see module docs. */
export class StunWriter {
  private readonly attrs: { type: number; value: Uint8Array }[] = [];
  private size = 0;

  constructor(
    readonly method: number,
    readonly cls: StunClass,
    readonly transactionId: Uint8Array,
  ) {
    if (transactionId.length !== 12) throw new StunError('transaction ID must be 12 bytes');
  }

  /** Append an attribute (padding is added on encode). */
  add(type: number, value: Uint8Array): this {
    if (value.length > 0xffff) throw new StunError('attribute value too long');
    this.attrs.push({ type, value });
    this.size += 4 + ((value.length + 3) & ~3);
    return this;
  }

  /** Encode to bytes. Throws {@link StunError} if the result would exceed the size limit. */
  encode(options: EncodeOptions = {}): Uint8Array {
    const extra =
      (options.integrityKey ? 24 : 0) + (options.integritySha256Key ? 36 : 0) + (options.fingerprint ? 8 : 0);
    const total = HEADER_SIZE + this.size + extra;
    if (total > 0xffff + HEADER_SIZE) throw new StunError(`message too large: ${total} bytes`);
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    view.setUint16(0, messageType(this.method, this.cls));
    view.setUint32(4, MAGIC_COOKIE);
    out.set(this.transactionId, 8);
    let pos = HEADER_SIZE;
    for (const a of this.attrs) {
      view.setUint16(pos, a.type);
      view.setUint16(pos + 2, a.value.length);
      out.set(a.value, pos + 4);
      pos += 4 + ((a.value.length + 3) & ~3);
    }
    if (options.integrityKey) {
      view.setUint16(pos, Attr.MessageIntegrity);
      view.setUint16(pos + 2, 20);
      out.set(integrityOf(out, pos, options.integrityKey), pos + 4);
      pos += 24;
    }
    if (options.integritySha256Key) {
      view.setUint16(pos, Attr.MessageIntegritySha256);
      view.setUint16(pos + 2, 32);
      out.set(integritySha256Of(out, pos, options.integritySha256Key, 32), pos + 4);
      pos += 36;
    }
    if (options.fingerprint) {
      view.setUint16(pos, Attr.Fingerprint);
      view.setUint16(pos + 2, 4);
      view.setUint32(pos + 4, fingerprintOf(out, pos));
      pos += 8;
    }
    view.setUint16(2, pos - HEADER_SIZE);
    return out;
  }
}
