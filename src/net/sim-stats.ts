/**
 * Counters kept by {@link SimNet}: why datagrams were dropped, per host, per NAT and for
 * the whole simulated network. Plain objects with numeric fields so the hot path only
 * increments properties.
 *
 * @module
 */

/**
 * Datagrams dropped by the simulated network, by reason.
 *
 * - `loss`: random loss on the path (per-host, per-NAT, core or per-link `loss`).
 * - `uplinkQueue` / `downlinkQueue`: the bounded serialization queue of a host's
 *   bandwidth-limited link was full.
 * - `noRoute`: no host or NAT owns the destination address.
 * - `hairpin`: sent to its own NAT's public address and the NAT does not hairpin.
 * - `natTableFull`: the sender's NAT has no free mapping or port.
 * - `natUnsolicited`: arrived at a NAT port that has no mapping.
 * - `natFiltered`: a mapping exists but the NAT kind's filter refuses this remote.
 * - `natExpired`: the mapping timed out (no outbound traffic for the binding timeout).
 * - `portUnreachable`: no socket bound on the destination port.
 * - `hostDown`: the destination host was removed while the datagram was in flight.
 * - `overload`: the simulator's bound on datagrams in flight was reached.
 */
export interface DropCounts {
  loss: number;
  uplinkQueue: number;
  downlinkQueue: number;
  noRoute: number;
  hairpin: number;
  natTableFull: number;
  natUnsolicited: number;
  natFiltered: number;
  natExpired: number;
  portUnreachable: number;
  hostDown: number;
  overload: number;
}

/** Name of a drop reason (a key of {@link DropCounts}). */
export type DropReason = keyof DropCounts;

/** A fresh, all-zero {@link DropCounts}. */
export function newDropCounts(): DropCounts {
  return {
    loss: 0,
    uplinkQueue: 0,
    downlinkQueue: 0,
    noRoute: 0,
    hairpin: 0,
    natTableFull: 0,
    natUnsolicited: 0,
    natFiltered: 0,
    natExpired: 0,
    portUnreachable: 0,
    hostDown: 0,
    overload: 0,
  };
}

/** Sum of all drop reasons. */
export function totalDrops(d: DropCounts): number {
  let n = 0;
  for (const k in d) n += d[k as DropReason];
  return n;
}

/** Traffic counters of one simulated host (payload bytes, as the sockets see them). */
export interface HostStats {
  sentPackets: number;
  sentBytes: number;
  receivedPackets: number;
  receivedBytes: number;
  /** Sends refused before reaching the network (closed socket excluded): bad address, oversize. */
  sendErrors: number;
  /** Drops attributed to this host: sender-side reasons for its sends, receiver-side for its receives. */
  drops: DropCounts;
}

/** Whole-network counters of a {@link SimNet}. */
export interface SimNetStats {
  /** Datagrams accepted by a socket's `send` (before any network drop). */
  sentPackets: number;
  sentBytes: number;
  /** Datagrams handed to a receiving socket. */
  deliveredPackets: number;
  deliveredBytes: number;
  /** Datagrams currently travelling (scheduled, not yet delivered or dropped). */
  inFlight: number;
  /** Live hosts and NATs. */
  hosts: number;
  nats: number;
  drops: DropCounts;
  /** Datagrams handed to other shares, and received from them (sim-share.ts; 0 unless shared). */
  sharedOut: number;
  sharedIn: number;
}
