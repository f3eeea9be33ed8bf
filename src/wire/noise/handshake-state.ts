/**
 * Noise HandshakeState (spec section 5.3) for the patterns in {@link PATTERNS}, with the
 * `25519_ChaChaPoly_SHA256` suite.
 *
 * A message that fails to parse or authenticate throws {@link NoiseError} and leaves the
 * state unchanged (reads work on a copy), so a forged or corrupted datagram cannot spoil
 * a handshake whose genuine message is still on its way.
 *
 * @example
 * ```ts
 * const i = new HandshakeState({ pattern: XX, initiator: true, prologue, s: iStatic, random });
 * const r = new HandshakeState({ pattern: XX, initiator: false, prologue, s: rStatic, random });
 * r.readMessage(i.writeMessage(new Uint8Array()));
 * i.readMessage(r.writeMessage(new Uint8Array()));
 * r.readMessage(i.writeMessage(new Uint8Array()));
 * const [send, recv] = i.split(); // initiator: send with the first, receive with the second
 * ```
 * @module
 */
import type { CipherState } from './cipher-state.ts';
import { DHLEN, MAX_NOISE_MESSAGE, SUITE_NAME, TAGLEN, type DhKeyPair, dh, dhKeyPairFromSecret } from './crypto.ts';
import { NoiseError } from './errors.ts';
import type { HandshakePattern, Token } from './patterns.ts';
import { SymmetricState } from './symmetric-state.ts';

/** Where fresh ephemeral secrets come from (tincan's Random satisfies this). */
export interface ByteSource {
  bytes(n: number): Uint8Array;
}

/** Options for a {@link HandshakeState}. */
export interface HandshakeOptions {
  pattern: HandshakePattern;
  initiator: boolean;
  prologue?: Uint8Array;
  /** Local static key pair (required when the pattern sends or pre-shares `s`). */
  s?: DhKeyPair;
  /** Remote static public key known in advance (IK initiator). */
  rs?: Uint8Array;
  /** Fixed ephemeral secret: only for test vectors. */
  e?: DhKeyPair;
  /** Source of ephemeral secrets when `e` is not given. */
  random?: ByteSource;
}

/** The state of one handshake in progress. */
export class HandshakeState {
  readonly initiator: boolean;
  readonly protocolName: string;
  private ss: SymmetricState;
  private s: DhKeyPair | undefined;
  private e: DhKeyPair | undefined;
  private rs: Uint8Array | undefined;
  private re: Uint8Array | undefined;
  private readonly pattern: HandshakePattern;
  private readonly random: ByteSource | undefined;
  private index = 0;

  constructor(options: HandshakeOptions | HandshakeState) {
    if (options instanceof HandshakeState) {
      const o = options;
      this.initiator = o.initiator;
      this.protocolName = o.protocolName;
      this.ss = o.ss.clone();
      this.s = o.s;
      this.e = o.e;
      this.rs = o.rs;
      this.re = o.re;
      this.pattern = o.pattern;
      this.random = o.random;
      this.index = o.index;
      return;
    }
    this.initiator = options.initiator;
    this.pattern = options.pattern;
    this.protocolName = `Noise_${options.pattern.name}_${SUITE_NAME}`;
    this.ss = new SymmetricState(this.protocolName);
    this.s = options.s;
    this.e = options.e;
    this.rs = options.rs?.slice();
    this.random = options.random;
    this.ss.mixHash(options.prologue ?? new Uint8Array(0));
    const mine = this.initiator ? this.pattern.preInitiator : this.pattern.preResponder;
    const theirs = this.initiator ? this.pattern.preResponder : this.pattern.preInitiator;
    for (const t of mine) this.mixPre(t, true);
    for (const t of theirs) this.mixPre(t, false);
  }

  private mixPre(token: Token, local: boolean): void {
    if (token !== 's') throw new NoiseError(`unsupported pre-message token ${token}`);
    const key = local ? this.s?.publicKey : this.rs;
    if (!key) throw new NoiseError(local ? 'pattern needs a local static key' : 'pattern needs the remote static key');
    this.ss.mixHash(key);
  }

  /** True when every message of the pattern has been written or read. */
  get complete(): boolean {
    return this.index >= this.pattern.messages.length;
  }

  /** True when the next message is ours to write. */
  get myTurn(): boolean {
    return !this.complete && (this.index % 2 === 0) === this.initiator;
  }

  /** The remote static public key once received (or known in advance). */
  get remoteStatic(): Uint8Array | undefined {
    return this.rs?.slice();
  }

  /** The handshake hash (unique per session; a channel-binding value). */
  handshakeHash(): Uint8Array {
    return this.ss.handshakeHash();
  }

  /** A deep copy, for speculative reads. */
  clone(): HandshakeState {
    return new HandshakeState(this);
  }

  /** WriteMessage(payload): the next handshake message. */
  writeMessage(payload: Uint8Array): Uint8Array {
    if (!this.myTurn) throw new NoiseError('not our turn to write');
    const parts: Uint8Array[] = [];
    for (const t of this.pattern.messages[this.index]!) {
      switch (t) {
        case 'e': {
          if (!this.e) {
            if (!this.random) throw new NoiseError('no randomness for the ephemeral key');
            this.e = dhKeyPairFromSecret(this.random.bytes(DHLEN));
          }
          parts.push(this.e.publicKey);
          this.ss.mixHash(this.e.publicKey);
          break;
        }
        case 's': {
          if (!this.s) throw new NoiseError('pattern needs a local static key');
          parts.push(this.ss.encryptAndHash(this.s.publicKey));
          break;
        }
        default:
          this.mixDh(t);
      }
    }
    parts.push(this.ss.encryptAndHash(payload));
    this.index++;
    const len = parts.reduce((a, p) => a + p.length, 0);
    if (len > MAX_NOISE_MESSAGE) throw new NoiseError('handshake message too long');
    const out = new Uint8Array(len);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }

  /** ReadMessage(message): the payload; throws NoiseError and leaves the state unchanged on failure. */
  readMessage(message: Uint8Array): Uint8Array {
    if (this.complete || this.myTurn) throw new NoiseError('not expecting a handshake message');
    if (message.length > MAX_NOISE_MESSAGE) throw new NoiseError('handshake message too long');
    const next = this.clone();
    let off = 0;
    const take = (n: number): Uint8Array => {
      if (off + n > message.length) throw new NoiseError('handshake message truncated');
      const out = message.subarray(off, off + n);
      off += n;
      return out;
    };
    try {
      for (const t of this.pattern.messages[this.index]!) {
        switch (t) {
          case 'e':
            next.re = take(DHLEN).slice();
            next.ss.mixHash(next.re);
            break;
          case 's':
            next.rs = next.ss.decryptAndHash(take(next.ss.hasKey() ? DHLEN + TAGLEN : DHLEN));
            break;
          default:
            next.mixDh(t);
        }
      }
      const rest = message.subarray(off);
      if (next.ss.hasKey() && rest.length < TAGLEN) throw new NoiseError('handshake message truncated');
      const payload = next.ss.decryptAndHash(rest);
      next.index++;
      this.ss = next.ss;
      this.re = next.re;
      this.rs = next.rs;
      this.index = next.index;
      return payload;
    } catch (err) {
      next.ss.destroy();
      if (err instanceof NoiseError) throw err;
      throw new NoiseError(`bad handshake message: ${(err as Error).message}`);
    }
  }

  private mixDh(t: Token): void {
    const need = (k: DhKeyPair | undefined, what: string): DhKeyPair => {
      if (!k) throw new NoiseError(`missing ${what}`);
      return k;
    };
    const needPub = (k: Uint8Array | undefined, what: string): Uint8Array => {
      if (!k) throw new NoiseError(`missing ${what}`);
      return k;
    };
    let shared: Uint8Array;
    switch (t) {
      case 'ee':
        shared = dh(need(this.e, 'local ephemeral'), needPub(this.re, 'remote ephemeral'));
        break;
      case 'es':
        shared = this.initiator
          ? dh(need(this.e, 'local ephemeral'), needPub(this.rs, 'remote static'))
          : dh(need(this.s, 'local static'), needPub(this.re, 'remote ephemeral'));
        break;
      case 'se':
        shared = this.initiator
          ? dh(need(this.s, 'local static'), needPub(this.re, 'remote ephemeral'))
          : dh(need(this.e, 'local ephemeral'), needPub(this.rs, 'remote static'));
        break;
      case 'ss':
        shared = dh(need(this.s, 'local static'), needPub(this.rs, 'remote static'));
        break;
      default:
        throw new NoiseError(`unexpected token ${t}`);
    }
    this.ss.mixKey(shared);
    shared.fill(0);
  }

  /**
   * Split() once the handshake is complete: `[send, receive]` from this side's point of
   * view. Zeroizes the handshake secrets (ephemeral key and chaining key).
   */
  split(): [send: CipherState, receive: CipherState] {
    if (!this.complete) throw new NoiseError('handshake not complete');
    const [c1, c2] = this.ss.split();
    this.destroy();
    return this.initiator ? [c1, c2] : [c2, c1];
  }

  /** Zeroize the ephemeral secret and the symmetric state. The static key is the owner's. */
  destroy(): void {
    this.e?.secretKey.fill(0);
    this.ss.destroy();
  }
}
