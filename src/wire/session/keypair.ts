/**
 * Transport keys of one completed handshake (WireGuard calls this a keypair): the two
 * Noise CipherStates, the local and remote session indices, counters and the replay
 * window. A session holds a few of these while keys rotate.
 *
 * @module
 */
import type { CipherState } from '../noise/cipher-state.ts';
import { TAGLEN } from '../noise/crypto.ts';
import { DATA_HEADER_LEN, type DataPacket, writeDataHeader } from './packets.ts';
import { ReplayWindow } from './replay-window.ts';

/** Keys and counters of one handshake's outcome. */
export class Keypair {
  /** Next counter to send. */
  sendCounter = 0;
  /** Packets authenticated on this keypair. */
  received = 0;
  /** Last time (ms) a packet authenticated on this keypair. */
  lastReceived: number;
  /** When the keypair stopped being the one we send with (retired), or undefined. */
  retiredAt: number | undefined;
  /** Initiator side: true once the peer proved it has the keys (a packet arrived). */
  confirmed: boolean;
  /** Responder side: the FINISH that produced this keypair, to recognise its retransmissions. */
  finishPacket: Uint8Array | undefined;
  readonly replay = new ReplayWindow();
  private destroyed = false;

  constructor(
    readonly localIndex: number,
    readonly remoteIndex: number,
    private readonly sendKey: CipherState,
    private readonly recvKey: CipherState,
    /** True when we initiated the handshake that produced these keys. */
    readonly initiator: boolean,
    /** Creation time (ms). */
    readonly createdAt: number,
  ) {
    this.confirmed = !initiator;
    this.lastReceived = createdAt;
  }

  /** Encrypt `payload` into a complete DATA packet and advance the counter. */
  seal(payload: Uint8Array): Uint8Array {
    const counter = this.sendCounter++;
    const out = new Uint8Array(DATA_HEADER_LEN + payload.length + TAGLEN);
    writeDataHeader(out, this.remoteIndex, counter);
    out.set(this.sendKey.encryptWithNonce(counter, out.subarray(0, DATA_HEADER_LEN), payload), DATA_HEADER_LEN);
    return out;
  }

  /** Authenticate and decrypt a DATA packet; undefined if it does not authenticate. Does not touch the replay window. */
  open(packet: DataPacket): Uint8Array | undefined {
    if (this.destroyed) return undefined;
    return this.recvKey.decryptWithNonce(packet.counter, packet.header, packet.ciphertext);
  }

  /** True once {@link destroy} ran. */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Zeroize both keys. */
  destroy(): void {
    this.destroyed = true;
    this.sendKey.destroy();
    this.recvKey.destroy();
    this.finishPacket = undefined;
  }
}
