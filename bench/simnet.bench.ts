/**
 * SimNet throughput and footprint: 10,000 hosts (15% public, the rest behind home NATs of
 * the four kinds, 1-3 hosts per NAT) where every host sends a 40-byte keepalive to 3 of
 * 300 public "supernodes" every 20 s and gets an echo back, for one simulated hour.
 *
 * Emits `datagramsPerSec` (delivered per wall-clock second, whole run including the
 * keepalive timers), `datagramsPerCpuSec` (the same per CPU second of this process, less
 * sensitive to a busy machine), `simSecondsPerWallSecond`, `bytesPerHost` (heap growth for hosts,
 * NATs and sockets divided by hosts), with SimNet's default 1 ms time resolution, and the
 * same run with exact times (`timeResolutionMs: 0`, metrics suffixed `ExactTimes`).
 * `pingPongDatagramsPerSec` measures SimNet alone (no per-host timers) for comparison.
 * Size it with TINCAN_SIMNET_HOSTS and TINCAN_SIMNET_SECONDS; TINCAN_SIMNET_RESOLUTIONS
 * (default `1,0`) picks the `timeResolutionMs` values to run.
 *
 * @module
 */
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import type { Emit } from './bench.ts';
import { VirtualClock } from '../src/virtual-clock.ts';
import { SeededRandom } from '../src/random.ts';
import { NAT_KINDS, SimNet } from '../src/net/sim.ts';
import type { Address, DatagramSocket } from '../src/net/net.ts';

interface RunResult {
  delivered: number;
  wallMs: number;
  cpuMs: number;
  simMs: number;
  bytesPerHost: number;
  drops: number;
}

function ipOf(prefix: number, i: number): string {
  return `${prefix}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

async function keepaliveRun(hosts: number, seconds: number, timeResolutionMs: number): Promise<RunResult> {
  const clock = new VirtualClock();
  const random = new SeededRandom(2024);
  const traffic = random.fork();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const sim = new SimNet({ clock, random, latencyMs: 20, jitterMs: 3, loss: 0.005, timeResolutionMs });
  const supernodes: Address[] = [];
  const sockets: DatagramSocket[] = [];
  const publicCount = Math.round(hosts * 0.15);
  for (let i = 0; i < publicCount; i++) {
    const h = sim.addHost(ipOf(11, i + 1), { latencyMs: traffic.int(20), jitterMs: 1, uplinkKbps: 10_000, downlinkKbps: 50_000 });
    const s = h.bindSync({ port: 4000 });
    sockets.push(s);
    if (supernodes.length < 300) {
      supernodes.push(s.address);
      s.onMessage((data, from) => s.send(data, from));
    }
  }
  let natIndex = 0;
  while (sockets.length < hosts) {
    const nat = sim.addNat(ipOf(12, ++natIndex), { kind: NAT_KINDS[natIndex % 4]!, bindingTimeoutMs: 30_000, latencyMs: traffic.int(15) });
    const behind = 1 + traffic.int(3);
    for (let j = 0; j < behind && sockets.length < hosts; j++) {
      const h = sim.addHost(`192.168.1.${j + 2}`, { nat, latencyMs: 1, uplinkKbps: 1_000, downlinkKbps: 10_000 });
      sockets.push(h.bindSync({ port: 4000 }));
    }
  }
  const heapAfter = process.memoryUsage().heapUsed;
  const payload = new Uint8Array(40);
  for (const s of sockets.slice(supernodes.length)) {
    const targets = [0, 1, 2].map(() => supernodes[traffic.int(supernodes.length)]!);
    let received = 0;
    s.onMessage(() => received++);
    clock.setTimeout(() => {
      const tick = () => {
        for (const t of targets) s.send(payload, t);
      };
      tick();
      clock.setInterval(tick, 20_000);
    }, traffic.int(20_000));
  }
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const t0 = clock.now();
  for (let t = 0; t < seconds; t += 60) clock.runUntilSync(t0 + Math.min(seconds, t + 60) * 1000);
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const st = sim.stats();
  sim.close();
  let drops = 0;
  for (const k in st.drops) drops += st.drops[k as keyof typeof st.drops];
  return { delivered: st.deliveredPackets, wallMs, cpuMs, simMs: seconds * 1000, bytesPerHost: (heapAfter - heapBefore) / hosts, drops };
}

/**
 * SimNet alone, without per-host timers: 1,000 pairs of public hosts ping-pong one
 * datagram each over a 20 ms path for 60 simulated seconds.
 */
function pingPong(pairs: number, seconds: number): { delivered: number; cpuMs: number; wallMs: number } {
  const clock = new VirtualClock();
  const sim = new SimNet({ clock, random: new SeededRandom(7), latencyMs: 20, jitterMs: 1 });
  for (let i = 0; i < pairs; i++) {
    const a = sim.addHost(ipOf(13, 2 * i + 1)).bindSync({ port: 1 });
    const b = sim.addHost(ipOf(13, 2 * i + 2)).bindSync({ port: 1 });
    a.onMessage((data, from) => a.send(data, from));
    b.onMessage((data, from) => b.send(data, from));
    a.send(new Uint8Array(100), b.address);
  }
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  clock.runUntilSync(clock.now() + seconds * 1000);
  const cpu = process.cpuUsage(cpuStart);
  const result = { delivered: sim.stats().deliveredPackets, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - start };
  sim.close();
  return result;
}

/** Run the SimNet benchmark. */
export async function run(emit: Emit): Promise<void> {
  const hosts = Number(process.env.TINCAN_SIMNET_HOSTS ?? 10_000);
  const seconds = Number(process.env.TINCAN_SIMNET_SECONDS ?? 3600);
  const pp = pingPong(1000, 60);
  emit({ metric: 'pingPongDatagramsPerSec', value: Math.round(pp.delivered / (pp.wallMs / 1000)), unit: '1/s', pairs: 1000, delivered: pp.delivered, cpuPerSec: Math.round(pp.delivered / (pp.cpuMs / 1000)) });
  const resolutions = (process.env.TINCAN_SIMNET_RESOLUTIONS ?? '1,0').split(',').map(Number);
  for (const resolution of resolutions) {
    const r = await keepaliveRun(hosts, seconds, resolution);
    const suffix = resolution === 1 ? '' : resolution === 0 ? 'ExactTimes' : `At${resolution}msResolution`;
    emit({ metric: `datagramsPerSec${suffix}`, value: Math.round(r.delivered / (r.wallMs / 1000)), unit: '1/s', hosts, simSeconds: seconds, delivered: r.delivered, dropped: r.drops, wallSeconds: +(r.wallMs / 1000).toFixed(2) });
    emit({ metric: `datagramsPerCpuSec${suffix}`, value: Math.round(r.delivered / (r.cpuMs / 1000)), unit: '1/s', hosts, cpuSeconds: +(r.cpuMs / 1000).toFixed(2) });
    emit({ metric: `simSecondsPerWallSecond${suffix}`, value: +(r.simMs / r.wallMs).toFixed(1), unit: 'x', hosts });
    if (resolution === 1) emit({ metric: 'bytesPerHost', value: Math.round(r.bytesPerHost), unit: 'B', hosts });
  }
}
