/**
 * How an overlay node's link key relates to its user identity: the link key of one run
 * is derived from the identity, the device name and a per-run salt
 * ({@link deriveLinkIdentity}); a leaf proves to its supernode which identity it speaks
 * for by signing {@link deviceProofMessage} with the identity key. Also the base64 codec
 * of sealed signals in overlay envelopes.
 *
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { Identity } from '../identity/identity.ts';

const DEVICE_PREFIX = new TextEncoder().encode('tincan-device-v1');
const LINK_KEY_PREFIX = new TextEncoder().encode('tincan-link-key-v1');

/** Standard base64 of `bytes` (sealed signals inside overlay envelopes). */
export function b64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s);
}

/** Bytes of standard base64 `text` (throws on malformed input). */
export function unb64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** What a leaf signs with its identity key to prove that `linkKey` speaks for it on `device`. */
export function deviceProofMessage(linkKey: Uint8Array, device: string): Uint8Array {
  return concatBytes(DEVICE_PREFIX, linkKey, new TextEncoder().encode(device));
}

/**
 * The link key of one run of (identity, device). Fresh per run (`salt`): two runs of one
 * identity and device may be up at once (a running node and the temporary leaf of
 * `tincan lookup` with the same home), and each must be its own node to its supernodes.
 * (A restart alone would not need it: the wire layer gives a restarted peer a fresh session.)
 */
export function deriveLinkIdentity(identity: Identity, device: string, salt: Uint8Array): Identity {
  return Identity.fromSecretKey(sha256(concatBytes(LINK_KEY_PREFIX, identity.secretKey, salt, new TextEncoder().encode(device))));
}
