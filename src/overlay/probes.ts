/**
 * Raw overlay datagrams outside sessions, in the session range's reserved bytes:
 *
 * - **hail** (0xEE): "who are you?" A seed is known only by HOST:PORT, but a Noise
 *   session needs the responder's node ID up front. The request is padded to be at least
 *   as long as the answer (no amplification); the answer carries the link public key and
 *   the request's nonce. Trust on first use, like any address-only seed.
 *   `EE 'H' nonce[8] pad[40]` -> `EE 'h' nonce[8] key[32]`
 * - **dial-back** (0xEF): a supernode sends `EF 'D' nonce[16]` from a second socket
 *   (another port) to a candidate's observed address. Receiving it proves an unsolicited
 *   packet from an address the candidate never sent to gets through.
 *
 * @module
 */

/** First byte of hail packets. */
export const HAIL_BYTE = 0xee;
/** First byte of dial-back probes. */
export const DIALBACK_BYTE = 0xef;
const HAIL_REQ = 0x48; // 'H'
const HAIL_ANS = 0x68; // 'h'
const DIALBACK = 0x44; // 'D'
/** Length of a hail request (padded). */
export const HAIL_REQUEST_LEN = 50;
/** Length of a hail answer. */
export const HAIL_ANSWER_LEN = 42;
/** Length of a dial-back probe. */
export const DIALBACK_LEN = 18;

/** A hail request for `nonce` (8 bytes). */
export function encodeHailRequest(nonce: Uint8Array): Uint8Array {
  const out = new Uint8Array(HAIL_REQUEST_LEN);
  out[0] = HAIL_BYTE;
  out[1] = HAIL_REQ;
  out.set(nonce.subarray(0, 8), 2);
  return out;
}

/** A hail answer: our link key for the asker's nonce. */
export function encodeHailAnswer(nonce: Uint8Array, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(HAIL_ANSWER_LEN);
  out[0] = HAIL_BYTE;
  out[1] = HAIL_ANS;
  out.set(nonce.subarray(0, 8), 2);
  out.set(key.subarray(0, 32), 10);
  return out;
}

/** A dial-back probe carrying `nonce` (16 bytes). */
export function encodeDialback(nonce: Uint8Array): Uint8Array {
  const out = new Uint8Array(DIALBACK_LEN);
  out[0] = DIALBACK_BYTE;
  out[1] = DIALBACK;
  out.set(nonce.subarray(0, 16), 2);
  return out;
}

/** A parsed probe packet. */
export type Probe =
  | { type: 'hail-request'; nonce: Uint8Array }
  | { type: 'hail-answer'; nonce: Uint8Array; key: Uint8Array }
  | { type: 'dialback'; nonce: Uint8Array };

/** Parse a probe; undefined for anything else (including malformed probes). Never throws. */
export function parseProbe(d: Uint8Array): Probe | undefined {
  if (d.length < 2) return undefined;
  if (d[0] === HAIL_BYTE && d[1] === HAIL_REQ && d.length === HAIL_REQUEST_LEN) return { type: 'hail-request', nonce: d.slice(2, 10) };
  if (d[0] === HAIL_BYTE && d[1] === HAIL_ANS && d.length === HAIL_ANSWER_LEN) return { type: 'hail-answer', nonce: d.slice(2, 10), key: d.slice(10, 42) };
  if (d[0] === DIALBACK_BYTE && d[1] === DIALBACK && d.length === DIALBACK_LEN) return { type: 'dialback', nonce: d.slice(2, 18) };
  return undefined;
}

/** True for the first bytes this module owns (the demux routes them here, not to sessions). */
export function isProbeByte(b: number | undefined): boolean {
  return b === HAIL_BYTE || b === DIALBACK_BYTE;
}
