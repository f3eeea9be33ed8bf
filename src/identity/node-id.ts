/**
 * Node IDs: SHA-256 of the Ed25519 public key. As bytes they place a node in the
 * Kademlia XOR space; as 64 lowercase hex characters they are shown and exchanged.
 *
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { PUBLIC_KEY_BYTES } from './keys.ts';

/** Length of a node ID in bytes. */
export const NODE_ID_BYTES = 32;

/** SHA-256(publicKey). Throws a RangeError if `publicKey` is not 32 bytes. */
export function nodeIdBytes(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new RangeError(`a public key is ${PUBLIC_KEY_BYTES} bytes`);
  return sha256(publicKey);
}

/** The node ID as 64 lowercase hex characters. */
export function nodeId(publicKey: Uint8Array): string {
  return bytesToHex(nodeIdBytes(publicKey));
}

/** True if `text` has the shape of a node ID (64 lowercase hex characters). */
export function isNodeId(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}
