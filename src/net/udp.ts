/**
 * {@link Net} on real sockets (`node:dgram`), for Node and Deno. IPv4 and IPv6: the
 * socket family follows the bind host (`::`/IPv6 literal -> udp6).
 *
 * @module
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Address, BindOptions, DatagramSocket, MessageHandler, Net, SocketStats } from './net.ts';

/** Real UDP. */
export class UdpNet implements Net {
  async bind(options: BindOptions = {}): Promise<DatagramSocket> {
    const host = options.host ?? '0.0.0.0';
    const socket = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: isIPv6(host) && host !== '::' });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        socket.close();
        const where = `${host.includes(':') ? `[${host}]` : host}:${options.port ?? 0}`;
        if (err.code === 'EADDRINUSE') reject(new Error(`cannot listen on ${where}: address already in use`));
        else if (err.code === 'EADDRNOTAVAIL') reject(new Error(`cannot listen on ${where}: no such local address`));
        else if (err.code === 'EACCES') reject(new Error(`cannot listen on ${where}: permission denied`));
        else reject(new Error(`cannot listen on ${where}: ${err.message}`));
      };
      socket.once('error', onError);
      socket.bind({ address: host, port: options.port ?? 0, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    return new UdpSocket(socket);
  }
}

class UdpSocket implements DatagramSocket {
  readonly address: Address;
  private handlers: MessageHandler[] = [];
  private isClosed = false;
  private counters: SocketStats = { sentPackets: 0, sentBytes: 0, receivedPackets: 0, receivedBytes: 0, sendErrors: 0 };

  constructor(private readonly socket: dgram.Socket) {
    const a = socket.address();
    this.address = { host: a.address, port: a.port };
    socket.on('message', (msg, rinfo) => {
      if (this.isClosed) return;
      this.counters.receivedPackets++;
      this.counters.receivedBytes += msg.length;
      const data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      const from = { host: rinfo.address, port: rinfo.port };
      for (const h of this.handlers) h(data, from);
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
    if (this.isClosed) return;
    this.counters.sentPackets++;
    this.counters.sentBytes += data.byteLength;
    try {
      this.socket.send(data, to.port, to.host, (err) => {
        if (err) this.counters.sendErrors++;
      });
    } catch {
      this.counters.sendErrors++;
    }
  }

  onMessage(handler: MessageHandler): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.handlers = [];
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  stats(): SocketStats {
    return { ...this.counters };
  }
}
