/**
 * Ed25519 key pairs: generation from an injected {@link Random}, signing, and
 * verification that never throws on hostile input.
 *
 * @example
 * ```ts
 * const kp = generateKeyPair(new SeededRandom(1)); // deterministic, for simulation
 * const sig = signMessage(kp.secretKey, msg);
 * verifySignature(kp.publicKey, msg, sig); // true
 * ```
 * @module
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Random } from '../random.ts';

/** Length of an Ed25519 secret key (the RFC 8032 32-byte seed). */
export const SECRET_KEY_BYTES = 32;
/** Length of an Ed25519 public key. */
export const PUBLIC_KEY_BYTES = 32;
/** Length of an Ed25519 signature. */
export const SIGNATURE_BYTES = 64;

/** An Ed25519 key pair. `secretKey` is the 32-byte RFC 8032 seed. */
export interface KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/**
 * A new key pair whose seed is `random.bytes(32)`. Pass a `SecureRandom` for real
 * identities and a `SeededRandom` to mint reproducible identities in simulation.
 */
export function generateKeyPair(random: Random): KeyPair {
  return keyPairFromSecretKey(random.bytes(SECRET_KEY_BYTES));
}

/** The key pair for a 32-byte secret key (seed). Throws a RangeError on a wrong length. */
export function keyPairFromSecretKey(secretKey: Uint8Array): KeyPair {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_BYTES) {
    throw new RangeError(`an Ed25519 secret key is ${SECRET_KEY_BYTES} bytes`);
  }
  const copy = Uint8Array.from(secretKey);
  return { secretKey: copy, publicKey: ed25519.getPublicKey(copy) };
}

/** Sign `message` with a 32-byte secret key; returns a 64-byte signature. */
export function signMessage(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}

/**
 * True only if `signature` is a valid strict (RFC 8032, non-malleable) Ed25519 signature
 * of `message` by `publicKey`. Wrong lengths or invalid points give false, never an
 * exception, so callers can feed it untrusted bytes.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** True if `publicKey` is 32 bytes that decode to a valid Ed25519 point. */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return false;
  try {
    return ed25519.utils.isValidPublicKey(publicKey, false);
  } catch {
    return false;
  }
}
