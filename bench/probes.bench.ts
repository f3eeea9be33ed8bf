/**
 * The cost of one liveness probe and its echo (liveness.ts) on SimLinks over SimNet
 * (leaves behind port-restricted NATs, each probing 3 of the public supernodes, 10% of
 * the nodes), sent the instant way as `tincan sim` sends them. These supernodes send no
 * heartbeats, so every leaf probes each of them every 2.75 s (the period and the grace):
 * probes only, to measure the probe path.
 *
 * Emits `probeRoundTripUs`: wall microseconds per answered probe through the carry path
 * (SimNet takes the packet to the peer's socket; the payload goes straight to the peer's
 * link), with `ref` the same probes delivered through the socket handlers (the links
 * behind a plain socket wrapper: parse, lookup, copy), and `ratio` = carry / socket. Also
 * `probeFloorUs`: the same probes answered directly with no link or network at all (the
 * probe logic, its timers and the echo encoding: what no transport change can remove).
 * Sizes: TINCAN_PROBE_NODES (default `2000,10000`), TINCAN_PROBE_SECONDS (simulated
 * seconds measured, default 120).
 *
 * @module
 */
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import type { Emit } from './bench.ts';
import { VirtualClock } from '../src/virtual-clock.ts';
import { SeededRandom } from '../src/random.ts';
import { SimNet } from '../src/net/sim.ts';
import type { DatagramSocket } from '../src/net/net.ts';
import { SimLinks } from '../src/overlay/sim/sim-links.ts';
import { DEFAULT_LIVENESS, encodeEcho, LivenessProbe, type ProbedLink, parseLinkProbe } from '../src/overlay/liveness.ts';

type Transport = 'carry' | 'socket' | 'none';

/** Wall microseconds per answered probe over `seconds` simulated seconds. */
async function probeRun(nodes: number, seconds: number, transport: Transport): Promise<{ us: number; roundTrips: number }> {
  const clock = new VirtualClock(undefined, { batchMs: 1 });
  const net = new SimNet({ clock, random: new SeededRandom(1), latencyMs: 20, jitterMs: 2, loss: 0.001 });
  const supernodes = Math.max(3, Math.round(nodes / 10));
  const ips: string[] = [];
  const directory = { publicIpOf: (n: number) => ips[n] };
  const links: SimLinks[] = [];
  for (let i = 0; i < nodes; i++) {
    const ip = `${i < supernodes ? 20 : 100}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    ips[i] = ip;
    const host = i < supernodes
      ? net.addHost(ip, { uplinkKbps: 10_000, latencyMs: 5 })
      : net.addHost('192.168.1.2', { uplinkKbps: 2_000, latencyMs: 5, nat: net.addNat(ip, { kind: 'port-restricted', latencyMs: 2 }) });
    const sock = host.bindSync({ port: 4000 });
    // Behind a plain wrapper the links cannot take SimNet's carry path.
    const socket: DatagramSocket = transport === 'socket'
      ? { get closed() { return sock.closed; }, address: sock.address, send: (d, to) => sock.send(d, to), sendNow: (d: Uint8Array, to: typeof sock.address) => sock.sendNow(d, to), onMessage: (h) => sock.onMessage(h), close: () => sock.close(), stats: () => sock.stats() } as DatagramSocket
      : sock;
    links[i] = new SimLinks({ self: i, socket, clock, directory, instantKeepalives: true });
    if (i < supernodes) {
      links[i]!.onAccept((l) => l.onMessage((d) => {
        if (parseLinkProbe(d)?.type === 'probe') l.sendInstant(encodeEcho(true, 30, 40));
      }));
    }
  }
  let echoes = 0;
  const random = new SeededRandom(2);
  const probes: LivenessProbe[] = [];
  for (let i = supernodes; i < nodes; i++) {
    for (let j = 0; j < 3; j++) {
      const sn = (i * 7 + j * 13) % supernodes;
      const link = links[i]!.connect(sn, { host: ips[sn]!, port: 4000 });
      const events = { echo: () => void echoes++, dead: () => link.close('dead') };
      let probed: ProbedLink = { get isClosed() { return link.closed; }, lastReceivedAt: () => link.lastReceived, send: (p) => link.sendInstant(p) };
      if (transport === 'none') {
        probed = { isClosed: false, lastReceivedAt: () => -1, send: () => {
          const m = parseLinkProbe(encodeEcho(true, 30, 40));
          if (m?.type === 'echo') probe.onEcho(m.attached, m.load, m.area);
        } };
      }
      const probe = new LivenessProbe(clock, random, probed, DEFAULT_LIVENESS, events);
      link.onMessage((d) => {
        const m = parseLinkProbe(d);
        if (m?.type === 'echo') probe.onEcho(m.attached, m.load, m.area);
      });
      probes.push(probe);
    }
  }
  await clock.advance(2000); // handshakes
  for (const p of probes) p.start();
  await clock.advance(3000);
  const before = echoes;
  const t0 = performance.now();
  const end = clock.now() + seconds * 1000;
  while (clock.now() < end) await clock.runUntil(clock.now() + 1000);
  const wallMs = performance.now() - t0;
  const roundTrips = echoes - before;
  net.close();
  if (roundTrips < probes.length) throw new Error(`only ${roundTrips} probes answered for ${probes.length} probes`);
  return { us: (wallMs * 1000) / roundTrips, roundTrips };
}

export async function run(emit: Emit): Promise<void> {
  const sizes = (process.env.TINCAN_PROBE_NODES ?? '2000,10000').split(',').map(Number);
  const seconds = Number(process.env.TINCAN_PROBE_SECONDS ?? 120);
  // Warm the JIT on every path first, so the first measured run is not the one paying for it.
  for (const t of ['carry', 'socket', 'none'] as const) await probeRun(300, 30, t);
  for (const nodes of sizes) {
    const carry = await probeRun(nodes, seconds, 'carry');
    const socket = await probeRun(nodes, seconds, 'socket');
    const floor = await probeRun(nodes, seconds, 'none');
    const r2 = (x: number) => +x.toFixed(2);
    emit({ metric: 'probeRoundTripUs', value: r2(carry.us), unit: 'us', ref: r2(socket.us), ratio: r2(carry.us / socket.us), nodes, simSeconds: seconds, roundTrips: carry.roundTrips });
    emit({ metric: 'probeFloorUs', value: r2(floor.us), unit: 'us', nodes });
  }
}
