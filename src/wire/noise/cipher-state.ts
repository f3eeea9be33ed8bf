/**
 * Noise CipherState (spec section 5.1): a key and a 64-bit nonce counter.
 *
 * @module
 */
import { KEYLEN, MAX_NONCE, aeadOpen, aeadSeal, nonceBytes } from './crypto.ts';
import { NoiseError } from './errors.ts';

const EMPTY = new Uint8Array(0);
/** Nonces are kept as JS numbers; 2^53 messages under one key never happens (rekey is far earlier). */
const NONCE_LIMIT = Number.MAX_SAFE_INTEGER;

/** A symmetric key with an implicit (handshake) or explicit (transport) counter nonce. */
export class CipherState {
  private k: Uint8Array | undefined;
  private n = 0;
  private readonly nonce = new Uint8Array(12);

  constructor(key?: Uint8Array) {
    if (key) this.initializeKey(key);
  }

  /** InitializeKey(key): sets k and resets n to 0. */
  initializeKey(key: Uint8Array | undefined): void {
    if (key && key.length !== KEYLEN) throw new NoiseError(`cipher key must be ${KEYLEN} bytes`);
    this.k?.fill(0);
    this.k = key?.slice();
    this.n = 0;
  }

  /** HasKey(). */
  hasKey(): boolean {
    return this.k !== undefined;
  }

  /** The next implicit nonce. */
  get nonceValue(): number {
    return this.n;
  }

  /** EncryptWithAd(ad, plaintext), incrementing the implicit nonce; identity when there is no key. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (!this.k) return plaintext.slice();
    const out = this.encryptWithNonce(this.n, ad, plaintext);
    this.n++;
    return out;
  }

  /** DecryptWithAd(ad, ciphertext); throws {@link NoiseError} on authentication failure. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (!this.k) return ciphertext.slice();
    const out = this.decryptWithNonce(this.n, ad, ciphertext);
    if (!out) throw new NoiseError('decryption failed');
    this.n++;
    return out;
  }

  /** Encrypt under an explicit nonce (transport messages carry their counter). */
  encryptWithNonce(n: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (!this.k) throw new NoiseError('no key');
    if (!(n >= 0 && n < NONCE_LIMIT)) throw new NoiseError('nonce exhausted');
    return aeadSeal(this.k, nonceBytes(n, this.nonce), ad, plaintext);
  }

  /** Decrypt under an explicit nonce; undefined when authentication fails. */
  decryptWithNonce(n: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
    if (!this.k) throw new NoiseError('no key');
    if (!(n >= 0 && n < NONCE_LIMIT)) return undefined;
    return aeadOpen(this.k, nonceBytes(n, this.nonce), ad, ciphertext);
  }

  /** Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes). */
  rekey(): void {
    if (!this.k) throw new NoiseError('no key');
    const next = aeadSeal(this.k, MAX_NONCE, EMPTY, new Uint8Array(KEYLEN)).slice(0, KEYLEN);
    this.k.fill(0);
    this.k = next;
  }

  /** A copy (handshake states are cloned so a rejected message leaves them untouched). */
  clone(): CipherState {
    const c = new CipherState(this.k);
    c.n = this.n;
    return c;
  }

  /** Overwrite the key with zeros and forget it. */
  destroy(): void {
    this.k?.fill(0);
    this.k = undefined;
  }
}
