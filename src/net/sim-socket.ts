/**
 * A datagram socket on a simulated host. Created by {@link SimHost.bind}; datagrams go
 * through the owning {@link SimNet} and arrive from its event loop on the virtual clock.
 *
 * @module
 */
import type { Address, DatagramSocket, MessageHandler, SocketStats } from './net.ts';
import type { SimHost } from './sim-host.ts';
import type { RouteMemo } from './sim.ts';

/** A bound socket on a {@link SimHost}; see {@link DatagramSocket} for the contract. */
export class SimSocket implements DatagramSocket {
  /** The host's own (private, if behind a NAT) address and the bound port. */
  readonly address: Address;
  /** @internal counters, incremented by the simulator (fields of the socket: one object less to touch per datagram). */
  sentPackets = 0;
  sentBytes = 0;
  receivedPackets = 0;
  receivedBytes = 0;
  sendErrors = 0;
  private handlers: MessageHandler[] = [];
  private isClosed = false;

  /** @internal use {@link SimHost.bind}. */
  constructor(
    /** The host this socket lives on. */
    readonly host: SimHost,
    /** The bound port. */
    readonly port: number,
  ) {
    this.address = Object.freeze({ host: host.ip, port });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(data: Uint8Array, to: Address): void {
    if (this.isClosed) return;
    this.host.sim.transmit(this, data, to);
  }

  /**
   * Send a datagram that arrives at once: the receiver's handler runs before this call
   * returns. It takes the same route as {@link send} and has the same effects on NATs
   * (mappings made and refreshed, filters applied), loss, bandwidth queues and counters,
   * but no propagation delay (a datagram to the sender's own LAN or address is sent as by
   * `send`). For simulations of many nodes, for datagrams whose arrival time does not
   * matter to what is measured (keepalives): it costs no event on the clock.
   */
  sendNow(data: Uint8Array, to: Address): void {
    if (this.isClosed) return;
    this.host.sim.transmit(this, data, to, true);
  }

  /**
   * {@link sendNow} for a sender that runs the receiver's handler itself: the datagram
   * takes the same route with the same effects, but stops at the receiving socket, which
   * is returned (with the source address it sees in `host.sim.carriedFrom`); undefined if
   * it was dropped or is not instant (see {@link SimNet.carry}). The caller then calls
   * that socket's `deliver` (which counts it and runs its handlers) or counts it with
   * `countCarried` and handles it. The payload is not copied. A `memo` kept by the caller
   * per destination spares the route lookup (see {@link RouteMemo}).
   */
  carryNow(data: Uint8Array, to: Address, memo?: RouteMemo): SimSocket | undefined {
    if (this.isClosed) return undefined;
    return this.host.sim.carry(this, data, to, memo);
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
    this.host.unbind(this);
  }

  stats(): SocketStats {
    return { sentPackets: this.sentPackets, sentBytes: this.sentBytes, receivedPackets: this.receivedPackets, receivedBytes: this.receivedBytes, sendErrors: this.sendErrors };
  }

  /** @internal Count a datagram {@link carryNow} brought here that the carrier handles itself. */
  countCarried(bytes: number): void {
    this.receivedPackets++;
    this.receivedBytes += bytes;
  }

  /** @internal Hand a datagram to the handlers (called from the simulator's timer). */
  deliver(data: Uint8Array, from: Address): void {
    this.receivedPackets++;
    this.receivedBytes += data.byteLength;
    const hs = this.handlers;
    for (let i = 0; i < hs.length; i++) {
      if (this.isClosed) return;
      hs[i]!(data, from);
    }
  }
}
