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
 * - **DTLS client start delay.** werift's RTCDtlsTransport waits a fixed 100 ms after ICE
 *   connects before its DTLS client sends the ClientHello: a tenth of a second added to
 *   every call's setup. The client now starts as soon as werift has created it (next
 *   macrotask); werift's own `connect()` 100 ms later gets the same handshake. Only
 *   clients werift builds on an ICE transport start early; a DtlsClient used on its own
 *   still starts when its owner calls `connect()`.
 * - **Early DTLS datagrams.** The other side's ICE may see the path up a few tens of ms
 *   before ours does (werift's controlling agent polls its check list every 20 ms); a
 *   ClientHello arriving before our DTLS server exists was dropped and resent only after
 *   werift's 500 ms retransmission timer. An ICE connection now keeps the first
 *   {@link EARLY_DTLS_MAX} DTLS datagrams that arrive before a DTLS endpoint is created
 *   on it, and the new endpoint reads them first.
 * - **TURN deallocation.** werift's TURN client closed its socket without telling the
 *   server, so every call's relay allocation lived on for its whole lifetime (10 min):
 *   a leaf placing calls ran into the server's per-user allocation quota and relaying
 *   failed. Closing now sends a Refresh with LIFETIME 0 first (RFC 8656 7.2; at most
 *   {@link TURN_DEALLOCATE_WAIT_MS} waited for the answer).
 *
 * @module
 */
import { Connection, DtlsClient, DtlsServer, Message, TurnProtocol, classes, methods } from 'werift';

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

interface EarlyClient {
  options: { transport?: { type?: string } };
  setupExtensions(): void;
  connect(): Promise<void>;
  [STARTED]?: Promise<void>;
}

const STARTED = Symbol.for('tincan.werift.dtlsClientStarted');
const EARLY_MARK = Symbol.for('tincan.werift.earlyDtlsClient');
const early = DtlsClient.prototype as unknown as EarlyClient & { [EARLY_MARK]?: true };
if (!early[EARLY_MARK]) {
  early[EARLY_MARK] = true;
  const connect = early.connect;
  // connect() runs the handshake once; later calls wait for that same handshake.
  early.connect = function (this: EarlyClient) {
    this[STARTED] ??= connect.call(this);
    return this[STARTED];
  };
  const setupExtensions = early.setupExtensions;
  // Called from the constructor. werift subscribes its handlers right after construction,
  // so the handshake starts on the next macrotask, not in the constructor.
  early.setupExtensions = function (this: EarlyClient) {
    setupExtensions.call(this);
    if (this.options?.transport?.type !== 'ice') return;
    setTimeout(() => {
      this.connect().catch(() => {
        // werift's own connect() call reports the failure through the transport's state
      });
    }, 0);
  };
}

/** How many early DTLS datagrams an ICE connection keeps for its DTLS endpoint. */
export const EARLY_DTLS_MAX = 8;

interface EarlyDtls {
  packets: Buffer[];
  stop: () => void;
}
interface IceConnectionLike {
  onData: { subscribe(fn: (buf: Buffer) => void): { unSubscribe: () => void } };
  connect(): Promise<void>;
  [EARLY_DTLS]?: EarlyDtls;
}
interface DtlsEndpointLike {
  options: { transport?: { type?: string; ice?: IceConnectionLike } };
  transport: { socket: { onData: (buf: Buffer) => void } };
  setupExtensions(): void;
}

/** RFC 7983 demultiplexing: a first byte of 20-63 is DTLS. */
const isDtls = (buf: Uint8Array): boolean => buf.length > 0 && buf[0]! >= 20 && buf[0]! <= 63;

const EARLY_DTLS = Symbol.for('tincan.werift.earlyDtls');
const iceProto = Connection.prototype as unknown as IceConnectionLike & { [EARLY_MARK]?: true };
if (!iceProto[EARLY_MARK]) {
  iceProto[EARLY_MARK] = true;
  const iceConnect = iceProto.connect;
  iceProto.connect = function (this: IceConnectionLike) {
    if (!this[EARLY_DTLS]) {
      const early: EarlyDtls = { packets: [], stop: () => {} };
      const sub = this.onData.subscribe((buf) => {
        if (isDtls(buf) && early.packets.length < EARLY_DTLS_MAX) early.packets.push(buf);
      });
      early.stop = () => sub.unSubscribe();
      this[EARLY_DTLS] = early;
    }
    return iceConnect.call(this);
  };
  for (const proto of [DtlsServer.prototype, DtlsClient.prototype] as unknown as DtlsEndpointLike[]) {
    const setup = proto.setupExtensions;
    proto.setupExtensions = function (this: DtlsEndpointLike) {
      setup.call(this);
      const early = this.options?.transport?.ice?.[EARLY_DTLS];
      if (!early) return;
      early.stop();
      const packets = early.packets.splice(0);
      // The constructor installs its datagram handler after this call returns.
      if (packets.length > 0) queueMicrotask(() => packets.forEach((p) => this.transport.socket.onData(p)));
    };
  }
}

/** Longest a closing TURN client waits for the server to confirm its deallocation. */
export const TURN_DEALLOCATE_WAIT_MS = 500;

interface TurnClientLike {
  relayedAddress?: unknown;
  server: unknown;
  requestWithRetry(request: unknown, addr: unknown): Promise<unknown>;
  close(): Promise<void>;
  [DEALLOCATED]?: true;
}

const DEALLOCATED = Symbol.for('tincan.werift.turnDeallocated');
const TURN_MARK = Symbol.for('tincan.werift.turnDeallocate');
const turnProto = TurnProtocol.prototype as unknown as TurnClientLike & { [TURN_MARK]?: true };
if (!turnProto[TURN_MARK]) {
  turnProto[TURN_MARK] = true;
  const close = turnProto.close;
  turnProto.close = async function (this: TurnClientLike) {
    if (this.relayedAddress && !this[DEALLOCATED]) {
      this[DEALLOCATED] = true;
      const request = new Message(methods.REFRESH, classes.REQUEST);
      request.setAttribute('LIFETIME', 0);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.requestWithRetry(request, this.server).catch(() => {}),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, TURN_DEALLOCATE_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
    return close.call(this);
  };
}

/** How many workarounds this module installs (for tests that check it loaded). */
export const WERIFT_FIXES = ['duplicate-hello-verify-request', 'dtls-client-start-delay', 'early-dtls-datagrams', 'turn-deallocate-on-close'] as const;
