/**
 * Tunables of the session layer and their defaults. Times are milliseconds.
 *
 * @module
 */

/** Session manager limits and timers. */
export interface SessionOptions {
  /** Most established sessions (peers). */
  maxSessions: number;
  /** Most handshakes in progress as responder (and, separately, as initiator). */
  maxPendingHandshakes: number;
  /** With this many half-open handshakes (as responder), INITs must carry a valid cookie. */
  cookieThreshold: number;
  /** Per source IP: handshake initiations allowed at once. */
  handshakeBurst: number;
  /** Per source IP: sustained handshake initiations per second. */
  handshakesPerSecond: number;
  /** Source IPs tracked by the rate limiter. */
  rateLimitSources: number;
  /** First retransmission delay of a handshake message; doubles each time. */
  handshakeRetryMs: number;
  /** Retransmission delay cap. */
  handshakeRetryMaxMs: number;
  /** A handshake (connect or rekey) fails after this long. */
  handshakeTimeoutMs: number;
  /** Start a rekey after sending this many messages on one keypair. */
  rekeyAfterMessages: number;
  /** The handshake's initiator starts a rekey when its keys are this old ... */
  rekeyAfterMs: number;
  /** ... and the responder this much later if the initiator did not. */
  rekeyResponderDelayMs: number;
  /** Keys are never used beyond this age; a session without fresher keys closes. */
  rejectAfterMs: number;
  /** A retired keypair is kept for receiving until it has been quiet this long. */
  keepRetiredMs: number;
  /** Retired keypairs kept per session at most. */
  maxRetiredKeypairs: number;
  /** A session that received nothing authenticated for this long is closed. */
  idleTimeoutMs: number;
  /** After receiving data, send an empty keepalive if we have sent nothing for this long. */
  passiveKeepaliveMs: number;
  /** Housekeeping period (expiry, time-based rekey). */
  tickMs: number;
}

/** Defaults, WireGuard-like where WireGuard has an equivalent. */
export const DEFAULT_SESSION_OPTIONS: Readonly<SessionOptions> = {
  maxSessions: 1024,
  maxPendingHandshakes: 256,
  cookieThreshold: 64,
  handshakeBurst: 20,
  handshakesPerSecond: 5,
  rateLimitSources: 4096,
  handshakeRetryMs: 250,
  handshakeRetryMaxMs: 2000,
  handshakeTimeoutMs: 10_000,
  rekeyAfterMessages: 2 ** 24,
  rekeyAfterMs: 120_000,
  rekeyResponderDelayMs: 10_000,
  rejectAfterMs: 180_000,
  keepRetiredMs: 15_000,
  maxRetiredKeypairs: 2,
  idleTimeoutMs: 180_000,
  passiveKeepaliveMs: 10_000,
  tickMs: 1000,
};
