/**
 * Datagram demultiplexing. One UDP port carries tincan's overlay sessions, STUN, TURN
 * and (through werift) DTLS/RTP, so every datagram is classified by its first byte,
 * following RFC 7983 as updated by RFC 9443:
 *
 * | first byte | class           |
 * |-----------:|-----------------|
 * |      0-3   | `stun`          |
 * |     16-19  | `zrtp`          |
 * |     20-63  | `dtls`          |
 * |    64-127  | `turn-channel`  |
 * |    128-191 | `rtp` (RTP/RTCP)|
 * |    224-239 | `overlay` (tincan sessions, 0xE0-0xEF) |
 * | else/empty | `unknown` (dropped and counted) |
 *
 * RFC 9443 assigns 80-127 and 192-255 to QUIC; tincan runs no QUIC on this port. It
 * routes 80-127 to TURN as well, because TURN clients (libwebrtc, coturn's) pick channel
 * numbers up to 0x7FFF, whose ChannelData starts with 0x50-0x7F; and it claims 0xE0-0xEF
 * inside the QUIC long-header range for its overlay. Everything else unassigned is
 * `unknown`.
 *
 * @example
 * ```ts
 * const socket = await env.net.bind({ port: 4000 });
 * const demux = new Demux(socket);
 * demux.on('overlay', (data, from) => sessions.receive(data, from));
 * demux.on('stun', (data, from) => stunServer.receive(data, from));
 * // ... later
 * demux.stats(); // { received: {...}, dropped: { unknown: 3, noHandler: 0, ... } }
 * demux.close(); // detaches from the socket (the socket's owner closes it)
 * ```
 * @module
 */
import type { Address, DatagramSocket } from '../net/net.ts';

/** The classes a datagram can belong to. */
export type DatagramClass = 'stun' | 'zrtp' | 'dtls' | 'turn-channel' | 'rtp' | 'overlay' | 'unknown';

/** Every class, in first-byte order (`unknown` last). */
export const DATAGRAM_CLASSES: readonly DatagramClass[] = ['stun', 'zrtp', 'dtls', 'turn-channel', 'rtp', 'overlay', 'unknown'];

/** First byte of tincan overlay (session) packets: 0xE0..0xEF. */
export const OVERLAY_FIRST_BYTE_MIN = 0xe0;
/** Last first byte of the overlay range. */
export const OVERLAY_FIRST_BYTE_MAX = 0xef;

/**
 * Classify a datagram by its first byte (see the table in the module docs). An empty
 * datagram is `unknown`.
 *
 * @example
 * ```ts
 * classifyDatagram(new Uint8Array([0x00, 0x01])); // 'stun' (Binding request)
 * classifyDatagram(new Uint8Array([0xe0]));       // 'overlay'
 * ```
 */
export function classifyDatagram(data: Uint8Array): DatagramClass {
  if (data.length === 0) return 'unknown';
  return classifyFirstByte(data[0]!);
}

/** Classify a first byte (0-255); see {@link classifyDatagram}. */
export function classifyFirstByte(b: number): DatagramClass {
  if (b <= 3) return 'stun';
  if (b < 16) return 'unknown';
  if (b <= 19) return 'zrtp';
  if (b <= 63) return 'dtls';
  if (b < 128) return 'turn-channel';
  if (b <= 191) return 'rtp';
  if (b >= OVERLAY_FIRST_BYTE_MIN && b <= OVERLAY_FIRST_BYTE_MAX) return 'overlay';
  return 'unknown';
}

/** Receives the datagrams of one class. */
export type DatagramHandler = (data: Uint8Array, from: Address) => void;

/** Counters kept by a {@link Demux}. */
export interface DemuxStats {
  /** Datagrams handed to a handler, per class. */
  received: Record<Exclude<DatagramClass, 'unknown'>, number>;
  dropped: {
    /** First byte outside every known range (or an empty datagram). */
    unknown: number;
    /** A known class with no handler registered. */
    noHandler: number;
    /** The handler threw; the datagram is considered dropped. */
    handlerError: number;
  };
}

/**
 * Routes the datagrams of one socket to one handler per class. Never throws on input:
 * unknown classes, missing handlers and throwing handlers are dropped and counted.
 */
export class Demux {
  private readonly handlers = new Map<DatagramClass, DatagramHandler>();
  private readonly detach: () => void;
  private isClosed = false;
  private readonly counters: DemuxStats = {
    received: { stun: 0, zrtp: 0, dtls: 0, 'turn-channel': 0, rtp: 0, overlay: 0 },
    dropped: { unknown: 0, noHandler: 0, handlerError: 0 },
  };

  /**
   * @param socket the socket to read; the demux takes over its receive path but does not
   *   own it ({@link close} detaches, the caller still closes the socket).
   * @param onHandlerError optional hook for a handler that threw (e.g. to log it).
   */
  constructor(
    socket: Pick<DatagramSocket, 'onMessage'>,
    private readonly onHandlerError?: (err: unknown, cls: DatagramClass) => void,
  ) {
    this.detach = socket.onMessage((data, from) => this.dispatch(data, from));
  }

  /**
   * Register the handler for one class; returns a function that removes it. Throws if
   * the class already has a handler or is `unknown` (unknown datagrams are always dropped).
   */
  on(cls: Exclude<DatagramClass, 'unknown'>, handler: DatagramHandler): () => void {
    if ((cls as DatagramClass) === 'unknown') throw new Error('unknown datagrams are always dropped; no handler can be registered');
    if (this.handlers.has(cls)) throw new Error(`a handler for ${cls} datagrams is already registered`);
    this.handlers.set(cls, handler);
    return () => {
      if (this.handlers.get(cls) === handler) this.handlers.delete(cls);
    };
  }

  /** Route one datagram (called by the socket; public for tests and for wrapping sockets). */
  dispatch(data: Uint8Array, from: Address): void {
    if (this.isClosed) return;
    const cls = classifyDatagram(data);
    if (cls === 'unknown') {
      this.counters.dropped.unknown++;
      return;
    }
    const handler = this.handlers.get(cls);
    if (!handler) {
      this.counters.dropped.noHandler++;
      return;
    }
    try {
      handler(data, from);
      this.counters.received[cls]++;
    } catch (err) {
      this.counters.dropped.handlerError++;
      this.onHandlerError?.(err, cls);
    }
  }

  /** A copy of the counters. */
  stats(): DemuxStats {
    return { received: { ...this.counters.received }, dropped: { ...this.counters.dropped } };
  }

  /** Detach from the socket and forget the handlers; idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.detach();
    this.handlers.clear();
  }
}
