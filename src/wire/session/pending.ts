/**
 * Book-keeping records of handshakes in progress, and what a session index points to.
 *
 * @module
 */
import type { Address } from '../../net/net.ts';
import type { Timer } from '../../clock.ts';
import type { HandshakeState } from '../noise/handshake-state.ts';
import type { Session } from '../session.ts';
import type { VerifiedIdentity } from './identity-binding.ts';
import type { Keypair } from './keypair.ts';

/** A handshake we initiated (connect or rekey). */
export interface Outgoing {
  readonly localIndex: number;
  readonly noise: HandshakeState;
  address: Address;
  readonly expected: Uint8Array;
  readonly expectedId: string;
  /** The session being rekeyed, if this is a rekey. */
  session: Session | undefined;
  phase: 'init' | 'finish';
  /** The message retransmitted until answered (INIT, then FINISH). */
  packet: Uint8Array;
  rto: number;
  timer: Timer | undefined;
  readonly deadline: number;
  keypair: Keypair | undefined;
  peer: VerifiedIdentity | undefined;
  /** The responder's Noise static key, once its RESP proved it. */
  peerStatic: Uint8Array | undefined;
  /** True once a COOKIE reply made us resend INIT (at most once per handshake). */
  cookieApplied: boolean;
  waiters: { resolve: (s: Session) => void; reject: (e: unknown) => void }[];
  done: boolean;
}

/** A handshake a peer initiated, waiting for its FINISH. */
export interface Incoming {
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly noise: HandshakeState;
  /** Our RESP, resent verbatim when the same INIT is retransmitted. */
  readonly resp: Uint8Array;
  address: Address;
  readonly createdAt: number;
  /** Key of the INIT (sender index + ephemeral) for duplicate detection. */
  readonly initKey: string;
}

/** What a local session index refers to. */
export type IndexEntry =
  | { kind: 'outgoing'; hs: Outgoing }
  | { kind: 'incoming'; hs: Incoming }
  | { kind: 'keypair'; kp: Keypair; session: Session | undefined; outgoing: Outgoing | undefined };
