/**
 * A simulated NAT box (RFC 4787 terms): the four classic kinds, binding timeouts, and
 * bounded mapping tables. Created by {@link SimNet.addNat}; hosts added with
 * `{ nat }` live behind it on private addresses.
 *
 * | kind                 | mapping                | inbound accepted from                 |
 * |----------------------|------------------------|---------------------------------------|
 * | `full-cone`          | one per private socket | anyone                                |
 * | `address-restricted` | one per private socket | IPs the socket has sent to            |
 * | `port-restricted`    | one per private socket | IP:port pairs the socket has sent to  |
 * | `symmetric`          | one per destination    | only that destination IP:port         |
 *
 * A mapping (and each permission) lives for `bindingTimeoutMs` after the last outbound
 * datagram through it; inbound traffic does not refresh it. An expired mapping is
 * forgotten, and the next outbound datagram gets a new one (usually a new port).
 *
 * @module
 */
import type { Address } from './net.ts';
import type { SimHost } from './sim-host.ts';
import type { LinkProfile } from './sim-link.ts';
import { type DropCounts, type DropReason, newDropCounts } from './sim-stats.ts';

/** The classic NAT behaviours. */
export type NatKind = 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric';

/** All NAT kinds, for tests and simulators that pick one. */
export const NAT_KINDS: readonly NatKind[] = ['full-cone', 'address-restricted', 'port-restricted', 'symmetric'];

/** Options for {@link SimNet.addNat}. */
export interface NatOptions {
  kind: NatKind;
  /** Idle lifetime of a mapping without outbound traffic; default 30,000 ms. */
  bindingTimeoutMs?: number;
  /** Most simultaneous mappings (ports); default 16,384, at most 64,512. */
  maxMappings?: number;
  /** Most remote permissions remembered per mapping (restricted kinds); default 1,024. */
  maxPermissionsPerMapping?: number;
  /** Whether a host may reach a peer behind the same NAT through its public address; default false. */
  hairpin?: boolean;
  /** One-way latency of the NAT's own link towards the core (added to every path through it); default 0. */
  latencyMs?: number;
  /** Mean exponential jitter of that link; default 0. */
  jitterMs?: number;
  /** Loss probability of that link; default 0. */
  loss?: number;
}

/** Counters of one NAT box. */
export interface NatStats {
  /** Mappings currently held (including expired ones not yet swept). */
  mappings: number;
  mappingsCreated: number;
  mappingsExpired: number;
  /** Inbound drops at this NAT (`natUnsolicited`, `natFiltered`, `natExpired`), and `natTableFull`. */
  drops: DropCounts;
}

/** One NAT binding: private socket (and for symmetric NATs, one destination) -> public port. */
export interface NatMapping {
  readonly host: SimHost;
  readonly privatePort: number;
  readonly publicPort: number;
  /** The public address remote peers see: the NAT's IP and `publicPort`. */
  readonly address: Address;
  /** Virtual time of the last outbound datagram. */
  lastOut: number;
  /** Symmetric NATs: the only remote key allowed in (endpoint id * 65536 + port); else -1. */
  readonly remoteKey: number;
  /** Restricted kinds: remote key -> time of last outbound to it. */
  readonly permissions: Map<number, number> | undefined;
}

const FIRST_PORT = 1024;
const PORT_SPAN = 65536 - FIRST_PORT;

/** A NAT box; see the module documentation. Create with {@link SimNet.addNat}. */
export class NatBox implements LinkProfile {
  readonly ip: string;
  readonly kind: NatKind;
  readonly bindingTimeoutMs: number;
  readonly hairpin: boolean;
  readonly maxMappings: number;
  readonly maxPermissionsPerMapping: number;
  /** The NAT's link towards the core (see {@link NatOptions}); may be changed at run time. */
  latencyMs: number;
  jitterMs: number;
  loss: number;
  /** @internal endpoint id (unique among hosts and NATs). */
  readonly eid: number;
  /** @internal hosts behind this NAT by private IP. */
  readonly lan = new Map<string, SimHost>();
  /** @internal Changes to `lan` so far (SimNet's route memos depend on it). */
  lanVersion = 0;
  /** @internal drop counters for inbound filtering. */
  readonly drops: DropCounts = newDropCounts();
  /** Whether {@link SimNet.removeNat} has taken this NAT off the network. */
  removed = false;

  private readonly byPublicPort = new Map<number, NatMapping>();
  /** Cone kinds: (host id * 65536 + private port) -> mapping. */
  private readonly bySocket = new Map<number, NatMapping>();
  /** Symmetric: (host id * 65536 + private port) -> remote key -> mapping. */
  private readonly bySession = new Map<number, Map<number, NatMapping>>();
  /**
   * The mapping last used, in either direction, with its socket key (cone kinds). Most
   * NATs hold one mapping (a home NAT with one host and socket): this one field saves the
   * table lookups of every datagram, which at 10,000 nodes miss the CPU cache.
   */
  private last: NatMapping | undefined;
  private lastSocketKey = -1;
  private nextPort: number;
  private sweepAt = 256;
  private created = 0;
  private expired = 0;

  /** @internal use {@link SimNet.addNat}. */
  constructor(ip: string, eid: number, options: NatOptions, firstPort: number) {
    this.ip = ip;
    this.eid = eid;
    this.kind = options.kind;
    if (!NAT_KINDS.includes(options.kind)) throw new RangeError(`unknown NAT kind "${options.kind}"; expected one of ${NAT_KINDS.join(', ')}`);
    this.bindingTimeoutMs = options.bindingTimeoutMs ?? 30_000;
    if (!(this.bindingTimeoutMs > 0)) throw new RangeError(`bindingTimeoutMs must be > 0, got ${options.bindingTimeoutMs}`);
    this.maxMappings = Math.min(options.maxMappings ?? 16_384, PORT_SPAN);
    if (!(this.maxMappings >= 1)) throw new RangeError(`maxMappings must be >= 1, got ${options.maxMappings}`);
    this.maxPermissionsPerMapping = options.maxPermissionsPerMapping ?? 1024;
    this.hairpin = options.hairpin ?? false;
    this.latencyMs = options.latencyMs ?? 0;
    this.jitterMs = options.jitterMs ?? 0;
    this.loss = options.loss ?? 0;
    this.nextPort = FIRST_PORT + (firstPort % PORT_SPAN);
  }

  /** Counters for diagnostics. */
  stats(): NatStats {
    return { mappings: this.byPublicPort.size, mappingsCreated: this.created, mappingsExpired: this.expired, drops: { ...this.drops } };
  }

  /** The live mapping on a public port at time `now`, if any (for diagnostics and tests). */
  mappingAt(publicPort: number, now: number): NatMapping | undefined {
    const m = this.byPublicPort.get(publicPort);
    return m && now - m.lastOut <= this.bindingTimeoutMs ? m : undefined;
  }

  /** @internal The host currently mapped on a public port (no expiry or filter check: a routing hint). */
  hostOnPort(publicPort: number): SimHost | undefined {
    const last = this.last;
    return last !== undefined && last.publicPort === publicPort ? last.host : this.byPublicPort.get(publicPort)?.host;
  }

  /**
   * @internal Translate an outbound datagram from `host:privatePort` to the remote
   * `remoteEid`/`remotePort`, creating or refreshing the mapping. Undefined when the
   * table is full.
   */
  outbound(host: SimHost, privatePort: number, remoteEid: number, remotePort: number, now: number): NatMapping | undefined {
    const socketKey = host.hid * 65536 + privatePort;
    const remoteKey = remoteEid * 65536 + remotePort;
    let m: NatMapping | undefined;
    let session: Map<number, NatMapping> | undefined;
    if (this.kind === 'symmetric') {
      session = this.bySession.get(socketKey);
      m = session?.get(remoteKey);
    } else {
      m = this.lastSocketKey === socketKey ? this.last : this.bySocket.get(socketKey);
    }
    if (m !== undefined && now - m.lastOut > this.bindingTimeoutMs) {
      this.forget(m);
      m = undefined;
    }
    if (m === undefined) {
      m = this.allocate(host, privatePort, remoteKey, now);
      if (m === undefined) {
        this.drops.natTableFull++;
        return undefined;
      }
      if (this.kind === 'symmetric') {
        // `forget` may have dropped an emptied session map: look it up again.
        session = this.bySession.get(socketKey);
        if (session === undefined) this.bySession.set(socketKey, (session = new Map()));
        session.set(remoteKey, m);
      } else {
        this.bySocket.set(socketKey, m);
      }
    }
    if (this.kind !== 'symmetric') {
      this.last = m;
      this.lastSocketKey = socketKey;
    }
    m.lastOut = now;
    const perms = m.permissions;
    if (perms !== undefined) {
      const key = this.kind === 'address-restricted' ? remoteEid : remoteKey;
      if (perms.size >= this.maxPermissionsPerMapping && !perms.has(key)) this.prunePermissions(perms, now);
      perms.set(key, now);
    }
    return m;
  }

  /**
   * @internal The mapping that accepts a datagram arriving on `publicPort` from the
   * remote `remoteEid`/`remotePort`, or the reason it is dropped (counted here).
   */
  inbound(publicPort: number, remoteEid: number, remotePort: number, now: number): NatMapping | DropReason {
    const last = this.last;
    const m = last !== undefined && last.publicPort === publicPort ? last : this.byPublicPort.get(publicPort);
    if (m === undefined) {
      this.drops.natUnsolicited++;
      return 'natUnsolicited';
    }
    if (now - m.lastOut > this.bindingTimeoutMs) {
      this.forget(m);
      this.drops.natExpired++;
      return 'natExpired';
    }
    const remoteKey = remoteEid * 65536 + remotePort;
    switch (this.kind) {
      case 'full-cone':
        return m;
      case 'symmetric':
        if (m.remoteKey === remoteKey) return m;
        break;
      case 'address-restricted': {
        const t = m.permissions!.get(remoteEid);
        if (t !== undefined && now - t <= this.bindingTimeoutMs) return m;
        break;
      }
      case 'port-restricted': {
        const t = m.permissions!.get(remoteKey);
        if (t !== undefined && now - t <= this.bindingTimeoutMs) return m;
        break;
      }
    }
    this.drops.natFiltered++;
    return 'natFiltered';
  }

  private allocate(host: SimHost, privatePort: number, remoteKey: number, now: number): NatMapping | undefined {
    const table = this.byPublicPort;
    if (table.size >= this.sweepAt || table.size >= this.maxMappings) {
      this.sweep(now);
      this.sweepAt = Math.max(256, 2 * table.size);
      if (table.size >= this.maxMappings) return undefined;
    }
    let port = this.nextPort;
    while (table.has(port)) port = port === 65535 ? FIRST_PORT : port + 1;
    this.nextPort = port === 65535 ? FIRST_PORT : port + 1;
    const m: NatMapping = {
      host,
      privatePort,
      publicPort: port,
      address: { host: this.ip, port },
      lastOut: now,
      remoteKey: this.kind === 'symmetric' ? remoteKey : -1,
      permissions: this.kind === 'address-restricted' || this.kind === 'port-restricted' ? new Map() : undefined,
    };
    table.set(port, m);
    this.created++;
    return m;
  }

  private forget(m: NatMapping): void {
    if (this.byPublicPort.get(m.publicPort) !== m) return;
    if (this.last === m) {
      this.last = undefined;
      this.lastSocketKey = -1;
    }
    this.byPublicPort.delete(m.publicPort);
    this.expired++;
    const socketKey = m.host.hid * 65536 + m.privatePort;
    if (this.kind === 'symmetric') {
      const session = this.bySession.get(socketKey);
      if (session !== undefined && session.get(m.remoteKey) === m) {
        session.delete(m.remoteKey);
        if (session.size === 0) this.bySession.delete(socketKey);
      }
    } else if (this.bySocket.get(socketKey) === m) {
      this.bySocket.delete(socketKey);
    }
  }

  /** Drop every expired mapping (amortized: runs when the table doubles). */
  private sweep(now: number): void {
    for (const m of this.byPublicPort.values()) {
      if (now - m.lastOut > this.bindingTimeoutMs) this.forget(m);
    }
  }

  private prunePermissions(perms: Map<number, number>, now: number): void {
    for (const [k, t] of perms) if (now - t > this.bindingTimeoutMs) perms.delete(k);
    // Still full: evict the oldest-inserted permission.
    if (perms.size >= this.maxPermissionsPerMapping) perms.delete(perms.keys().next().value!);
  }
}
