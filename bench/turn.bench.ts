/**
 * TURN load (issue 5): N concurrent allocations (default 200) relaying P packets/s each
 * (default 50) for D seconds (default 30) on loopback, driven by coturn's own
 * `turnutils_uclient -y -c -W SECRET` (client-to-client: every allocation sends to
 * another allocation's relayed address through ChannelData). The same load runs against
 * our server (supernodes/turn/serve.ts, in a child process so its CPU is isolated) and
 * against coturn's `turnserver`; each server's CPU (utime + stime from /proc/PID/stat,
 * all threads) over the run is divided by the messages delivered end to end.
 *
 * Our server relays between two of its own allocations in process ("hairpin", see
 * server.ts); the same load is also run with `--no-hairpin` and reported as
 * `cpuUsPerRelayedPacketNoHairpin` (skip with TINCAN_TURN_BENCH_NO_HAIRPIN=0).
 *
 * Environment: TINCAN_TURN_BENCH_S (duration, s), TINCAN_TURN_BENCH_CLIENTS (allocations),
 * TINCAN_TURN_BENCH_PPS (packets/s per allocation). A missing coturn is an error.
 *
 * Prints `{metric:'cpuUsPerRelayedPacket', value, unit:'us', ref, ratio}` (ratio = ours /
 * coturn, lower is better), `lossPct` for both, and the packet counts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { loadavg } from 'node:os';
import type { Emit } from './bench.ts';
import { UdpNet } from '../src/net/udp.ts';
import { Method, StunClass } from '../supernodes/stun/constants.ts';
import { StunWriter, looksLikeStun } from '../supernodes/stun/message.ts';

const SECRET = 'tincan-bench-secret';
const REALM = 'tincan.bench';
const HOST = '127.0.0.1';

interface UclientResult {
  sent: number;
  received: number;
  lost: number;
  lossPct: number;
  output: string;
}

interface ServerRun {
  /** Kernel receive-buffer drops at the server's sockets at the end of the run. */
  socketDrops: { listening: number; relays: number };
  /** Kernel receive-buffer drops at uclient's sockets (sampled during the run). */
  clientSocketDrops: number;
  cpuUs: number;
  wallMs: number;
  uclient: UclientResult;
  stats?: Record<string, unknown>;
}

function requireTool(name: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${name} not found: install the coturn package (apt-get install coturn)`);
}

function clockTicks(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
}

/** utime + stime of a process (all threads), in microseconds. */
function cpuUsOf(pid: number, ticks: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticks;
}

/**
 * Datagrams the kernel dropped at `pid`'s UDP sockets because their receive buffer was
 * full (the `drops` column of /proc/net/udp for the sockets the process holds), split
 * into the listening socket and the rest (relays).
 */
function socketDrops(pid: number, listenPort: number, seen = new Map<string, { listening: boolean; drops: number }>()): { listening: number; relays: number } {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    // process gone: report what was seen
  }
  try {
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13 || !inodes.has(f[9]!)) continue;
      const port = parseInt(f[1]!.split(':')[1]!, 16);
      const drops = Number(f[12]);
      const prev = seen.get(f[9]!);
      seen.set(f[9]!, { listening: port === listenPort, drops: Math.max(drops, prev?.drops ?? 0) });
    }
  } catch {
    // no /proc/net/udp
  }
  let listening = 0;
  let relays = 0;
  for (const v of seen.values()) {
    if (v.listening) listening += v.drops;
    else relays += v.drops;
  }
  return { listening, relays };
}

async function freePort(): Promise<number> {
  const s = await new UdpNet().bind({ host: HOST, port: 0 });
  const p = s.address.port;
  s.close();
  return p;
}

/** Resolve once a STUN Binding request to `port` is answered. */
async function waitForStun(port: number, timeoutMs = 15000): Promise<void> {
  const s = await new UdpNet().bind({ host: HOST, port: 0 });
  try {
    const deadline = Date.now() + timeoutMs;
    let answered = false;
    s.onMessage((d) => {
      if (looksLikeStun(d)) answered = true;
    });
    while (!answered) {
      if (Date.now() > deadline) throw new Error(`no STUN answer on ${HOST}:${port} after ${timeoutMs} ms`);
      const tid = crypto.getRandomValues(new Uint8Array(12));
      s.send(new StunWriter(Method.Binding, StunClass.Request, tid).encode(), { host: HOST, port });
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    s.close();
  }
}

function runUclient(
  port: number,
  clients: number,
  messages: number,
  intervalMs: number,
  onSpawn: (pid: number) => void = () => {},
): Promise<UclientResult> {
  const args = ['-y', '-c', '-m', String(clients), '-n', String(messages), '-z', String(intervalMs), '-l', '100'];
  args.push('-W', SECRET, '-u', 'bench', '-p', String(port), HOST);
  return new Promise((resolve, reject) => {
    const child = spawn('turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) onSpawn(child.pid);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const sent = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m.exec(out);
      const lost = /Total lost packets (\d+) \(([\d.]+)%\)/.exec(out);
      if (code !== 0 || !sent || !lost) {
        reject(new Error(`turnutils_uclient failed (exit ${code}): ${out.split('\n').slice(-6).join(' | ')}`));
        return;
      }
      resolve({ sent: Number(sent[1]), received: Number(sent[2]), lost: Number(lost[1]), lossPct: Number(lost[2]), output: out });
    });
  });
}

function stop(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    if (child.exitCode !== null || child.signalCode !== null) return resolve(out);
    child.on('close', () => resolve(out));
    child.kill('SIGTERM');
  });
}

async function measure(child: ChildProcess, port: number, load: Load, ticks: number): Promise<ServerRun> {
  await waitForStun(port);
  const pid = child.pid!;
  const cpu0 = cpuUsOf(pid, ticks);
  const t0 = Date.now();
  // Relay sockets close when uclient ends: sample their kernel drop counters during the run.
  const seen = new Map<string, { listening: boolean; drops: number }>();
  const clientSeen = new Map<string, { listening: boolean; drops: number }>();
  let clientPid = 0;
  const sampler = setInterval(() => {
    socketDrops(pid, port, seen);
    if (clientPid) socketDrops(clientPid, -1, clientSeen);
  }, 1000);
  let uclient: UclientResult;
  try {
    uclient = await runUclient(port, load.clients, load.messages, load.intervalMs, (p) => (clientPid = p));
  } finally {
    clearInterval(sampler);
  }
  const cpuUs = cpuUsOf(pid, ticks) - cpu0;
  const drops = socketDrops(pid, port, seen);
  return { cpuUs, wallMs: Date.now() - t0, uclient, socketDrops: drops, clientSocketDrops: socketDrops(0, -1, clientSeen).relays };
}

interface Load {
  clients: number;
  messages: number;
  intervalMs: number;
}

async function runOurs(load: Load, ticks: number, hairpin = true): Promise<ServerRun> {
  const port = await freePort();
  const serve = fileURLToPath(new URL('../supernodes/turn/serve.ts', import.meta.url));
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';
  const cmd = isDeno ? [process.execPath, 'run', '-A', serve] : [process.execPath, '--import', 'tsx', serve];
  const args = [...cmd.slice(1), '--listen', `${HOST}:${port}`, '--secret', SECRET, '--realm', REALM];
  args.push('--relay-ip', HOST, '--allow-private-peers', '--user-quota', '100000', '--total-quota', '100000');
  if (!hairpin) args.push('--no-hairpin');
  const child = spawn(cmd[0]!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const run = await measure(child, port, load, ticks);
    child.stdin!.end();
    await new Promise<void>((r) => (child.exitCode !== null ? r() : child.on('close', () => r())));
    const line = out.split('\n').find((l) => l.startsWith('{"stats"'));
    if (line) run.stats = (JSON.parse(line) as { stats: Record<string, unknown> }).stats;
    return run;
  } finally {
    if (child.exitCode === null) await stop(child);
  }
}

async function runCoturn(load: Load, ticks: number): Promise<ServerRun> {
  const port = await freePort();
  const args = ['-n', '--listening-ip', HOST, '--listening-port', String(port), '--relay-ip', HOST];
  args.push('--use-auth-secret', '--static-auth-secret', SECRET, '--realm', REALM, '--allow-loopback-peers');
  args.push('--no-cli', '--no-tls', '--no-dtls', '--log-file', 'stdout', '--simple-log');
  args.push('--pidfile', `/tmp/tincan-bench-coturn-${port}.pid`, '--min-port', '49152', '--max-port', '65535');
  const child = spawn('turnserver', args, { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    return await measure(child, port, load, ticks);
  } finally {
    await stop(child);
  }
}

/** The benchmark entry (see module docs). */
export async function run(emit: Emit): Promise<void> {
  requireTool('turnserver');
  requireTool('turnutils_uclient');
  const seconds = Number(process.env.TINCAN_TURN_BENCH_S ?? 30);
  const clients = Number(process.env.TINCAN_TURN_BENCH_CLIENTS ?? 200);
  const pps = Number(process.env.TINCAN_TURN_BENCH_PPS ?? 50);
  const load: Load = { clients, messages: Math.round(seconds * pps), intervalMs: Math.max(1, Math.round(1000 / pps)) };
  const ticks = clockTicks();
  const load0 = loadavg()[0]!;

  const ours = await runOurs(load, ticks);
  const ref = await runCoturn(load, ticks);
  const noHairpin = process.env.TINCAN_TURN_BENCH_NO_HAIRPIN === '0' ? undefined : await runOurs(load, ticks, false);

  const perPacket = (r: ServerRun) => r.cpuUs / Math.max(1, r.uclient.received);
  const value = perPacket(ours);
  const refValue = perPacket(ref);
  const base = { allocations: clients, packetsPerSecond: pps, seconds };
  emit({
    metric: 'cpuUsPerRelayedPacket',
    value: round(value),
    unit: 'us',
    ref: round(refValue),
    ratio: round(value / refValue),
    ...base,
  });
  if (noHairpin) {
    // Same load with the in-process hairpin turned off: every relayed datagram crosses
    // the kernel twice, as it does in coturn. Reported so the comparison is transparent.
    const v = perPacket(noHairpin);
    emit({
      metric: 'cpuUsPerRelayedPacketNoHairpin',
      value: round(v),
      unit: 'us',
      ref: round(refValue),
      ratio: round(v / refValue),
      lossPct: noHairpin.uclient.lossPct,
      lost: noHairpin.uclient.lost,
      // Where a loss happened: kernel receive-buffer drops at our sockets (else at uclient's).
      socketReceiveBufferDrops: noHairpin.socketDrops,
      uclientSocketReceiveBufferDrops: noHairpin.clientSocketDrops,
      ...base,
    });
  }
  emit({ metric: 'lossPct', value: ours.uclient.lossPct, unit: '%', ref: ref.uclient.lossPct, ...base });
  emit({
    metric: 'relayedPackets',
    value: ours.uclient.received,
    unit: 'packets',
    ref: ref.uclient.received,
    sent: ours.uclient.sent,
    refSent: ref.uclient.sent,
    lost: ours.uclient.lost,
    refLost: ref.uclient.lost,
  });
  emit({ metric: 'serverCpuSeconds', value: round(ours.cpuUs / 1e6), unit: 's', ref: round(ref.cpuUs / 1e6), wallSeconds: round(ours.wallMs / 1000) });
  emit({
    metric: 'socketReceiveBufferDrops',
    value: ours.socketDrops.listening + ours.socketDrops.relays,
    unit: 'packets',
    ref: ref.socketDrops.listening + ref.socketDrops.relays,
    listening: ours.socketDrops.listening,
    relays: ours.socketDrops.relays,
    uclient: ours.clientSocketDrops,
  });
  // The machine is shared: the 1-minute load average before and after, for the record.
  emit({ metric: 'loadAverage1m', value: round(loadavg()[0]!), unit: '', atStart: round(load0) });
  if (ours.stats) emit({ metric: 'serverDrops', value: sum(ours.stats.drops as Record<string, number>), unit: 'packets', drops: ours.stats.drops });
  if (ours.uclient.lost > 0) throw new Error(`TURN load lost ${ours.uclient.lost} packets through our server (target: zero)`);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function sum(r: Record<string, number> | undefined): number {
  return Object.values(r ?? {}).reduce((a, b) => a + b, 0);
}
