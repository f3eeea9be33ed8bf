/**
 * What the overlay commands (`supernode`, `node`, `lookup`, `search`) share: building an
 * OverlayNode from the command line, waiting for SIGINT/SIGTERM, and the temporary leaf
 * that `lookup` and `search` join as.
 *
 * Loaded only by those commands' `run` (it pulls in the overlay and wire code).
 *
 * @module
 */
import process from 'node:process';
import { join } from 'node:path';
import { hostname, loadavg, cpus, networkInterfaces } from 'node:os';
import type { Address } from '../../net/net.ts';
import type { Clock } from '../../clock.ts';
import { UdpNet } from '../../net/udp.ts';
import type { Logger } from '../../log.ts';
import { KeyStoreError, loadOrCreateIdentity } from '../../identity/keystore.ts';
import type { Identity } from '../../identity/identity.ts';
import { type OverlayInit, OverlayNode } from '../../overlay/overlay-node.ts';
import type { ElectionPolicy } from '../../overlay/election.ts';
import { multicastDnsDiscovery } from '../../overlay/mdns.ts';
import type { CommandContext } from '../command.ts';
import type { GlobalSettings } from '../global.ts';

/** True for 127.0.0.0/8 and ::1: a loopback overlay is a local test network. */
export function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1';
}

/** Load (or create) the identity in `--home`; a KeyStoreError becomes a message. */
export async function identityFor(global: GlobalSettings, ctx: CommandContext): Promise<Identity | string> {
  try {
    return (await loadOrCreateIdentity(global.home, { random: ctx.io.random, clock: ctx.io.clock })).identity;
  } catch (err) {
    if (err instanceof KeyStoreError) return err.message;
    throw err;
  }
}

/** CPU headroom from the load average: 1 idle, 0 saturated. */
export function cpuHeadroom(): number {
  const n = Math.max(1, cpus().length);
  return Math.max(0, Math.min(1, 1 - loadavg()[0]! / n));
}

/** The IP addresses of this machine's interfaces (the election's NAT check). */
export function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** The election settings `TINCAN_ELECTION` may override (for tests and experiments). */
const ELECTION_KEYS = ['roundMs', 'cpuHeadroom', 'threshold', 'fullUpstreamKbps', 'fullUptimeMs', 'minSupernodes', 'promoteAfterRounds', 'promoteChance', 'shedAbovePct'] as const;

/**
 * Election overrides from `TINCAN_ELECTION`, a JSON object such as
 * `{"roundMs":3000,"fullUptimeMs":10000}` (`roundMs`: time between election rounds,
 * default 60 s; `cpuHeadroom`: a fixed CPU headroom 0..1 instead of the load average's,
 * for tests on a busy machine; the others as in ElectionPolicy). Unknown keys or values
 * that are not non-negative numbers are refused with a warning, and the defaults apply.
 */
export function electionOverrides(env: Record<string, string | undefined>, log: Logger): { roundMs?: number; cpuHeadroom?: number; policy: Partial<ElectionPolicy> } {
  const text = env.TINCAN_ELECTION;
  if (text === undefined || text === '') return { policy: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const entries = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.entries(parsed) : undefined;
  const bad = entries === undefined || entries.some(([k, v]) => !(ELECTION_KEYS as readonly string[]).includes(k) || typeof v !== 'number' || !Number.isFinite(v) || v < 0);
  if (bad) {
    log.warn({ TINCAN_ELECTION: text.slice(0, 200), keys: ELECTION_KEYS }, 'TINCAN_ELECTION ignored: expected a JSON object of non-negative numbers with these keys');
    return { policy: {} };
  }
  const { roundMs, cpuHeadroom, ...policy } = Object.fromEntries(entries) as Partial<Record<(typeof ELECTION_KEYS)[number], number>>;
  if (policy.promoteChance !== undefined) policy.promoteChance = Math.min(1, policy.promoteChance);
  return {
    ...(roundMs !== undefined ? { roundMs: Math.max(1000, roundMs) } : {}),
    ...(cpuHeadroom !== undefined ? { cpuHeadroom: Math.min(1, cpuHeadroom) } : {}),
    policy,
  };
}

/** Options shared by the overlay commands. */
export interface OverlayCliOptions {
  listen: Address;
  seeds: readonly Address[];
  role: OverlayInit['role'];
  name?: string;
  budgetKbps?: number;
  maxSessions?: number;
  /** Use the host cache file in home (default true). */
  hostCache?: boolean;
  /** Use mDNS (default true unless the listen address is loopback). */
  mdns?: boolean;
}

/** The overlay settings the command line asks for (shared by every command that joins). */
export function cliOverlayInit(global: GlobalSettings | undefined, ctx: CommandContext, o: OverlayCliOptions): OverlayInit {
  const loopback = isLoopback(o.listen.host);
  const pow = ctx.io.env.TINCAN_POW_BITS !== undefined ? Number(ctx.io.env.TINCAN_POW_BITS) : undefined;
  const mdns = o.mdns ?? !loopback;
  const election = electionOverrides(ctx.io.env, ctx.log);
  return {
    listen: o.listen,
    seeds: o.seeds,
    role: o.role,
    device: deviceName(ctx.io.random),
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.budgetKbps !== undefined ? { budgetKbps: o.budgetKbps } : {}),
    ...(o.maxSessions !== undefined ? { maxSessions: o.maxSessions } : {}),
    ...(pow !== undefined && Number.isInteger(pow) ? { powDifficulty: pow } : {}),
    ...(global && o.hostCache !== false ? { hostCachePath: join(global.home, 'hosts.json') } : {}),
    ...(mdns ? { lan: multicastDnsDiscovery({ log: ctx.log, clock: ctx.io.clock }) } : {}),
    // Many nodes on 127.0.0.1 share one /24: lift the per-prefix caps there.
    ...(loopback ? { maxPerPrefix: 1000, hostCachePerPrefix: 200 } : {}),
    probes: { cpuHeadroom: election.cpuHeadroom !== undefined ? () => election.cpuHeadroom! : cpuHeadroom, localAddresses },
    ...(election.roundMs !== undefined ? { electionMs: election.roundMs } : {}),
    ...(Object.keys(election.policy).length > 0 ? { election: election.policy } : {}),
  };
}

/** Build (not start) an OverlayNode for the command line. */
export function cliOverlayNode(global: GlobalSettings, ctx: CommandContext, identity: Identity, o: OverlayCliOptions): OverlayNode {
  return new OverlayNode({ clock: ctx.io.clock, random: ctx.io.random, net: new UdpNet(), log: ctx.log, identity }, cliOverlayInit(global, ctx, o));
}

/** Resolve on the first SIGINT or SIGTERM (then remove the handlers). */
export function untilSignal(log: Logger): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      log.info({ signal: sig }, 'shutting down');
      resolve(sig);
    };
    const onInt = () => on('SIGINT');
    const onTerm = () => on('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

/**
 * This run's device name: the host name and a random suffix. Several devices may run one
 * identity (a copied --home): each must have its own name, or a call that rings them all
 * cannot tell which one answered.
 */
export function deviceName(random: { bytes(n: number): Uint8Array }): string {
  const host = (() => {
    try {
      return hostname().replace(/[^A-Za-z0-9._-]/g, '').slice(0, 40);
    } catch {
      return '';
    }
  })() || 'device';
  const suffix = [...random.bytes(3)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${host}-${suffix}`;
}

/** The first non-internal IPv4 address of this machine, if any. */
export function firstPublicIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

/**
 * Where a command's node listens unless told: 127.0.0.1 when every seed is on loopback, or
 * when there are no seeds and the machine has no other interface (a loopback-only test
 * namespace: the host cache can only hold loopback supernodes); otherwise 0.0.0.0.
 */
export function defaultListenHost(seeds: readonly Address[]): string {
  if (seeds.length > 0) return seeds.every((s) => isLoopback(s.host)) ? '127.0.0.1' : '0.0.0.0';
  return firstPublicIPv4() === undefined ? '127.0.0.1' : '0.0.0.0';
}

/** How long a command without --seed waits for the host cache or mDNS to give a supernode. */
export const DISCOVERY_WAIT_MS = 3000;

/**
 * After `start()`: resolve undefined once the node is attached to a supernode, or a
 * message saying why not. With seeds, the first join attempt decides; without, the node
 * waits up to {@link DISCOVERY_WAIT_MS} for the host cache or mDNS to find one.
 */
export async function awaitSupernode(node: OverlayNode, o: { seeds: readonly Address[]; clock: Pick<Clock, 'setTimeout'> }): Promise<string | undefined> {
  if (node.snapshot().supernodes.length > 0) return undefined;
  if (o.seeds.length > 0) return 'no supernode accepted us (are the seeds running?)';
  await new Promise<void>((resolve) => {
    const timer = o.clock.setTimeout(() => {
      off();
      resolve();
    }, DISCOVERY_WAIT_MS);
    const off = node.on('attached', () => {
      timer.cancel();
      off();
      resolve();
    });
  });
  const snap = node.snapshot();
  if (snap.supernodes.length > 0) return undefined;
  const lan = snap.lan !== undefined ? `none on the LAN (mDNS) within ${DISCOVERY_WAIT_MS / 1000} s` : 'mDNS is off (loopback only)';
  return `no supernode found: no --seed, none from the host cache answered, and ${lan}: give --seed HOST:PORT`;
}

/**
 * Join as a temporary leaf (no name; through the seeds, or without them the host cache
 * and mDNS), run `fn`, close. Fails if no supernode accepted us.
 */
export async function withTemporaryLeaf<T>(global: GlobalSettings, ctx: CommandContext, identity: Identity, seeds: readonly Address[], fn: (node: OverlayNode) => Promise<T>): Promise<T> {
  const host = defaultListenHost(seeds);
  const node = cliOverlayNode(global, ctx, identity, {
    listen: { host, port: 0 },
    seeds,
    role: 'never',
    mdns: seeds.length === 0 && !isLoopback(host),
  });
  try {
    await node.start();
    const why = await awaitSupernode(node, { seeds, clock: ctx.io.clock });
    if (why) throw new Error(why);
    return await fn(node);
  } finally {
    await node.close();
  }
}

/**
 * The `--stdin-commands` line protocol (scripts and tests): each line is one of
 * `lookup NAME`, `search TEXT`, `status`, `stored NAME` (supernodes: publishers of NAME
 * held here); each gets one JSON line on stdout. Returns a function that stops reading.
 */
export async function serveStdinCommands(
  node: OverlayNode,
  ctx: CommandContext,
  /** More commands (e.g. `call NAME`): return true when the line was handled. */
  extra?: (cmd: string, arg: string, reply: (o: unknown) => void) => boolean,
): Promise<() => void> {
  const { createInterface } = await import('node:readline');
  const { nameKey } = await import('../../overlay/presence-record.ts');
  const rl = createInterface({ input: process.stdin });
  const reply = (o: unknown) => ctx.io.stdout(`${JSON.stringify(o)}\n`);
  rl.on('line', (line) => {
    const [cmd, ...rest] = line.trim().split(/\s+/);
    const arg = rest.join(' ');
    if (cmd === 'lookup' && arg) {
      node.lookup(arg).then((r) => reply({ lookup: arg, records: OverlayNode.describe(r) }), (e) => reply({ lookup: arg, error: String(e) }));
    } else if (cmd === 'search' && arg) {
      node.searchNames(arg).then((r) => reply({ search: arg, results: r }), (e) => reply({ search: arg, error: String(e) }));
    } else if (cmd === 'stored' && arg) {
      reply({ stored: arg, publishers: node.storedRecords(nameKey(arg)).map((r) => r.publicKey) });
    } else if (cmd === 'status') {
      reply({ status: node.snapshot() });
    } else if (cmd && extra?.(cmd, arg, reply)) {
      // handled by the command's own additions
    } else if (cmd) {
      reply({ error: `unknown command "${cmd.slice(0, 32)}" (lookup NAME, search TEXT, stored NAME, status)` });
    }
  });
  return () => rl.close();
}
