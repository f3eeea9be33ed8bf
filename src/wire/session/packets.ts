/**
 * Session packet formats: the first byte names the packet type (0xE0-0xE3, a range RFC
 * 7983 leaves free of STUN, DTLS, TURN channels and RTP), integers are little-endian,
 * and every length is checked before anything is read. Parsers return `undefined` for
 * anything that is not exactly a well-formed packet; callers count the drop.
 *
 * ```
 * INIT    E0 | sender u32 | e[32] | zero padding[203] | cookie[16]   (INIT_LEN bytes)
 * RESP    E1 | sender u32 | receiver u32 | e[32] | s[32+16] | identity[96+16]
 * FINISH  E2 | receiver u32 | s[32+16] | identity[96+16]
 * DATA    E3 | receiver u32 | counter u64 | ciphertext | tag[16]
 * COOKIE  E4 | receiver u32 | cookie[16]
 * ```
 * @module
 */
import { MAX_DATAGRAM } from '../../net/net.ts';
import { DHLEN, TAGLEN } from '../noise/crypto.ts';
import { IDENTITY_PROOF_LEN } from './identity-binding.ts';

/** First byte of a handshake initiation (Noise XX message 1). */
export const PACKET_INIT = 0xe0;
/** First byte of a handshake response (Noise XX message 2). */
export const PACKET_RESP = 0xe1;
/** First byte of a handshake finish (Noise XX message 3). */
export const PACKET_FINISH = 0xe2;
/** First byte of a transport (data or keepalive) packet. */
export const PACKET_DATA = 0xe3;
/** First byte of a cookie reply (a responder under load asks the initiator to prove its address). */
export const PACKET_COOKIE = 0xe4;
/** The first-byte range reserved for sessions (0xE5-0xEF are unused, reserved). */
export const SESSION_PACKET_RANGE = { first: 0xe0, last: 0xef } as const;

/** True when the datagram's first byte belongs to the session range (what a demux checks). */
export function isSessionPacket(data: Uint8Array): boolean {
  const b = data[0];
  return b !== undefined && b >= SESSION_PACKET_RANGE.first && b <= SESSION_PACKET_RANGE.last;
}

/**
 * INIT is padded to this size so that a spoofed INIT never draws a larger RESP
 * (no amplification: RESP is {@link RESP_LEN} bytes).
 */
export const INIT_LEN = 256;
/** Length of a RESP packet. */
export const RESP_LEN = 9 + DHLEN + (DHLEN + TAGLEN) + (IDENTITY_PROOF_LEN + TAGLEN);
/** Length of a FINISH packet. */
export const FINISH_LEN = 5 + (DHLEN + TAGLEN) + (IDENTITY_PROOF_LEN + TAGLEN);
/** Length of the DATA header (type, receiver, counter), authenticated as AEAD associated data. */
export const DATA_HEADER_LEN = 13;
/** Smallest DATA packet: an empty (keepalive) payload. */
export const DATA_MIN_LEN = DATA_HEADER_LEN + TAGLEN;
/** Largest plaintext one DATA packet carries within {@link MAX_DATAGRAM}. */
export const MAX_SESSION_PAYLOAD = MAX_DATAGRAM - DATA_MIN_LEN;
/** Length of a cookie (in COOKIE, and at the end of INIT: zeros when the initiator has none). */
export const COOKIE_LEN = 16;
/** Noise payload of INIT: zeros, so the packet reaches {@link INIT_LEN}. */
export const INIT_PADDING = INIT_LEN - 5 - DHLEN - COOKIE_LEN;
/** Length of a COOKIE packet. */
export const COOKIE_PACKET_LEN = 5 + COOKIE_LEN;

/** A parsed INIT. */
export interface InitPacket {
  sender: number;
  /** Noise message 1 (covered by the handshake hash). */
  noise: Uint8Array;
  /** The cookie field (outside Noise; all zeros when none). */
  cookie: Uint8Array;
}
/** A parsed COOKIE. */
export interface CookiePacket {
  receiver: number;
  cookie: Uint8Array;
}
/** A parsed RESP. */
export interface RespPacket {
  sender: number;
  receiver: number;
  noise: Uint8Array;
}
/** A parsed FINISH. */
export interface FinishPacket {
  receiver: number;
  noise: Uint8Array;
}
/** A parsed DATA header; `header` and `ciphertext` are views into the datagram. */
export interface DataPacket {
  receiver: number;
  counter: number;
  header: Uint8Array;
  ciphertext: Uint8Array;
}

function u32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

function putU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}

/** Encode INIT around Noise message 1 (with an empty cookie field). */
export function encodeInit(sender: number, noise: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + noise.length + COOKIE_LEN);
  out[0] = PACKET_INIT;
  putU32(out, 1, sender);
  out.set(noise, 5);
  return out;
}

/** Put `cookie` into an encoded INIT's cookie field (in place). */
export function setInitCookie(init: Uint8Array, cookie: Uint8Array): void {
  init.set(cookie.subarray(0, COOKIE_LEN), init.length - COOKIE_LEN);
}

/** Parse INIT (exact length). */
export function parseInit(b: Uint8Array): InitPacket | undefined {
  if (b.length !== INIT_LEN || b[0] !== PACKET_INIT) return undefined;
  return { sender: u32(b, 1), noise: b.subarray(5, INIT_LEN - COOKIE_LEN), cookie: b.subarray(INIT_LEN - COOKIE_LEN) };
}

/** Encode a COOKIE reply to the initiator's index. */
export function encodeCookie(receiver: number, cookie: Uint8Array): Uint8Array {
  const out = new Uint8Array(COOKIE_PACKET_LEN);
  out[0] = PACKET_COOKIE;
  putU32(out, 1, receiver);
  out.set(cookie.subarray(0, COOKIE_LEN), 5);
  return out;
}

/** Parse COOKIE (exact length). */
export function parseCookie(b: Uint8Array): CookiePacket | undefined {
  if (b.length !== COOKIE_PACKET_LEN || b[0] !== PACKET_COOKIE) return undefined;
  return { receiver: u32(b, 1), cookie: b.subarray(5) };
}

/** Encode RESP around Noise message 2. */
export function encodeResp(sender: number, receiver: number, noise: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + noise.length);
  out[0] = PACKET_RESP;
  putU32(out, 1, sender);
  putU32(out, 5, receiver);
  out.set(noise, 9);
  return out;
}

/** Parse RESP (exact length). */
export function parseResp(b: Uint8Array): RespPacket | undefined {
  if (b.length !== RESP_LEN || b[0] !== PACKET_RESP) return undefined;
  return { sender: u32(b, 1), receiver: u32(b, 5), noise: b.subarray(9) };
}

/** Encode FINISH around Noise message 3. */
export function encodeFinish(receiver: number, noise: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + noise.length);
  out[0] = PACKET_FINISH;
  putU32(out, 1, receiver);
  out.set(noise, 5);
  return out;
}

/** Parse FINISH (exact length). */
export function parseFinish(b: Uint8Array): FinishPacket | undefined {
  if (b.length !== FINISH_LEN || b[0] !== PACKET_FINISH) return undefined;
  return { receiver: u32(b, 1), noise: b.subarray(5) };
}

/** Write a DATA header (type, receiver, 64-bit counter) into `out[0..13)`. */
export function writeDataHeader(out: Uint8Array, receiver: number, counter: number): void {
  out[0] = PACKET_DATA;
  putU32(out, 1, receiver);
  putU32(out, 5, counter >>> 0);
  putU32(out, 9, Math.floor(counter / 2 ** 32) >>> 0);
}

/**
 * Parse a DATA header. Counters at or above 2^53 are refused here (tincan never sends
 * them: keys are replaced long before), so counters are exact JS numbers.
 */
export function parseData(b: Uint8Array): DataPacket | undefined {
  if (b.length < DATA_MIN_LEN || b.length > MAX_DATAGRAM || b[0] !== PACKET_DATA) return undefined;
  const hi = u32(b, 9);
  if (hi >= 2 ** 21) return undefined;
  return {
    receiver: u32(b, 1),
    counter: hi * 2 ** 32 + u32(b, 5),
    header: b.subarray(0, DATA_HEADER_LEN),
    ciphertext: b.subarray(DATA_HEADER_LEN),
  };
}
