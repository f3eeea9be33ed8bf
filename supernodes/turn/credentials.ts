/**
 * TURN long-term credentials in coturn's shared-secret form ("TURN REST API",
 * `--use-auth-secret --static-auth-secret`): username `expiry:user` (expiry in Unix
 * seconds), password `base64(HMAC-SHA1(secret, username))`, and the long-term key
 * `MD5(username ":" realm ":" password)` (RFC 8489 9.2.2).
 *
 * A supernode mints short-lived credentials for its attached leaves with
 * {@link mintTurnCredentials}; any standard TURN client (werift, browsers, coturn's
 * tools) can then use them against the supernode's TURN server.
 *
 * @example
 * ```ts
 * const c = mintTurnCredentials({ secret, user: leafId, now: clock.now(), ttlSeconds: 3600 });
 * // -> { username: '1700003600:leafId', password: 'Ji4a...', expiresAt: 1700003600 }
 * ```
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { md5, sha1 } from '@noble/hashes/legacy.js';

const encoder = new TextEncoder();

/** Credentials handed to a TURN client. */
export interface TurnCredentials {
  readonly username: string;
  readonly password: string;
  /** Unix seconds after which the server refuses them. */
  readonly expiresAt: number;
}

/** Options for {@link mintTurnCredentials}. */
export interface MintOptions {
  /** The shared secret (`--turn-secret`). */
  secret: string;
  /** Who the credentials are for (a leaf's node ID); may be empty. Must not contain the separator. */
  user: string;
  /** Current time in ms (from the Clock). */
  now: number;
  /** Validity; default 3600 s. */
  ttlSeconds?: number;
  /** Separator between expiry and user; default ':' (coturn's `--rest-api-separator`). */
  separator?: string;
}

/** Mint credentials valid for `ttlSeconds` from `now`. */
export function mintTurnCredentials(o: MintOptions): TurnCredentials {
  const sep = o.separator ?? ':';
  if (o.user.includes(sep)) throw new Error(`TURN user name must not contain "${sep}"`);
  const expiresAt = Math.floor(o.now / 1000) + (o.ttlSeconds ?? 3600);
  const username = o.user === '' ? String(expiresAt) : `${expiresAt}${sep}${o.user}`;
  return { username, password: restPassword(o.secret, username), expiresAt };
}

/** `base64(HMAC-SHA1(secret, username))`, as coturn computes it. */
export function restPassword(secret: string, username: string): string {
  return toBase64(hmac(sha1, encoder.encode(secret), encoder.encode(username)));
}

/** The long-term credential key `MD5(username:realm:password)`. */
export function longTermKey(username: string, realm: string, password: string): Uint8Array {
  return md5(encoder.encode(`${username}:${realm}:${password}`));
}

/** A parsed REST username. */
export interface RestUsername {
  /** Expiry, Unix seconds. */
  readonly expiresAt: number;
  /** The part after the separator (empty if none). */
  readonly user: string;
}

/** Parse `expiry[:user]`; undefined if the expiry is not a decimal number. */
export function parseRestUsername(username: string, separator = ':'): RestUsername | undefined {
  const i = username.indexOf(separator);
  const ts = i < 0 ? username : username.slice(0, i);
  if (!/^\d{1,12}$/.test(ts)) return undefined;
  return { expiresAt: Number(ts), user: i < 0 ? '' : username.slice(i + separator.length) };
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
