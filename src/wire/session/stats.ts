/**
 * Counters of a session manager: what it did and every datagram it dropped, by reason.
 *
 * @module
 */

/** Drop reasons. */
export interface SessionDrops {
  /** Not a well-formed session packet (length, type, counter range). */
  malformed: number;
  /** Larger than a datagram may be. */
  oversized: number;
  /** Names a session index we do not have (expired, never existed, or wrong state). */
  unknownIndex: number;
  /** Failed AEAD authentication (handshake or transport). */
  authFailed: number;
  /** Transport counter seen before. */
  duplicate: number;
  /** Transport counter behind the replay window. */
  tooOld: number;
  /** Keys older than rejectAfterMs. */
  expired: number;
  /** Handshake initiation over the per-source rate. */
  rateLimited: number;
  /** Handshake refused for capacity (pending handshakes or sessions full). */
  busy: number;
  /** Identity proof missing or with a bad signature. */
  badIdentity: number;
  /** Identity other than the expected node ID, or refused by the authorize hook. */
  refused: number;
}

/** Snapshot of a manager's counters. */
export interface SessionManagerStats {
  sessions: number;
  pendingHandshakes: number;
  datagramsIn: number;
  datagramsOut: number;
  handshakesStarted: number;
  handshakesCompleted: number;
  handshakesFailed: number;
  handshakeRetransmits: number;
  /** COOKIE replies sent (INITs that arrived under load without a valid cookie). */
  cookiesSent: number;
  messagesSent: number;
  messagesDelivered: number;
  rekeys: number;
  roams: number;
  /** Sessions replaced because the peer came back as a new run (new Noise static key). */
  restarts: number;
  dropped: SessionDrops;
}

/** Fresh zeroed counters. */
export function emptyStats(): SessionManagerStats {
  return {
    sessions: 0,
    pendingHandshakes: 0,
    datagramsIn: 0,
    datagramsOut: 0,
    handshakesStarted: 0,
    handshakesCompleted: 0,
    handshakesFailed: 0,
    handshakeRetransmits: 0,
    cookiesSent: 0,
    messagesSent: 0,
    messagesDelivered: 0,
    rekeys: 0,
    roams: 0,
    restarts: 0,
    dropped: {
      malformed: 0,
      oversized: 0,
      unknownIndex: 0,
      authFailed: 0,
      duplicate: 0,
      tooOld: 0,
      expired: 0,
      rateLimited: 0,
      busy: 0,
      badIdentity: 0,
      refused: 0,
    },
  };
}
