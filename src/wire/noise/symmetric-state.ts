/**
 * Noise SymmetricState (spec section 5.2): the chaining key, the handshake hash and a
 * CipherState.
 *
 * @module
 */
import { CipherState } from './cipher-state.ts';
import { HASHLEN, hash, hkdf2 } from './crypto.ts';

/** Chaining key + handshake hash + cipher. */
export class SymmetricState {
  private ck: Uint8Array;
  private h: Uint8Array;
  private cs: CipherState;

  /** InitializeSymmetric(protocol_name). */
  constructor(protocolName: string | { ck: Uint8Array; h: Uint8Array; cs: CipherState }) {
    if (typeof protocolName === 'string') {
      const name = new TextEncoder().encode(protocolName);
      if (name.length <= HASHLEN) {
        this.h = new Uint8Array(HASHLEN);
        this.h.set(name);
      } else {
        this.h = hash(name);
      }
      this.ck = this.h.slice();
      this.cs = new CipherState();
    } else {
      this.ck = protocolName.ck.slice();
      this.h = protocolName.h.slice();
      this.cs = protocolName.cs.clone();
    }
  }

  /** MixKey(input_key_material). */
  mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf2(this.ck, ikm);
    this.ck.fill(0);
    this.ck = ck;
    this.cs.initializeKey(k);
    k.fill(0);
  }

  /** MixHash(data). */
  mixHash(data: Uint8Array): void {
    this.h = hash(this.h, data);
  }

  /** Whether a key has been mixed in (so `s` and payloads are encrypted). */
  hasKey(): boolean {
    return this.cs.hasKey();
  }

  /** EncryptAndHash(plaintext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ct = this.cs.encryptWithAd(this.h, plaintext);
    this.mixHash(ct);
    return ct;
  }

  /** DecryptAndHash(ciphertext); throws NoiseError on authentication failure. */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const pt = this.cs.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return pt;
  }

  /** The handshake hash `h` (channel binding value once the handshake is done). */
  handshakeHash(): Uint8Array {
    return this.h.slice();
  }

  /** Split(): the two transport CipherStates (initiator->responder, responder->initiator). */
  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf2(this.ck, new Uint8Array(0));
    const out: [CipherState, CipherState] = [new CipherState(k1), new CipherState(k2)];
    k1.fill(0);
    k2.fill(0);
    return out;
  }

  /** A deep copy. */
  clone(): SymmetricState {
    return new SymmetricState({ ck: this.ck, h: this.h, cs: this.cs });
  }

  /** Zeroize the chaining key and cipher key. */
  destroy(): void {
    this.ck.fill(0);
    this.cs.destroy();
  }
}
