/**
 * Errors a session user can meet. Received garbage never throws: it is dropped and
 * counted in the manager's stats.
 *
 * @module
 */

/** The peer proved an identity other than the node ID the caller asked for. */
export class IdentityMismatchError extends Error {
  override readonly name = 'IdentityMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
    address: string,
  ) {
    super(`peer at ${address} is node ${actual}, not the expected node ${expected}: refused`);
  }
}

/** The handshake did not complete in time (peer unreachable, or every attempt lost). */
export class HandshakeTimeoutError extends Error {
  override readonly name = 'HandshakeTimeoutError';
}

/** A handshake was refused (bad identity proof, capacity, manager closed). */
export class HandshakeRefusedError extends Error {
  override readonly name = 'HandshakeRefusedError';
}

/** Sending on a session that is closed (by either side's close, idle expiry or failed rekey). */
export class SessionClosedError extends Error {
  override readonly name = 'SessionClosedError';
}
