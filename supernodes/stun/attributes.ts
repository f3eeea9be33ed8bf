/**
 * Typed attribute values: decoders that throw {@link StunError} on malformed input and
 * encoders for the values the server and client send.
 *
 * @module
 */
import type { Address } from '../../src/net/net.ts';
import { Family, MAGIC_COOKIE, REASON } from './constants.ts';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../../src/net/ip.ts';
import { StunError } from './message.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A decoded (XOR-)address attribute. */
export interface StunAddress extends Address {
  readonly family: 4 | 6;
}

/**
 * Decode MAPPED-ADDRESS (`xor` false) or XOR-MAPPED/PEER/RELAYED-ADDRESS (`xor` true,
 * needs the transaction ID).
 */
export function decodeAddress(value: Uint8Array, xor: boolean, transactionId: Uint8Array): StunAddress {
  if (value.length < 4) throw new StunError(`address attribute too short: ${value.length} bytes`);
  const family = value[1];
  let port = (value[2]! << 8) | value[3]!;
  if (xor) port ^= MAGIC_COOKIE >>> 16;
  if (family === Family.IPv4) {
    if (value.length !== 8) throw new StunError(`IPv4 address attribute must be 8 bytes, got ${value.length}`);
    const b = value.slice(4, 8);
    if (xor) for (let i = 0; i < 4; i++) b[i]! ^= (MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff;
    return { family: 4, host: formatIPv4(b), port };
  }
  if (family === Family.IPv6) {
    if (value.length !== 20) throw new StunError(`IPv6 address attribute must be 20 bytes, got ${value.length}`);
    const b = value.slice(4, 20);
    if (xor) {
      for (let i = 0; i < 4; i++) b[i]! ^= (MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff;
      for (let i = 0; i < 12; i++) b[4 + i]! ^= transactionId[i]!;
    }
    return { family: 6, host: formatIPv6(b), port };
  }
  throw new StunError(`unknown address family ${family}`);
}

/** Encode an address attribute value; throws {@link StunError} if `host` is not an IP literal. */
export function encodeAddress(addr: Address, xor: boolean, transactionId: Uint8Array): Uint8Array {
  const v4 = parseIPv4(addr.host);
  const ip = v4 ?? parseIPv6(addr.host);
  if (!ip) throw new StunError(`not an IP address: ${addr.host}`);
  const out = new Uint8Array(4 + ip.length);
  out[1] = v4 ? Family.IPv4 : Family.IPv6;
  let port = addr.port & 0xffff;
  if (xor) port ^= MAGIC_COOKIE >>> 16;
  out[2] = port >> 8;
  out[3] = port & 0xff;
  out.set(ip, 4);
  if (xor) {
    for (let i = 0; i < 4; i++) out[4 + i]! ^= (MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff;
    if (!v4) for (let i = 0; i < 12; i++) out[8 + i]! ^= transactionId[i]!;
  }
  return out;
}

/** Decode a 32-bit unsigned attribute (LIFETIME). */
export function decodeU32(value: Uint8Array, name = 'attribute'): number {
  if (value.length !== 4) throw new StunError(`${name} must be 4 bytes, got ${value.length}`);
  return ((value[0]! << 24) | (value[1]! << 16) | (value[2]! << 8) | value[3]!) >>> 0;
}

/** Encode a 32-bit unsigned value. */
export function encodeU32(v: number): Uint8Array {
  return new Uint8Array([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
}

/** Decode a UTF-8 text attribute of at most `maxBytes` bytes (USERNAME, REALM, NONCE, SOFTWARE). */
export function decodeText(value: Uint8Array, maxBytes: number, name = 'text attribute'): string {
  if (value.length > maxBytes) throw new StunError(`${name} too long: ${value.length} > ${maxBytes} bytes`);
  try {
    return decoder.decode(value);
  } catch {
    throw new StunError(`${name} is not valid UTF-8`);
  }
}

/** Encode text as UTF-8. */
export function encodeText(s: string): Uint8Array {
  return encoder.encode(s);
}

/** A decoded ERROR-CODE. */
export interface StunErrorCode {
  readonly code: number;
  readonly reason: string;
}

/** Decode ERROR-CODE (class * 100 + number, reason phrase). */
export function decodeErrorCode(value: Uint8Array): StunErrorCode {
  if (value.length < 4) throw new StunError(`ERROR-CODE too short: ${value.length} bytes`);
  const cls = value[2]! & 0x07;
  const num = value[3]!;
  if (cls < 3 || cls > 6 || num > 99) throw new StunError(`ERROR-CODE out of range: class ${cls} number ${num}`);
  return { code: cls * 100 + num, reason: decodeText(value.subarray(4), 763, 'ERROR-CODE reason') };
}

/** Encode ERROR-CODE; the reason defaults to the RFC phrase. */
export function encodeErrorCode(code: number, reason = REASON[code] ?? ''): Uint8Array {
  const r = encoder.encode(reason);
  const out = new Uint8Array(4 + r.length);
  out[2] = Math.floor(code / 100) & 0x07;
  out[3] = code % 100;
  out.set(r, 4);
  return out;
}

/** Decode UNKNOWN-ATTRIBUTES (a list of 16-bit types). */
export function decodeUnknownAttributes(value: Uint8Array): number[] {
  if (value.length % 2 !== 0) throw new StunError('UNKNOWN-ATTRIBUTES length must be even');
  const out: number[] = [];
  for (let i = 0; i < value.length; i += 2) out.push((value[i]! << 8) | value[i + 1]!);
  return out;
}

/** Encode UNKNOWN-ATTRIBUTES. */
export function encodeUnknownAttributes(types: readonly number[]): Uint8Array {
  const out = new Uint8Array(types.length * 2);
  types.forEach((t, i) => {
    out[2 * i] = t >> 8;
    out[2 * i + 1] = t & 0xff;
  });
  return out;
}

/** Decode CHANNEL-NUMBER (16-bit number + 16 RFFU bits). */
export function decodeChannelNumber(value: Uint8Array): number {
  if (value.length !== 4) throw new StunError(`CHANNEL-NUMBER must be 4 bytes, got ${value.length}`);
  return (value[0]! << 8) | value[1]!;
}

/** Encode CHANNEL-NUMBER. */
export function encodeChannelNumber(n: number): Uint8Array {
  return new Uint8Array([n >> 8, n & 0xff, 0, 0]);
}

/** Decode REQUESTED-TRANSPORT: the IP protocol number (17 = UDP). */
export function decodeRequestedTransport(value: Uint8Array): number {
  if (value.length !== 4) throw new StunError(`REQUESTED-TRANSPORT must be 4 bytes, got ${value.length}`);
  return value[0]!;
}

/** Encode REQUESTED-TRANSPORT. */
export function encodeRequestedTransport(protocol: number): Uint8Array {
  return new Uint8Array([protocol, 0, 0, 0]);
}

/** Decode REQUESTED-ADDRESS-FAMILY: 4 or 6; throws on unknown families. */
export function decodeRequestedFamily(value: Uint8Array): 4 | 6 {
  if (value.length !== 4) throw new StunError(`REQUESTED-ADDRESS-FAMILY must be 4 bytes, got ${value.length}`);
  if (value[0] === Family.IPv4) return 4;
  if (value[0] === Family.IPv6) return 6;
  throw new StunError(`REQUESTED-ADDRESS-FAMILY has unknown family ${value[0]}`);
}

/** Encode REQUESTED-ADDRESS-FAMILY. */
export function encodeRequestedFamily(family: 4 | 6): Uint8Array {
  return new Uint8Array([family === 4 ? Family.IPv4 : Family.IPv6, 0, 0, 0]);
}

/** Decode EVEN-PORT: true if the R bit asks to reserve the next port. */
export function decodeEvenPort(value: Uint8Array): { reserve: boolean } {
  if (value.length < 1 || value.length > 4) throw new StunError(`EVEN-PORT must be 1 byte, got ${value.length}`);
  return { reserve: (value[0]! & 0x80) !== 0 };
}

/** Encode EVEN-PORT. */
export function encodeEvenPort(reserve: boolean): Uint8Array {
  return new Uint8Array([reserve ? 0x80 : 0]);
}

/** Decode RESERVATION-TOKEN (8 opaque bytes) as hex. */
export function decodeReservationToken(value: Uint8Array): string {
  if (value.length !== 8) throw new StunError(`RESERVATION-TOKEN must be 8 bytes, got ${value.length}`);
  let s = '';
  for (const b of value) s += b.toString(16).padStart(2, '0');
  return s;
}
