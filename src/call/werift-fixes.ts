/**
 * Fixes applied to werift 0.24 at load time, for bugs seen in tincan's calls. Imported
 * for its effect by media-session.ts; each fix is idempotent and limited to the case
 * it names.
 *
 * - **Duplicate HelloVerifyRequest.** When the DTLS server is slow to answer (a busy
 *   process, > 500 ms), werift's client retransmits its first ClientHello; the server
 *   answers both with a HelloVerifyRequest carrying the same cookie, and werift's client
 *   throws on the second one ("Flight3.exec: Error"), failing the whole call. RFC 6347
 *   4.2.1 has the client answer a repeated HelloVerifyRequest; its ClientHello with that
 *   cookie is already on its way (and retransmitted), so the repeat is dropped here.
 *
 * @module
 */
import { DtlsClient } from 'werift';

/** DTLS handshake type of HelloVerifyRequest. */
const HELLO_VERIFY_REQUEST = 3;
/** The client's flight that answers a HelloVerifyRequest. */
const FLIGHT_3 = 3;

interface HandshakeLike {
  msg_type: number;
}
interface ClientInternals {
  dtls: { flight: number };
  onHandleHandshakes: (assembled: HandshakeLike[]) => Promise<void>;
}

const MARK = Symbol.for('tincan.werift.duplicateHelloVerify');
const proto = DtlsClient.prototype as unknown as { connect(): Promise<void>; [MARK]?: true };
if (!proto[MARK]) {
  proto[MARK] = true;
  const connect = proto.connect;
  proto.connect = function (this: ClientInternals) {
    const handle = this.onHandleHandshakes;
    this.onHandleHandshakes = (assembled) => {
      const fresh = this.dtls.flight >= FLIGHT_3 ? assembled.filter((h) => h.msg_type !== HELLO_VERIFY_REQUEST) : assembled;
      return fresh.length > 0 ? handle(fresh) : Promise.resolve();
    };
    return connect.call(this);
  };
}

/** How many workarounds this module installs (for tests that check it loaded). */
export const WERIFT_FIXES = ['duplicate-hello-verify-request'] as const;
