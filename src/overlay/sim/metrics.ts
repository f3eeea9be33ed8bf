/**
 * Figures of a simulation run: percentiles, and traffic per node per second by role,
 * from SimNet's per-host counters (UDP payload bytes plus {@link HEADER_BYTES} of IP/UDP
 * header per datagram, both directions).
 * @module
 */
import { HEADER_BYTES, type SimHost } from '../../net/sim.ts';

/** Nearest-rank percentile (p in 0..100) of `xs`; 0 for no data. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** A host's traffic counters at one instant. */
export interface TrafficSnapshot {
  at: number;
  packets: number;
  bytes: number;
}

/** Counters of `host` now (sent + received; bytes include IP/UDP headers). */
export function snapshot(host: SimHost, at: number): TrafficSnapshot {
  const packets = host.sentPackets + host.receivedPackets;
  return { at, packets, bytes: host.sentBytes + host.receivedBytes + packets * HEADER_BYTES };
}

/** Sums of node-seconds, datagrams and bytes for one class of nodes. */
export class TrafficAccount {
  seconds = 0;
  packets = 0;
  bytes = 0;
  nodes = 0;

  /** Add one node's traffic between two snapshots. */
  add(from: TrafficSnapshot, to: TrafficSnapshot): void {
    const s = (to.at - from.at) / 1000;
    if (s <= 0) return;
    this.seconds += s;
    this.packets += to.packets - from.packets;
    this.bytes += to.bytes - from.bytes;
    this.nodes++;
  }

  /** Add another account's totals (a share's, in a split simulation). */
  absorb(o: { seconds: number; packets: number; bytes: number; nodes: number }): void {
    this.seconds += o.seconds;
    this.packets += o.packets;
    this.bytes += o.bytes;
    this.nodes += o.nodes;
  }

  /** Mean datagrams per node per second. */
  get msgsPerSec(): number {
    return this.seconds > 0 ? round(this.packets / this.seconds, 3) : 0;
  }

  /** Mean bytes per node per second. */
  get bytesPerSec(): number {
    return this.seconds > 0 ? round(this.bytes / this.seconds, 1) : 0;
  }

  toJSON(): { msgsPerSec: number; bytesPerSec: number; nodeHours: number } {
    return { msgsPerSec: this.msgsPerSec, bytesPerSec: this.bytesPerSec, nodeHours: round(this.seconds / 3600, 1) };
  }
}

/** `x` rounded to `digits` decimals. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
