/**
 * Binds a Noise static key (X25519) to a node identity (Ed25519), as libp2p-noise does:
 * each side sends, inside its encrypted handshake payload, its Ed25519 public key and an
 * Ed25519 signature over a domain-separation prefix and its Noise static public key. The
 * receiver verifies the signature against the static key the handshake authenticated, so
 * the peer proved both that it holds the static key (Noise) and that the identity vouches
 * for it (signature). Node ID = hex SHA-256(Ed25519 public key).
 *
 * @module
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { equalBytes } from '@noble/ciphers/utils.js';

/** Signature domain: never valid as a signature over anything else tincan signs. */
export const STATIC_KEY_SIGNATURE_PREFIX = new TextEncoder().encode('tincan-session-static-key-v1:');
/** Bytes of the identity proof: Ed25519 public key (32) + signature (64). */
export const IDENTITY_PROOF_LEN = 96;

/** A node identity able to sign (the identity module's key pair satisfies this). */
export interface SessionIdentity {
  /** Ed25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** Ed25519 signature of `message`. */
  sign(message: Uint8Array): Uint8Array;
}

/** A remote identity proven during a handshake. */
export interface VerifiedIdentity {
  /** hex SHA-256 of the Ed25519 public key. */
  readonly nodeId: string;
  /** Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** Node ID of an Ed25519 public key: lowercase hex SHA-256. */
export function nodeIdOf(publicKey: Uint8Array): string {
  return bytesToHex(sha256(publicKey));
}

/** An identity from a 32-byte Ed25519 secret key (tests, tools). */
export function identityFromSecretKey(secretKey: Uint8Array): SessionIdentity {
  const sk = secretKey.slice();
  return { publicKey: ed25519.getPublicKey(sk), sign: (m) => ed25519.sign(m, sk) };
}

/** The proof to send: public key || sign(prefix || noiseStatic). */
export function makeIdentityProof(identity: SessionIdentity, noiseStatic: Uint8Array): Uint8Array {
  const sig = identity.sign(concat(STATIC_KEY_SIGNATURE_PREFIX, noiseStatic));
  if (identity.publicKey.length !== 32 || sig.length !== 64) throw new TypeError('identity must be Ed25519 (32-byte key, 64-byte signature)');
  return concat(identity.publicKey, sig);
}

/** Verify a received proof against the static key the handshake authenticated. */
export function verifyIdentityProof(proof: Uint8Array, noiseStatic: Uint8Array): VerifiedIdentity | undefined {
  if (proof.length !== IDENTITY_PROOF_LEN) return undefined;
  const publicKey = proof.slice(0, 32);
  const sig = proof.subarray(32);
  let ok = false;
  try {
    ok = ed25519.verify(sig, concat(STATIC_KEY_SIGNATURE_PREFIX, noiseStatic), publicKey);
  } catch {
    ok = false;
  }
  return ok ? { nodeId: nodeIdOf(publicKey), publicKey } : undefined;
}

/** Parse a node ID (64 hex digits) to bytes; throws a TypeError with a clear message. */
export function parseNodeId(nodeId: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(nodeId)) throw new TypeError(`invalid node ID "${nodeId}": expected 64 hex digits`);
  return hexToBytes(nodeId.toLowerCase());
}

/** Constant-time comparison of a verified identity with the node ID the caller expected. */
export function matchesNodeId(identity: VerifiedIdentity, expected: Uint8Array): boolean {
  return equalBytes(sha256(identity.publicKey), expected);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
