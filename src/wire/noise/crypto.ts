/**
 * The Noise cipher suite tincan uses, `25519_ChaChaPoly_SHA256`, on @noble primitives:
 * X25519 for DH, ChaCha20-Poly1305 (IETF, 96-bit nonce = 32 zero bits || 64-bit
 * little-endian counter) for AEAD, SHA-256 for HASH and HKDF.
 *
 * SHA-256 rather than BLAKE2s: node IDs are already SHA-256, libp2p-noise uses the same
 * suite (so peers and tools know it), and the hash is a negligible share of a handshake
 * next to the X25519 operations; transport messages do not hash at all.
 *
 * @module
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hkdf } from '@noble/hashes/hkdf.js';

/** Length of a DH public key / shared secret (X25519). */
export const DHLEN = 32;
/** Length of the hash output (SHA-256). */
export const HASHLEN = 32;
/** Length of an AEAD key. */
export const KEYLEN = 32;
/** Length of the Poly1305 authentication tag. */
export const TAGLEN = 16;
/** Largest Noise message (spec section 3). */
export const MAX_NOISE_MESSAGE = 65535;
/** Suite name as it appears in a Noise protocol name. */
export const SUITE_NAME = '25519_ChaChaPoly_SHA256';

/** An X25519 key pair. */
export interface DhKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** X25519 key pair from 32 secret bytes (clamped by X25519 itself). */
export function dhKeyPairFromSecret(secretKey: Uint8Array): DhKeyPair {
  return { secretKey: secretKey.slice(), publicKey: x25519.getPublicKey(secretKey) };
}

/**
 * X25519 shared secret. Throws if the result is all zeros (a low-order public key), which
 * the callers treat as a failed handshake message.
 */
export function dh(keyPair: DhKeyPair, publicKey: Uint8Array): Uint8Array {
  return x25519.getSharedSecret(keyPair.secretKey, publicKey);
}

/** HASH(data) with SHA-256. */
export function hash(...parts: Uint8Array[]): Uint8Array {
  const h = sha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * Noise's HKDF(chaining_key, input_key_material, 2): RFC 5869 with salt = ck and empty
 * info produces exactly output1 || output2.
 */
export function hkdf2(chainingKey: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const out = hkdf(sha256, ikm, chainingKey, new Uint8Array(0), 2 * HASHLEN);
  return [out.slice(0, HASHLEN), out.slice(HASHLEN)];
}

/** The 12-byte ChaChaPoly nonce for counter `n` (n < 2^64, given as a safe integer). */
export function nonceBytes(n: number, out = new Uint8Array(12)): Uint8Array {
  out.fill(0, 0, 4);
  const lo = n >>> 0;
  const hi = Math.floor(n / 2 ** 32) >>> 0;
  out[4] = lo & 0xff;
  out[5] = (lo >>> 8) & 0xff;
  out[6] = (lo >>> 16) & 0xff;
  out[7] = lo >>> 24;
  out[8] = hi & 0xff;
  out[9] = (hi >>> 8) & 0xff;
  out[10] = (hi >>> 16) & 0xff;
  out[11] = hi >>> 24;
  return out;
}

/** The all-ones nonce 2^64-1 used by Noise's REKEY (not a safe integer, so spelled out). */
export const MAX_NONCE = new Uint8Array([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** ENCRYPT(k, nonce, ad, plaintext) -> ciphertext || tag. */
export function aeadSeal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

/** DECRYPT(k, nonce, ad, ciphertext); returns undefined when authentication fails. */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
  if (ciphertext.length < TAGLEN) return undefined;
  try {
    return chacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch {
    return undefined;
  }
}
