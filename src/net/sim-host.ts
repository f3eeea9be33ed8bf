/**
 * A host on the simulated internet: its {@link Net} (sockets), its access link (latency,
 * jitter, loss, up/down bandwidth with bounded queues) and its traffic counters. Create
 * with {@link SimNet.addHost}.
 *
 * @module
 */
import type { BindOptions, Net } from './net.ts';
import type { NatBox } from './nat.ts';
import type { SimNet } from './sim.ts';
import type { LinkProfile } from './sim-link.ts';
import { checkKbps, checkLinkProfile } from './sim-link.ts';
import { SimSocket } from './sim-socket.ts';
import { type DropCounts, type HostStats, newDropCounts } from './sim-stats.ts';

/** Options for {@link SimNet.addHost}; all link figures are for the host's access link. */
export interface HostOptions {
  /** Put the host behind this NAT (its `ip` is then a private address, unique within the NAT). */
  nat?: NatBox;
  /** Upstream bandwidth in kbit/s (IP+UDP headers included); default unlimited. */
  uplinkKbps?: number;
  /** Downstream bandwidth in kbit/s; default unlimited. */
  downlinkKbps?: number;
  /** Size of each direction's serialization queue in bytes; default 65,536. Excess is dropped. */
  queueBytes?: number;
  /** One-way latency of the access link in ms; default 0. */
  latencyMs?: number;
  /** Mean extra (exponential) delay on the access link in ms; default 0. */
  jitterMs?: number;
  /** Loss probability of the access link, each direction; default 0. */
  loss?: number;
}

/** Changeable link settings of a host (see {@link SimHost.configure}). */
export type HostLinkOptions = Omit<HostOptions, 'nat'>;

/** Bytes of IPv4 + UDP headers counted against bandwidth for every datagram. */
export const HEADER_BYTES = 28;

const EPHEMERAL_FIRST = 49152;
const EPHEMERAL_SPAN = 65536 - EPHEMERAL_FIRST;

/** A simulated host; implements {@link Net} so components bind sockets on it. */
export class SimHost implements Net, LinkProfile {
  /** The host's own address (private when behind a NAT). */
  readonly ip: string;
  /** The NAT the host sits behind, if any. */
  readonly nat: NatBox | undefined;
  /** @internal the simulator that owns the host. */
  readonly sim: SimNet;
  /** @internal host id, unique in the simulator. */
  readonly hid: number;
  /** @internal endpoint id (same as `hid`). */
  readonly eid: number;
  /** Access link figures (see {@link HostOptions}); change them with {@link configure}. */
  latencyMs = 0;
  jitterMs = 0;
  loss = 0;
  /** @internal bytes per ms of the uplink (Infinity: unlimited). */
  upBytesPerMs = Infinity;
  /** @internal bytes per ms of the downlink (Infinity: unlimited). */
  downBytesPerMs = Infinity;
  /** @internal queue bound per direction, bytes. */
  queueBytes = 65_536;
  /** @internal virtual time the uplink / downlink finishes its current backlog. */
  upFreeAt = 0;
  downFreeAt = 0;
  /** @internal bound sockets by port. */
  readonly sockets = new Map<number, SimSocket>();
  /** @internal the first socket bound, while open (most hosts have one: no table lookup per datagram). */
  firstSocket: SimSocket | undefined;
  /** @internal counters (see {@link stats}). */
  sentPackets = 0;
  sentBytes = 0;
  receivedPackets = 0;
  receivedBytes = 0;
  sendErrors = 0;
  readonly drops: DropCounts = newDropCounts();
  private removed = false;
  private nextEphemeral: number;

  /** @internal use {@link SimNet.addHost}. */
  constructor(sim: SimNet, ip: string, hid: number, options: HostOptions) {
    this.sim = sim;
    this.ip = ip;
    this.hid = hid;
    this.eid = hid;
    this.nat = options.nat;
    // Spread ephemeral ports deterministically so hosts do not all start at the same port.
    this.nextEphemeral = EPHEMERAL_FIRST + ((hid * 7919) % EPHEMERAL_SPAN);
    this.configure(options);
  }

  /** The address peers on the internet see this host's traffic come from (the NAT's, if behind one). */
  get publicIp(): string {
    return this.nat ? this.nat.ip : this.ip;
  }

  /** True once the host was removed with {@link close}. */
  get closed(): boolean {
    return this.removed;
  }

  /** Change the host's access link settings (takes effect for new datagrams). */
  configure(options: HostLinkOptions): void {
    checkLinkProfile(options, `host ${this.ip}`);
    checkKbps(options.uplinkKbps, `host ${this.ip}: uplinkKbps`);
    checkKbps(options.downlinkKbps, `host ${this.ip}: downlinkKbps`);
    if (options.queueBytes !== undefined && !(options.queueBytes > 0)) {
      throw new RangeError(`host ${this.ip}: queueBytes must be > 0, got ${options.queueBytes}`);
    }
    if (options.latencyMs !== undefined) this.latencyMs = options.latencyMs;
    if (options.jitterMs !== undefined) this.jitterMs = options.jitterMs;
    if (options.loss !== undefined) this.loss = options.loss;
    if (options.uplinkKbps !== undefined) this.upBytesPerMs = options.uplinkKbps / 8;
    if (options.downlinkKbps !== undefined) this.downBytesPerMs = options.downlinkKbps / 8;
    if (options.queueBytes !== undefined) this.queueBytes = options.queueBytes;
  }

  /**
   * Bind a socket. `host` may be omitted, the host's IP, `0.0.0.0` or `::`; port 0 or
   * omitted picks a free ephemeral port (49152-65535). Rejects like UdpNet:
   * `cannot listen on IP:PORT: address already in use`.
   */
  async bind(options: BindOptions = {}): Promise<SimSocket> {
    return this.bindSync(options);
  }

  /** Synchronous {@link bind}, for simulators setting up thousands of hosts. Throws instead of rejecting. */
  bindSync(options: BindOptions = {}): SimSocket {
    const want = options.host;
    const port = options.port ?? 0;
    const where = `${formatHost(want ?? this.ip)}:${port}`;
    if (this.removed) throw new Error(`cannot listen on ${where}: host ${this.ip} has been removed from the network`);
    if (want !== undefined && want !== this.ip && want !== '0.0.0.0' && want !== '::') {
      throw new Error(`cannot listen on ${where}: no such local address (this host is ${this.ip})`);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new Error(`cannot listen on ${where}: port must be an integer 0-65535`);
    }
    let p = port;
    if (p === 0) {
      if (this.sockets.size >= EPHEMERAL_SPAN) throw new Error(`cannot listen on ${where}: no free port`);
      p = this.nextEphemeral;
      while (this.sockets.has(p)) p = p === 65535 ? EPHEMERAL_FIRST : p + 1;
      this.nextEphemeral = p === 65535 ? EPHEMERAL_FIRST : p + 1;
    } else if (this.sockets.has(p)) {
      throw new Error(`cannot listen on ${where}: address already in use`);
    }
    const socket = new SimSocket(this, p);
    this.sockets.set(p, socket);
    this.firstSocket ??= socket;
    return socket;
  }

  /** Counters: payload bytes and datagrams in and out, send errors and drops by reason. */
  stats(): HostStats {
    return {
      sentPackets: this.sentPackets,
      sentBytes: this.sentBytes,
      receivedPackets: this.receivedPackets,
      receivedBytes: this.receivedBytes,
      sendErrors: this.sendErrors,
      drops: { ...this.drops },
    };
  }

  /**
   * Take the host off the network (a crash or departure): closes its sockets; datagrams
   * still travelling to it are dropped (`hostDown`). Idempotent. The IP may be reused by
   * a new {@link SimNet.addHost}.
   */
  close(): void {
    if (this.removed) return;
    this.removed = true;
    for (const s of [...this.sockets.values()]) s.close();
    this.sim.detach(this);
  }

  /** @internal called by {@link SimSocket.close}. */
  unbind(socket: SimSocket): void {
    if (this.sockets.get(socket.port) === socket) this.sockets.delete(socket.port);
    if (this.firstSocket === socket) this.firstSocket = undefined;
  }
}

function formatHost(h: string): string {
  return h.includes(':') ? `[${h}]` : h;
}
