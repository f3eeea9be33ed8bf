/**
 * End-to-end sealed call signaling. Offers, answers and the other call messages travel
 * through supernodes, which must route them but can neither read nor alter them:
 *
 * - sealed to the recipient's identity key: ephemeral X25519 (the recipient's Ed25519
 *   key converted to X25519) + HKDF-SHA256 + ChaCha20-Poly1305;
 * - signed inside the ciphertext by the sender's Ed25519 identity key, over the recipient
 *   key, the ephemeral key and the body, so a supernode cannot swap in its own offer
 *   (it would have to sign as the caller) nor replay the body in another envelope.
 *
 * Wire form (binary, then base64url inside a routing envelope):
 *   version(1)=1 | ephemeralPublic(32) | recipientHint(8) | ciphertext(+16 tag)
 * Plaintext: senderPublic(32) | signature(64) | body (UTF-8 JSON).
 *
 * @example
 * ```ts
 * const sealed = sealSignal(alice, bob.publicKey, { kind: 'offer', callId, sdp, sentAt, seq: 1 }, random);
 * const opened = openSignal(bob, sealed, { expectedSender: alice.publicKey });
 * if (!opened.ok) console.log(opened.reason); // 'tampered', 'unexpected-sender', ...
 * ```
 * @module
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes as concat } from '@noble/hashes/utils.js';
import type { Random } from '../random.ts';
import type { Identity } from '../identity/identity.ts';
import { verifySignature } from '../identity/keys.ts';

/** Kinds of call signaling messages. */
export const SIGNAL_KINDS = [
  'offer', 'answer', 'ringing', 'decline', 'busy', 'cancel', 'hangup', 'hold', 'resume', 'restart-offer', 'restart-answer', 'restart-request', 'answered-elsewhere',
] as const;
/** One of {@link SIGNAL_KINDS}. */
export type SignalKind = (typeof SIGNAL_KINDS)[number];

/** The sealed content of a signaling message. */
export interface SignalBody {
  kind: SignalKind;
  /** Random call identifier chosen by the caller (hex, 32 chars). */
  callId: string;
  /** SDP for offer/answer/restart kinds. */
  sdp?: string;
  /** Free-text reason for hangup/decline. */
  reason?: string;
  /** Sender's device (several devices may share one identity). */
  device?: string;
  /** The caller's display name, in offers (signed with the rest, but names are not unique). */
  name?: string;
  /** Sender's clock, ms since epoch (receivers reject stale messages). */
  sentAt: number;
  /** Per-call sequence number from this sender (receivers drop repeats). */
  seq: number;
}

/** Why a sealed message was refused. */
export type OpenFailure = 'malformed' | 'wrong-recipient' | 'tampered' | 'bad-signature' | 'unexpected-sender' | 'invalid-body';

/** Result of {@link openSignal}. */
export type OpenResult =
  | { ok: true; body: SignalBody; senderPublicKey: Uint8Array }
  | { ok: false; reason: OpenFailure; detail: string };

const VERSION = 1;
const HEADER = 1 + 32 + 8;
const TAG = 16;
const INFO = new TextEncoder().encode('tincan seal v1');
const SIG_DOMAIN = new TextEncoder().encode('tincan-signal-v1');
/** Largest body accepted (SDP with many candidates fits easily). */
export const MAX_SIGNAL_BODY = 16 * 1024;

/** Seal `body` from `sender` to the holder of `recipientPublicKey` (Ed25519). */
export function sealSignal(sender: Identity, recipientPublicKey: Uint8Array, body: SignalBody, random: Random): Uint8Array {
  const bodyBytes = new TextEncoder().encode(JSON.stringify(body));
  if (bodyBytes.length > MAX_SIGNAL_BODY) throw new RangeError(`signal body too large (${bodyBytes.length} > ${MAX_SIGNAL_BODY} bytes)`);
  const recipientX = ed25519.utils.toMontgomery(recipientPublicKey);
  const ephSecret = random.bytes(32);
  const ephPublic = x25519.getPublicKey(ephSecret);
  const key = deriveKey(x25519.getSharedSecret(ephSecret, recipientX), ephPublic, recipientX);
  const signature = sender.sign(signedBytes(recipientPublicKey, ephPublic, bodyBytes));
  const plaintext = concat(sender.publicKey, signature, bodyBytes);
  const header = concat(Uint8Array.of(VERSION), ephPublic, recipientHint(recipientPublicKey));
  const ciphertext = chacha20poly1305(key, new Uint8Array(12), header).encrypt(plaintext);
  ephSecret.fill(0);
  key.fill(0);
  return concat(header, ciphertext);
}

/**
 * Open a sealed message addressed to `recipient`. Never throws: any problem is reported
 * as a reason. Pass `expectedSender` when the sender's key is known (e.g. the callee's
 * key from the directory for an answer); a message signed by anyone else is refused.
 */
export function openSignal(recipient: Identity, sealed: Uint8Array, options: { expectedSender?: Uint8Array } = {}): OpenResult {
  if (sealed.length < HEADER + TAG + 32 + 64 + 2 || sealed[0] !== VERSION) {
    return { ok: false, reason: 'malformed', detail: 'not a tincan sealed signal (bad version or length)' };
  }
  if (sealed.length > HEADER + TAG + 96 + MAX_SIGNAL_BODY) return { ok: false, reason: 'malformed', detail: 'sealed signal too large' };
  const header = sealed.subarray(0, HEADER);
  const ephPublic = sealed.subarray(1, 33);
  if (!equal(sealed.subarray(33, HEADER), recipientHint(recipient.publicKey))) {
    return { ok: false, reason: 'wrong-recipient', detail: 'sealed to a different key' };
  }
  let plaintext: Uint8Array;
  try {
    const recipientX = ed25519.utils.toMontgomery(recipient.publicKey);
    const shared = x25519.getSharedSecret(ed25519.utils.toMontgomerySecret(recipient.secretKey), ephPublic);
    const key = deriveKey(shared, ephPublic, recipientX);
    plaintext = chacha20poly1305(key, new Uint8Array(12), header).decrypt(sealed.subarray(HEADER));
    key.fill(0);
  } catch {
    return { ok: false, reason: 'tampered', detail: 'sealed signal failed authentication: it was altered in transit' };
  }
  const senderPublicKey = plaintext.slice(0, 32);
  const signature = plaintext.subarray(32, 96);
  const bodyBytes = plaintext.subarray(96);
  if (!verifySignature(senderPublicKey, signedBytes(recipient.publicKey, ephPublic, bodyBytes), signature)) {
    return { ok: false, reason: 'bad-signature', detail: 'sender signature does not verify' };
  }
  if (options.expectedSender && !equal(options.expectedSender, senderPublicKey)) {
    return { ok: false, reason: 'unexpected-sender', detail: 'signed by a different key than expected' };
  }
  const body = parseBody(bodyBytes);
  if (typeof body === 'string') return { ok: false, reason: 'invalid-body', detail: body };
  return { ok: true, body, senderPublicKey };
}

function parseBody(bytes: Uint8Array): SignalBody | string {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return 'body is not UTF-8 JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'body is not an object';
  const b = v as Record<string, unknown>;
  if (!SIGNAL_KINDS.includes(b.kind as SignalKind)) return `unknown signal kind ${JSON.stringify(b.kind)}`;
  if (typeof b.callId !== 'string' || !/^[0-9a-f]{16,64}$/.test(b.callId)) return 'callId must be 16-64 hex characters';
  if (b.sdp !== undefined && (typeof b.sdp !== 'string' || b.sdp.length > MAX_SIGNAL_BODY)) return 'sdp must be a string';
  if (b.reason !== undefined && (typeof b.reason !== 'string' || b.reason.length > 200)) return 'reason must be a short string';
  if (b.device !== undefined && (typeof b.device !== 'string' || b.device.length > 64)) return 'device must be a short string';
  if (b.name !== undefined && (typeof b.name !== 'string' || b.name.length > 64)) return 'name must be a short string';
  if (typeof b.sentAt !== 'number' || !Number.isFinite(b.sentAt)) return 'sentAt must be a number';
  if (typeof b.seq !== 'number' || !Number.isSafeInteger(b.seq) || b.seq < 0) return 'seq must be a non-negative integer';
  const known = new Set(['kind', 'callId', 'sdp', 'reason', 'device', 'name', 'sentAt', 'seq']);
  for (const k of Object.keys(b)) if (!known.has(k)) return `unexpected field ${k}`;
  return b as unknown as SignalBody;
}

function deriveKey(shared: Uint8Array, ephPublic: Uint8Array, recipientX: Uint8Array): Uint8Array {
  if (shared.every((x) => x === 0)) throw new Error('low-order point');
  return hkdf(sha256, shared, concat(ephPublic, recipientX), INFO, 32);
}

function signedBytes(recipient: Uint8Array, ephPublic: Uint8Array, body: Uint8Array): Uint8Array {
  return concat(SIG_DOMAIN, recipient, ephPublic, body);
}

function recipientHint(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).subarray(0, 8);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
