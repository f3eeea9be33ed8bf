/**
 * The Noise handshake patterns tincan implements (spec section 7): XX (mutual
 * authentication, no prior knowledge: what sessions use) and IK (initiator knows the
 * responder's static key: one round trip; kept for later use and tested on vectors).
 *
 * @module
 */

/** A token of a message pattern. */
export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss';

/** A handshake pattern: pre-messages and the message sequence (even index = initiator). */
export interface HandshakePattern {
  readonly name: string;
  /** Initiator's pre-message tokens (`-> s`). */
  readonly preInitiator: readonly Token[];
  /** Responder's pre-message tokens (`<- s`). */
  readonly preResponder: readonly Token[];
  readonly messages: readonly (readonly Token[])[];
}

/** `XX: -> e; <- e, ee, s, es; -> s, se`. */
export const XX: HandshakePattern = {
  name: 'XX',
  preInitiator: [],
  preResponder: [],
  messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']],
};

/** `IK: <- s ...; -> e, es, s, ss; <- e, ee, se`. */
export const IK: HandshakePattern = {
  name: 'IK',
  preInitiator: [],
  preResponder: ['s'],
  messages: [['e', 'es', 's', 'ss'], ['e', 'ee', 'se']],
};

/** Patterns by name. */
export const PATTERNS: Readonly<Record<string, HandshakePattern>> = { XX, IK };
