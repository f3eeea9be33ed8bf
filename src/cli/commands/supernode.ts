/**
 * `tincan supernode`: volunteer this machine as a supernode.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { COMING, metricsOption, noMdnsOption } from '../common.ts';
import { flag, optional, repeated, required, withDefault } from '../options.ts';
import { failure, success } from '../outcome.ts';
import { hostPort, integer, nonEmpty } from '../values.ts';

/** `tincan supernode --listen HOST:PORT [...]`. */
export const supernodeCommand = defineCommand({
  name: 'supernode',
  summary: 'run a supernode: directory, signaling relay, STUN and TURN',
  description: [
    'Runs until SIGINT or SIGTERM; on shutdown its leaves are told to move first.',
    'Prints "supernode ID listening on HOST:PORT" once joined; with --json, one object at exit:',
    '{"ok":true,"id":HEX,"address":"HOST:PORT","role":"supernode","leaves":N,...}.',
    'With --metrics HOST:PORT, serves Prometheus metrics at GET /metrics (and prints where).',
    'TINCAN_POW_BITS overrides the proof-of-work difficulty (every node of a network must agree).',
  ].join('\n'),
  positionals: [],
  options: {
    listen: required('HOST:PORT', 'UDP address for overlay, STUN and TURN traffic', hostPort({ allowAnyPort: true })),
    http: optional('HOST:PORT', 'serve WHIP/WHEP over HTTP on this address (not available yet: warns and runs without it)', hostPort({ allowAnyPort: true })),
    turnSecret: optional('S', 'shared secret for TURN credentials (like coturn --use-auth-secret)', nonEmpty),
    budgetKbps: withDefault('N', 'upstream bandwidth to volunteer, in kbit/s', integer(1, 10_000_000), 1000),
    maxSessions: withDefault('N', 'most relayed sessions at once', integer(1, 100_000), 100),
    seed: repeated('HOST:PORT', 'another supernode to join', hostPort()),
    noMdns: noMdnsOption,
    metrics: metricsOption,
    allowPrivatePeers: flag('let TURN relay to loopback/private addresses (tests only)'),
    stdinCommands: flag('answer "stored NAME" / "lookup NAME" / "search TEXT" / "status" lines on stdin with JSON lines'),
  },
  examples: ['supernode --listen 0.0.0.0:4000', 'supernode --listen 0.0.0.0:4001 --seed 203.0.113.7:4000 --budget-kbps 5000'],
  async run({ options, global }, ctx) {
    const { identityFor, serveStdinCommands, untilSignal } = await import('./overlay-common.ts');
    const { cliTincanNode } = await import('./call-common.ts');
    const { formatAddress } = await import('../../net/net.ts');
    const identity = await identityFor(global, ctx);
    if (typeof identity === 'string') return failure(identity);
    if (options.http) ctx.log.warn({ http: formatAddress(options.http) }, `--http: WHIP/WHEP is not available yet in this build (${COMING.streaming}); running without it`);
    // The full node: the overlay, with STUN/TURN on the same UDP port.
    const tincan = cliTincanNode(global, ctx, {
      identity,
      listen: options.listen,
      seeds: options.seed ?? [],
      role: 'always',
      budgetKbps: options.budgetKbps,
      maxSessions: options.maxSessions,
      ...(options.noMdns ? { mdns: false } : {}),
      ...(options.turnSecret !== undefined ? { turnSecret: options.turnSecret } : {}),
      ...(options.allowPrivatePeers ? { allowPrivatePeers: true } : {}),
    });
    const node = tincan.overlay;
    const stop = untilSignal(ctx.log);
    // --metrics HOST:PORT (Prometheus), before joining: a busy port fails at once.
    const { openEndpoints } = await import('../../control/endpoints.ts');
    let endpoints;
    try {
      endpoints = await openEndpoints(tincan, { ...(options.metrics ? { metrics: options.metrics } : {}), clock: ctx.io.clock, log: ctx.log });
    } catch (err) {
      await tincan.close();
      return failure(`could not serve --metrics: ${(err as Error).message}`);
    }
    if (!global.json) for (const line of endpoints.describe()) ctx.io.stdout(`${line}\n`);
    try {
      await tincan.start();
    } catch (err) {
      await endpoints.close();
      await tincan.close();
      return failure(`could not start the supernode: ${(err as Error).message}`);
    }
    const snap = node.snapshot();
    const address = formatAddress(snap.address!);
    if (!global.json) ctx.io.stdout(`supernode ${node.id} listening on ${address}\n`);
    ctx.log.info({ id: node.id, address, table: snap.tableSize }, 'supernode running');
    const detachStdin = options.stdinCommands ? await serveStdinCommands(node, ctx) : undefined;
    await stop;
    detachStdin?.();
    await endpoints.close();
    const last = node.snapshot();
    const turn = tincan.turn?.stats();
    await tincan.close();
    return success(
      { id: last.id, address, role: last.role, leaves: last.leaves, tableSize: last.tableSize, storedRecords: last.storedRecords, counters: last.counters, ...(turn ? { turn } : {}) },
      `supernode ${last.id.slice(0, 16)} stopped (${last.leaves} leaves, ${last.storedRecords} records)`,
    );
  },
});
