/**
 * The network as an input: one small interface for datagram sockets, implemented by
 * {@link UdpNet} (real `node:dgram` sockets) and {@link SimNet} hosts (simulated links
 * and NATs on a virtual clock). Every component that talks to the network takes a
 * `Net`, so the same code runs on real UDP and in the simulator.
 *
 * @module
 */

/** A transport address. `host` is an IPv4 or IPv6 literal (no brackets). */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** Called for each datagram received on a socket. */
export type MessageHandler = (data: Uint8Array, from: Address) => void;

/** A bound datagram socket. */
export interface DatagramSocket {
  /** The local address the socket is bound to (the actual port if 0 was asked). */
  readonly address: Address;
  /** True once {@link close} has been called. */
  readonly closed: boolean;
  /**
   * Send one datagram. Never throws for network conditions: a datagram that cannot be
   * sent is dropped and counted, as UDP would. Throws only on programming errors
   * (e.g. sending on a closed socket is a silent no-op, not an error).
   */
  send(data: Uint8Array, to: Address): void;
  /**
   * Optional: like {@link send}, but the caller hands `data` over and never touches it
   * again, so the implementation may send it without a copy (hot relay paths). Callers
   * fall back to `send` when a socket lacks it.
   */
  sendOwned?(data: Uint8Array, to: Address): void;
  /** Add a receive handler; returns a function that removes it. */
  onMessage(handler: MessageHandler): () => void;
  /** Close the socket; idempotent. Handlers are not called afterwards. */
  close(): void;
  /** Counters for diagnostics: datagrams and bytes sent/received, and drops. */
  stats(): SocketStats;
}

/** Per-socket counters. */
export interface SocketStats {
  sentPackets: number;
  sentBytes: number;
  receivedPackets: number;
  receivedBytes: number;
  /** Datagrams that could not be sent (socket errors, oversize). */
  sendErrors: number;
}

/** Options for {@link Net.bind}. */
export interface BindOptions {
  /** Local address; default `0.0.0.0` (UdpNet) or the host's address (SimNet). */
  host?: string;
  /** Local port; 0 or omitted picks a free one. */
  port?: number;
  /**
   * Kernel receive buffer to ask for, bytes (a busy relay needs more than the default
   * ~208 KiB so bursts are not dropped while the event loop is busy). Best effort.
   */
  receiveBufferBytes?: number;
  /** Kernel send buffer to ask for, bytes. Best effort. */
  sendBufferBytes?: number;
}

/** A host's network stack: the only way components get sockets. */
export interface Net {
  /** Bind a datagram socket. Rejects with a clear message if the address is in use. */
  bind(options?: BindOptions): Promise<DatagramSocket>;
}

/** Largest UDP payload tincan ever sends (fits typical path MTUs with headroom). */
export const MAX_DATAGRAM = 1200;

/** `host:port`, with IPv6 hosts bracketed: `[::1]:4000`. */
export function formatAddress(a: Address): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * Parse `host:port` or `[v6]:port`. Throws an Error with a user-facing message on bad
 * input (used for command-line flags).
 */
export function parseAddress(text: string): Address {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\[\]]+):(\d{1,5})$/.exec(text);
  if (!m) throw new Error(`invalid address "${text}": expected HOST:PORT or [IPv6]:PORT`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`invalid address "${text}": port must be 0-65535`);
  return { host: m[1]!, port };
}

/** Compare two addresses for equality. */
export function sameAddress(a: Address, b: Address): boolean {
  return a.port === b.port && a.host === b.host;
}
