/**
 * A node's identity: its Ed25519 key pair with the derived node ID and fingerprint.
 * Pure: no files, no globals. Randomness comes in as a parameter, so the simulator can
 * mint thousands of reproducible identities from a seed.
 *
 * @example
 * ```ts
 * const alice = Identity.generate(new SecureRandom());
 * alice.id;          // "9f86d0…" (64 hex chars, SHA-256 of the public key)
 * alice.fingerprint; // "30035 52218 … 04411"
 * const sig = alice.sign(bytes);
 * ```
 * @module
 */
import type { Random } from '../random.ts';
import { type KeyPair, generateKeyPair, keyPairFromSecretKey, signMessage } from './keys.ts';
import { nodeId, nodeIdBytes } from './node-id.ts';
import { fingerprint } from './fingerprint.ts';
import { bytesToHex } from '@noble/hashes/utils.js';

/** Something that can sign: an {@link Identity}, or any holder of a key. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** An Ed25519 identity with its node ID and fingerprint. */
export class Identity implements Signer {
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** The 32-byte secret key (RFC 8032 seed). Keep it in memory only; see the key store. */
  readonly secretKey: Uint8Array;
  /** SHA-256(publicKey), as bytes (the position in the DHT's XOR space). */
  readonly idBytes: Uint8Array;
  /** SHA-256(publicKey), as 64 lowercase hex characters. */
  readonly id: string;
  #fingerprint: string | undefined;

  private constructor(keyPair: KeyPair) {
    this.publicKey = keyPair.publicKey;
    this.secretKey = keyPair.secretKey;
    this.idBytes = nodeIdBytes(keyPair.publicKey);
    this.id = nodeId(keyPair.publicKey);
  }

  /** A new identity with a key drawn from `random` (SecureRandom for real nodes). */
  static generate(random: Random): Identity {
    return new Identity(generateKeyPair(random));
  }

  /** The identity for a stored 32-byte secret key. Throws a RangeError on a bad length. */
  static fromSecretKey(secretKey: Uint8Array): Identity {
    return new Identity(keyPairFromSecretKey(secretKey));
  }

  /** The safety-number fingerprint (12 groups of 5 digits); see fingerprint.ts. */
  get fingerprint(): string {
    return (this.#fingerprint ??= fingerprint(this.publicKey));
  }

  /** The public key as 64 lowercase hex characters (the form `tincan id --json` prints). */
  get publicKeyHex(): string {
    return bytesToHex(this.publicKey);
  }

  /** Ed25519 signature (64 bytes) of `message`. */
  sign(message: Uint8Array): Uint8Array {
    return signMessage(this.secretKey, message);
  }
}
