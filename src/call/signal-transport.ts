/**
 * How sealed call signaling moves between nodes. The overlay implements this by routing
 * leaf -> its supernode -> the callee's supernode -> callee (to every device of the
 * callee's identity); tests use an in-memory implementation. Supernodes see only this
 * envelope: who to whom, a call ID and opaque sealed bytes.
 *
 * @module
 */

/** A routing envelope. `sealed` is a {@link sealSignal} blob; `notice` is unauthenticated. */
export interface SignalEnvelope {
  /** Sender identity public key, hex. */
  from: string;
  /** Recipient identity public key, hex. */
  to: string;
  /** Call ID (random hex), for correlation. */
  callId: string;
  /** Sender device, so replies can target one device of a multi-device identity. */
  fromDevice?: string;
  /** Target device; absent = every device of `to`. */
  toDevice?: string;
  sealed?: Uint8Array;
  /** Routing-level notice, e.g. the callee could not open our offer because it was altered. */
  notice?: 'tampered' | 'undeliverable';
}

/** Delivery of envelopes between identities. */
export interface SignalTransport {
  /** Send; rejects with an Error when the recipient cannot be reached at all. */
  send(envelope: SignalEnvelope): Promise<void>;
  /** Receive envelopes addressed to us; returns an unsubscribe function. */
  onEnvelope(handler: (envelope: SignalEnvelope) => void): () => void;
}
