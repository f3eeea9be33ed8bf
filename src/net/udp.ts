/**
 * {@link Net} on real sockets (`node:dgram`), for Node and Deno, IPv4 and IPv6. The
 * socket family follows the bind host: an IPv6 literal gives a `udp6` socket (`::` is
 * dual-stack, any other IPv6 address is IPv6-only), anything else `udp4`.
 *
 * Sending never throws for network conditions: an invalid destination (not an IP
 * literal, wrong family, port outside 1-65535), an oversized datagram or an error
 * reported by the OS is counted in `sendErrors` and the datagram is dropped, as UDP
 * would. Counters count datagrams handed to the OS; errors the OS reports later are counted in
 * `sendErrors`. The payload
 * is copied on send, so the caller may reuse its buffer at once.
 *
 * @example
 * ```ts
 * const net = new UdpNet();
 * const a = await net.bind({ host: '::1', port: 0 });
 * const b = await net.bind({ host: '::1', port: 0 });
 * b.onMessage((data, from) => b.send(data, from)); // echo
 * a.onMessage((data) => console.log('echoed', data));
 * a.send(new TextEncoder().encode('hi'), b.address);
 * ```
 * @module
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Address, BindOptions, DatagramSocket, MessageHandler, Net, SocketStats } from './net.ts';

/** Largest UDP payload over IPv4 (65,535 - 8 UDP - 20 IP). */
export const MAX_UDP_PAYLOAD_V4 = 65_507;
/** Largest UDP payload over IPv6 without jumbograms (65,535 - 8 UDP). */
export const MAX_UDP_PAYLOAD_V6 = 65_527;

/** Real UDP. */
export class UdpNet implements Net {
  /** Sockets of this net still closing, by port: some runtimes (Deno) free the port only later. */
  private readonly closing = new Map<number, Promise<void>>();

  /**
   * Bind a socket; `host` defaults to `0.0.0.0` and must be an IP literal (no DNS).
   * Rejects with `cannot listen on HOST:PORT: <reason>` (address already in use, no
   * such local address, permission denied, invalid port...).
   */
  async bind(options: BindOptions = {}): Promise<DatagramSocket> {
    const host = options.host ?? '0.0.0.0';
    const port = options.port ?? 0;
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const family = isIP(host);
    if (family === 0) throw new Error(`cannot listen on ${where}: host must be an IPv4 or IPv6 address`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`cannot listen on ${where}: port must be an integer 0-65535`);
    // Rebinding a port this net just closed must work, as it does on Node.
    if (port !== 0) await this.closing.get(port);
    const v6 = family === 6;
    const socket = dgram.createSocket({
      type: v6 ? 'udp6' : 'udp4',
      ipv6Only: v6 && host !== '::',
      // Destinations are always IP literals (checked in send): answer the resolver at once
      // instead of paying a dns.lookup and a tick per datagram.
      lookup: literalLookup,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        try {
          socket.close();
        } catch {
          // never bound
        }
        reject(new Error(`cannot listen on ${where}: ${describeBindError(err)}`, { cause: err }));
      };
      socket.once('error', onError);
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off('error', onError);
        setBufferSizes(socket, options);
        resolve();
      });
    });
    return new UdpSocket(socket, v6, v6 && host === '::', (p, done) => {
      this.closing.set(p, done);
      void done.then(() => {
        if (this.closing.get(p) === done) this.closing.delete(p);
      });
    });
  }
}

/** A dgram `lookup` for IP literals only (send() never passes anything else). */
let lookupHost = '';
let lookupFamily = 0;
function literalLookup(hostname: string, _options: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  // node:dgram asks once per send; a relay sends to the same few hosts: skip the regex then.
  let family = lookupFamily;
  if (hostname !== lookupHost) {
    family = isIP(hostname);
    lookupHost = hostname;
    lookupFamily = family;
  }
  if (family === 0) callback(new Error(`not an IP address: ${hostname}`), '', 0);
  else callback(null, hostname, family);
}

/** Apply requested kernel buffer sizes; the kernel may cap them (best effort). */
function setBufferSizes(socket: dgram.Socket, options: BindOptions): void {
  try {
    if (options.receiveBufferBytes) socket.setRecvBufferSize(options.receiveBufferBytes);
  } catch {
    // not supported by this runtime or refused by the kernel: keep the default
  }
  try {
    if (options.sendBufferBytes) socket.setSendBufferSize(options.sendBufferBytes);
  } catch {
    // as above
  }
}

function describeBindError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'address already in use';
    case 'EADDRNOTAVAIL':
      return 'no such local address';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EAFNOSUPPORT':
      return 'address family not supported (is IPv6 disabled?)';
    default:
      return err.message;
  }
}

class UdpSocket implements DatagramSocket {
  readonly address: Address;
  private handlers: MessageHandler[] = [];
  private isClosed = false;
  private readonly maxPayload: number;
  private readonly counters: SocketStats = { sentPackets: 0, sentBytes: 0, receivedPackets: 0, receivedBytes: 0, sendErrors: 0 };

  constructor(
    private readonly socket: dgram.Socket,
    private readonly v6: boolean,
    private readonly dualStack: boolean,
    private readonly onClosing: (port: number, done: Promise<void>) => void,
  ) {
    const a = socket.address();
    this.address = Object.freeze({ host: a.address, port: a.port });
    this.maxPayload = v6 ? MAX_UDP_PAYLOAD_V6 : MAX_UDP_PAYLOAD_V4;
    socket.on('message', (msg, rinfo) => {
      if (this.isClosed) return;
      this.counters.receivedPackets++;
      this.counters.receivedBytes += msg.length;
      const data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      const from = { host: rinfo.address, port: rinfo.port };
      const hs = this.handlers;
      for (let i = 0; i < hs.length; i++) {
        if (this.isClosed) return;
        hs[i]!(data, from);
      }
    });
    // ICMP errors (ECONNREFUSED etc.) surface here on some platforms: count, never crash.
    socket.on('error', () => {
      this.counters.sendErrors++;
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(data: Uint8Array, to: Address): void {
    // Copy: the runtime may send after we return, and callers may reuse their buffer.
    this.transmit(data, to, true);
  }

  sendOwned(data: Uint8Array, to: Address): void {
    this.transmit(data, to, false);
  }

  /** Last destination host validated and its family: a relay sends to few hosts. */
  private lastHost = '';
  private lastFamily = 0;

  private transmit(data: Uint8Array, to: Address, copy: boolean): void {
    if (this.isClosed) return;
    const size = data.byteLength;
    const port = to?.port;
    let host = to?.host;
    let family = 0;
    if (typeof host === 'string') {
      if (host === this.lastHost) family = this.lastFamily;
      else {
        family = isIP(host);
        this.lastHost = host;
        this.lastFamily = family;
      }
    }
    if (
      size > this.maxPayload ||
      !(Number.isInteger(port) && port > 0 && port < 65536) ||
      family === 0 ||
      (family === 6 && !this.v6) ||
      (family === 4 && this.v6 && !this.dualStack)
    ) {
      this.counters.sendErrors++;
      return;
    }
    // A dual-stack socket reaches IPv4 peers through IPv4-mapped addresses.
    if (family === 4 && this.v6) host = `::ffff:${host}`;
    try {
      // No completion callback (one closure and one tick per datagram on a busy relay):
      // errors the OS reports later arrive as 'error' events and are counted there.
      this.socket.send(copy ? new Uint8Array(data) : data, port, host);
      this.counters.sentPackets++;
      this.counters.sentBytes += size;
    } catch {
      this.counters.sendErrors++;
    }
  }

  onMessage(handler: MessageHandler): () => void {
    if (this.isClosed) return () => {};
    // Copy on write: removing a handler while a datagram is being dispatched is safe.
    this.handlers = [...this.handlers, handler];
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.handlers = [];
    const done = new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed by the runtime
      }
    });
    this.onClosing(this.address.port, done);
  }

  stats(): SocketStats {
    return { ...this.counters };
  }
}
