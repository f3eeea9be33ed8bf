/**
 * Typed RPC failures. Every rejected request carries an {@link RpcError} whose `code`
 * says what happened, and `remote` says whether the peer reported it (an `err`
 * response) or it was decided locally (timeout, close, overload, abort is the signal's
 * own reason). Handlers throw an RpcError to send their own code to the requester.
 *
 * @example
 * ```ts
 * rpc.handle(Lookup, (p) => {
 *   const r = store.get(p.name);
 *   if (!r) throw new RpcError('not-found', `no record for ${p.name}`);
 *   return r;
 * });
 * try { await rpc.request(Lookup, { name: 'ada' }); }
 * catch (e) { if (e instanceof RpcError && e.code === 'not-found') ...; }
 * ```
 * @module
 */

/** Codes the RPC layer itself uses. Handlers may use any other name-shaped code. */
export type RpcErrorCode =
  /**
   * No response before the request's deadline (after retries). The peer may or may not
   * have executed it (at most once): a caller that must know asks again with a query.
   */
  | 'timeout'
  /** The peer (or this side) closed; pending requests are rejected with the close reason. */
  | 'closed'
  /**
   * Too many requests in flight here, or too many handlers running at the peer (a
   * requester retransmits on its backoff schedule and reports this only when no
   * retransmission is left).
   */
  | 'overloaded'
  /** The peer has no handler for the method. */
  | 'unknown-method'
  /** Parameters failed the method's schema (locally before sending, or at the peer). */
  | 'bad-params'
  /** The result failed the method's schema. */
  | 'bad-result'
  /** The request or response would exceed 64 KiB. */
  | 'too-large'
  /** The handler failed with an unexpected exception (details stay at the peer). */
  | 'internal'
  /** The request id was already executed but its response is no longer cached. */
  | 'duplicate'
  /** The request id is too old for the peer to tell whether it ran. */
  | 'stale';

/** A failed request; see module docs. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  /**
   * @param code an {@link RpcErrorCode} or an application code (lowercase, `a-z0-9.-_`).
   * @param remote true when the peer sent this error.
   */
  constructor(
    readonly code: RpcErrorCode | (string & {}),
    message: string,
    readonly remote = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
