/**
 * The workload of simnet-shares.bench.ts: keepalives in two regions. Hosts (15% public,
 * the rest behind home NATs of the four kinds) live in region `i % 2`; every NATed host
 * sends a 40-byte keepalive every 20 s to 3 public "supernodes", two in its own region
 * and one anywhere, and each supernode echoes. The same network runs in one thread (both
 * regions in one SimNet) or split, one region per share (sim-share.ts), with the same
 * hosts, targets and timers: only the random draws of delay and loss differ, and split,
 * the core between the regions has its own latency (the lookahead; one thread has one core).
 * @module
 */
import { VirtualClock } from '../src/virtual-clock.ts';
import { SeededRandom } from '../src/random.ts';
import { NAT_KINDS, SimNet, type SimNetStats } from '../src/net/sim.ts';
import type { Address } from '../src/net/net.ts';

/** Which part of the network to build: everything in one SimNet, or share `index` of 2. */
export type Part = { kind: 'whole' } | { kind: 'share'; index: number };

/** Build the part, then `drive` it to the end; returns its counters. */
export async function keepaliveRegions(hosts: number, seconds: number, part: Part, regionLatencyMs: number, drive: (clock: VirtualClock, net: SimNet, until: number) => Promise<void>): Promise<SimNetStats> {
  const clock = new VirtualClock(0);
  const shared = part.kind === 'share';
  const net = new SimNet({ clock, random: new SeededRandom(2024 + (shared ? part.index : 0)), latencyMs: 20, jitterMs: 3, loss: 0.005, ...(shared ? { share: { index: part.index, count: 2, latencyMs: regionLatencyMs } } : {}) });
  const mine = (region: number) => !shared || part.index === region;
  const plan = new SeededRandom(99); // the same in every part: who is where, who talks to whom
  const publicCount = Math.round(hosts * 0.15);
  const supernodes: Address[][] = [[], []];
  for (let i = 0; i < publicCount; i++) {
    const region = i % 2;
    const ip = `${11 + region}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const latencyMs = plan.int(20);
    if (supernodes[region]!.length < 150) supernodes[region]!.push({ host: ip, port: 4000 });
    if (!mine(region)) continue;
    const s = net.addHost(ip, { latencyMs, jitterMs: 1, uplinkKbps: 10_000, downlinkKbps: 50_000 }).bindSync({ port: 4000 });
    s.onMessage((data, from) => s.send(data, from));
  }
  const payload = new Uint8Array(40);
  for (let i = 0, n = publicCount; n < hosts; i++) {
    const region = i % 2;
    const kind = NAT_KINDS[i % 4]!;
    const natLatency = plan.int(15);
    const behind = Math.min(1 + plan.int(3), hosts - n);
    const nat = mine(region) ? net.addNat(`${100 + region}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, { kind, bindingTimeoutMs: 30_000, latencyMs: natLatency }) : undefined;
    for (let j = 0; j < behind; j++, n++) {
      const own = supernodes[region]!;
      const any = supernodes[plan.int(2)]!;
      const targets = [own[plan.int(own.length)]!, own[plan.int(own.length)]!, any[plan.int(any.length)]!];
      const phase = plan.int(20_000);
      if (!nat) continue;
      const s = net.addHost(`192.168.1.${j + 2}`, { nat, latencyMs: 1, uplinkKbps: 1_000, downlinkKbps: 10_000 }).bindSync({ port: 4000 });
      clock.setTimeout(() => {
        const tick = () => {
          for (const t of targets) s.send(payload, t);
        };
        tick();
        clock.setInterval(tick, 20_000);
      }, phase);
    }
  }
  await drive(clock, net, seconds * 1000);
  const stats = net.stats();
  net.close();
  return stats;
}
