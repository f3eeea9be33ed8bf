/**
 * Stateless address-ownership cookies (like WireGuard's cookie reply, DTLS's
 * HelloVerifyRequest or QUIC's Retry). A responder under load answers an INIT that has no
 * valid cookie with a 21-byte COOKIE instead of doing any DH work or keeping any state; an
 * initiator that really is at its source address echoes the cookie in its INIT and is
 * admitted. Spoofed floods therefore cannot fill the table of half-open handshakes.
 *
 * cookie = HMAC-SHA256(secret, host || port || sender index || ephemeral key)[0..16),
 * with the secret replaced every {@link COOKIE_SECRET_MS} (the previous one still accepted).
 *
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes } from '@noble/ciphers/utils.js';
import type { Address } from '../../net/net.ts';
import { COOKIE_LEN } from './packets.ts';

/** How long one cookie secret is used. */
export const COOKIE_SECRET_MS = 120_000;

/** Issues and checks cookies; two secrets at a time. */
export class CookieJar {
  private epoch = -1;
  private current: Uint8Array = new Uint8Array(32);
  private previous: Uint8Array | undefined;

  constructor(private readonly randomBytes: (n: number) => Uint8Array) {}

  /** The cookie for an INIT from `from` with this sender index and ephemeral key. */
  make(now: number, from: Address, sender: number, ephemeral: Uint8Array): Uint8Array {
    this.rotate(now);
    return this.mac(this.current, from, sender, ephemeral);
  }

  /** Whether `cookie` is what we issued (now or in the previous period) for this INIT. Constant time. */
  check(now: number, cookie: Uint8Array, from: Address, sender: number, ephemeral: Uint8Array): boolean {
    this.rotate(now);
    if (equalBytes(cookie, this.mac(this.current, from, sender, ephemeral))) return true;
    return this.previous !== undefined && equalBytes(cookie, this.mac(this.previous, from, sender, ephemeral));
  }

  /** Zeroize the secrets. */
  destroy(): void {
    this.current.fill(0);
    this.previous?.fill(0);
    this.previous = undefined;
    this.epoch = -1;
  }

  private rotate(now: number): void {
    const epoch = Math.floor(now / COOKIE_SECRET_MS);
    if (epoch === this.epoch) return;
    this.previous?.fill(0);
    this.previous = this.epoch >= 0 && epoch === this.epoch + 1 ? this.current : undefined;
    if (!this.previous) this.current.fill(0);
    this.current = this.randomBytes(32);
    this.epoch = epoch;
  }

  private mac(secret: Uint8Array, from: Address, sender: number, ephemeral: Uint8Array): Uint8Array {
    const host = new TextEncoder().encode(from.host);
    const msg = new Uint8Array(host.length + 6 + ephemeral.length);
    msg.set(host);
    const v = new DataView(msg.buffer);
    v.setUint16(host.length, from.port);
    v.setUint32(host.length + 2, sender);
    msg.set(ephemeral, host.length + 6);
    return hmac(sha256, secret, msg).slice(0, COOKIE_LEN);
  }
}
