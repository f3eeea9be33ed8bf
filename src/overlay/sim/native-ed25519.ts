/**
 * Ed25519 on the platform's crypto (OpenSSL under Node and Deno's node:crypto), for the
 * simulator only: thousands of presence records are signed and verified per simulated
 * hour, and the pure-JS implementation the node uses (@noble/curves, ~2 ms a signature
 * and ~3 ms a verification here) would dominate the run.
 *
 * Nothing changes in what the simulation computes: Ed25519 signing is deterministic
 * (RFC 8032), so {@link nativeSigner} produces byte for byte the signature
 * `Identity.sign` does (tested), {@link nativeIdentity} mints from the same seed bytes the
 * same key pair and node ID as `Identity.generate` (tested; ~0.06 ms a key instead of
 * ~0.8 ms), and {@link nativeVerify} accepts exactly the valid signatures of messages
 * the simulated nodes signed. (Implementations may disagree on
 * adversarial edge cases such as non-canonical encodings; no simulated node makes those.)
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import crypto from 'node:crypto';
import type { Signer } from '../../identity/identity.ts';
import type { Random } from '../../random.ts';
import { toHex } from '../node-id.ts';

// Keys are imported as JWK: OpenSSL 3's DER decoders take ~2 ms a key, JWK ~0.1 ms.
function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** What the simulator needs of a node's identity (the fields of `Identity` it reads). */
export interface SimIdentity {
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** The 32-byte secret key (RFC 8032 seed). */
  readonly secretKey: Uint8Array;
  /** SHA-256(publicKey): the node ID. */
  readonly idBytes: Uint8Array;
  /** {@link idBytes} as 64 lowercase hex characters. */
  readonly id: string;
}

const DUMMY_X = b64u(new Uint8Array(32));

/**
 * The public key of the 32-byte Ed25519 seed `secretKey`. OpenSSL derives it from the
 * seed when importing a private JWK (the `x` given is not used; a zero placeholder
 * coming back would mean it was, and throws).
 */
export function nativePublicKey(secretKey: Uint8Array): Uint8Array {
  const key = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64u(secretKey), x: DUMMY_X }, format: 'jwk' });
  const x = crypto.createPublicKey(key).export({ format: 'jwk' }).x;
  if (typeof x !== 'string' || x === DUMMY_X) throw new Error('platform Ed25519 did not derive the public key');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

/**
 * An identity from `random` as `Identity.generate(random)` makes it (its seed is the next
 * 32 bytes of `random`): the same keys and node ID, on the platform's Ed25519.
 */
export function nativeIdentity(random: Random): SimIdentity {
  return nativeIdentityFromSeed(random.bytes(32));
}

/** The identity of the 32-byte seed `secretKey` (as {@link nativeIdentity} makes it). */
export function nativeIdentityFromSeed(secretKey: Uint8Array): SimIdentity {
  const publicKey = nativePublicKey(secretKey);
  const idBytes = new Uint8Array(crypto.createHash('sha256').update(publicKey).digest());
  return { publicKey, secretKey, idBytes, id: toHex(idBytes) };
}

/** A {@link Signer} for the key pair `(secretKey, publicKey)` (32-byte seed and public key). */
export function nativeSigner(keys: { secretKey: Uint8Array; publicKey: Uint8Array }): Signer {
  const key = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64u(keys.secretKey), x: b64u(keys.publicKey) }, format: 'jwk' });
  const publicKey = keys.publicKey;
  return {
    publicKey,
    sign(message: Uint8Array): Uint8Array {
      return new Uint8Array(crypto.sign(null, message, key));
    },
  };
}

const publicKeys = new Map<string, crypto.KeyObject | null>();
const MAX_KEYS = 50_000;

/** True if `signature` is a valid Ed25519 signature of `message` by `publicKey`; never throws. */
export function nativeVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const id = toHex(publicKey);
  let key = publicKeys.get(id);
  if (key === undefined) {
    try {
      key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(publicKey) }, format: 'jwk' });
    } catch {
      key = null;
    }
    if (publicKeys.size >= MAX_KEYS) publicKeys.delete(publicKeys.keys().next().value!);
    publicKeys.set(id, key);
  }
  if (key === null) return false;
  try {
    return crypto.verify(null, message, key, signature);
  } catch {
    return false;
  }
}
