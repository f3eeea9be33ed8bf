/**
 * Stateless, expiring NONCEs (RFC 8489 9.2): `expiry(8 hex) + MAC(24 hex)`, the MAC
 * binding the expiry to the client's address under a per-server random key. A nonce
 * that is past its expiry, forged, or from another client is "stale" (438).
 *
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Address } from '../../src/net/net.ts';

const encoder = new TextEncoder();

function hex(b: Uint8Array, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

/** Issues and checks nonces. */
export class Nonces {
  constructor(
    private readonly key: Uint8Array,
    private readonly lifetimeMs: number,
  ) {}

  private mac(expiryHex: string, client: Address): string {
    return hex(hmac(sha256, this.key, encoder.encode(`${expiryHex}|${client.host}|${client.port}`)), 12);
  }

  /** A fresh nonce for `client`, valid for the lifetime from `now` (ms). */
  issue(client: Address, now: number): string {
    const expiryHex = Math.floor((now + this.lifetimeMs) / 1000)
      .toString(16)
      .padStart(8, '0');
    return expiryHex + this.mac(expiryHex, client);
  }

  /** True if `nonce` was issued by us to `client` and has not expired at `now`. */
  valid(nonce: string, client: Address, now: number): boolean {
    if (nonce.length !== 32) return false;
    const expiryHex = nonce.slice(0, 8);
    if (!/^[0-9a-f]{8}$/.test(expiryHex)) return false;
    if (parseInt(expiryHex, 16) * 1000 <= now) return false;
    return this.mac(expiryHex, client) === nonce.slice(8);
  }
}
