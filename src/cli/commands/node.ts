/**
 * `tincan node`: a long-running node that joins the network and takes calls.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { audioOption, echoOption, listenOption, metricsOption, micDeviceOption, nameOption, noMdnsOption, optionalSeedOption, speakerDeviceOption } from '../common.ts';
import { flag, optional, withDefault } from '../options.ts';
import { failure, success } from '../outcome.ts';
import { integer, nonEmpty, oneOf } from '../values.ts';

/** Values of `--supernode`. */
export const SUPERNODE_MODES = ['auto', 'always', 'never'] as const;

/** `tincan node --name N --seed HOST:PORT [...]`. */
export const nodeCommand = defineCommand({
  name: 'node',
  summary: 'run a node that joins the network, publishes its name and takes calls',
  description: [
    'Runs until SIGINT or SIGTERM. Prints "node ID (ROLE) on HOST:PORT, attached to N supernodes"',
    'once joined, and every role change with its reason and score. With --json, one object at exit.',
    'Without --seed it joins through the host cache in --home and supernodes found on the LAN (mDNS;',
    'off with --no-mdns or on a loopback address); until one accepts it says what it is waiting for.',
    'With --stdin-commands, reads lines "lookup NAME", "search TEXT", "status" or "call NAME [SECONDS]" on stdin and',
    'answers each with one JSON line on stdout (for scripts and tests).',
    'With --control SOCKET, serves JSON-RPC 2.0 (one object per line: status, lookup {name}, search {text},',
    'call {name, seconds?}, hangup {callId?}, calls) on a Unix socket only its owner may use; with',
    '--metrics HOST:PORT, Prometheus metrics at GET /metrics. Each prints where it listens.',
  ].join('\n'),
  positionals: [],
  options: {
    name: nameOption,
    seed: optionalSeedOption,
    noMdns: noMdnsOption,
    listen: listenOption,
    supernode: withDefault('MODE', 'supernode role: auto (when elected), always, never', oneOf(SUPERNODE_MODES), 'auto' as (typeof SUPERNODE_MODES)[number]),
    budgetKbps: withDefault('N', 'upstream to volunteer if elected supernode, in kbit/s', integer(1, 10_000_000), 1000),
    maxSessions: withDefault('N', 'most leaves if elected supernode', integer(1, 100_000), 100),
    headless: flag('run without the terminal UI (implied when not on a terminal)'),
    stdinCommands: flag('answer "lookup NAME" / "search TEXT" / "status" / "call NAME [S]" lines on stdin with JSON lines'),
    control: optional('SOCKET', 'serve the JSON-RPC control API on this Unix socket', nonEmpty),
    metrics: metricsOption,
    autoAnswer: flag('answer incoming calls automatically'),
    echo: echoOption,
    audio: audioOption,
    mic: micDeviceOption,
    speaker: speakerDeviceOption,
  },
  groups: [{ options: ['autoAnswer', 'echo'], required: false }],
  examples: ['node --name alice --seed 203.0.113.7:4000 --headless'],
  async run({ options, global }, outer) {
    const { identityFor, isLoopback, serveStdinCommands, untilSignal } = await import('./overlay-common.ts');
    const { callAudio, callResult, cliTincanNode, placeCall } = await import('./call-common.ts');
    const { formatAddress } = await import('../../net/net.ts');
    // The terminal UI when on a terminal (and not scripted): logs then go to a file.
    const ui = !options.headless && !options.stdinCommands && !global.json && outer.io.isTTY;
    const ctx = ui ? await (await import('./terminal-ui.ts')).uiContext(global, outer, 'node') : outer;
    const identity = await identityFor(global, ctx);
    if (typeof identity === 'string') return failure(identity);
    const listen = options.listen ?? { host: '0.0.0.0', port: 0 };
    const tincan = cliTincanNode(global, ctx, {
      identity,
      listen,
      seeds: options.seed,
      role: options.supernode,
      name: options.name,
      budgetKbps: options.budgetKbps,
      maxSessions: options.maxSessions,
      ...(options.noMdns ? { mdns: false } : {}),
      // Sound for the calls it places (UI, `call` lines) and answers; none for the echo service.
      ...(options.echo ? { echo: true } : { audio: callAudio(options) }),
      ...(options.autoAnswer ? { autoAnswer: true } : {}),
    });
    const node = tincan.overlay;
    const say = (line: string) => {
      if (!global.json && !ui) ctx.io.stdout(`${line}\n`);
    };
    node.on('role', (e) => say(`role ${e.role}: ${e.reason} (score ${e.score})`));
    tincan.on('incoming', (c) => say(`incoming call from ${c.remoteName ?? c.remoteKey.slice(0, 16)}`));
    tincan.on('connected', (e) => say(`call ${e.callId.slice(0, 8)} connected in ${e.setupMs} ms`));
    tincan.on('call', (c) => {
      if (c.state === 'ended') say(`call ${c.callId.slice(0, 8)} ended: ${c.reason}`);
    });
    const stop = untilSignal(ctx.log);
    // Place a call, keep it up `durationS`, hang up: `call --json`'s object (stdin `call` lines, control API).
    const runCall = (name: string, durationS: number): Promise<Record<string, unknown>> =>
      placeCall(tincan, name, ctx.io.clock, { durationS, stop }).then(
        (r) => ({ call: name, ok: r.ok, ...callResult(r.setupMs, r.stats), ...(r.reason ? { reason: r.reason } : {}), ...(r.error ? { error: r.error } : {}) }),
        (err: Error) => ({ call: name, ok: false, error: err.message }),
      );
    // --control SOCKET (JSON-RPC) and --metrics HOST:PORT (Prometheus), before joining:
    // a bad path or a busy port fails at once, and a scrape shows the node while it joins.
    const { openEndpoints } = await import('../../control/endpoints.ts');
    let endpoints;
    try {
      endpoints = await openEndpoints(tincan, { ...(options.control ? { control: options.control } : {}), ...(options.metrics ? { metrics: options.metrics } : {}), clock: ctx.io.clock, log: ctx.log, placeCall: runCall });
    } catch (err) {
      await tincan.close();
      return failure(`could not serve ${[options.control ? '--control' : '', options.metrics ? '--metrics' : ''].filter(Boolean).join('/')}: ${(err as Error).message}`);
    }
    for (const line of endpoints.describe()) say(line);
    try {
      await tincan.start();
    } catch (err) {
      await endpoints.close();
      await tincan.close();
      return failure(`could not start the node: ${(err as Error).message}`);
    }
    const snap = node.snapshot();
    say(`node ${node.id} (${snap.role}) on ${formatAddress(snap.address!)}, attached to ${snap.supernodes.length} supernodes`);
    if (snap.role === 'leaf' && snap.supernodes.length === 0) {
      // Say why, and what it waits for; the first attachment is announced.
      const mdns = !options.noMdns && !isLoopback(listen.host);
      const why = `not attached to any supernode: ${options.seed.length > 0 ? 'no seed accepted' : 'no --seed'}, none from the host cache, ` +
        (mdns ? 'looking on the LAN (mDNS)' : `and mDNS is off (${options.noMdns ? '--no-mdns' : 'loopback address'}): give --seed HOST:PORT`);
      say(why);
      ctx.log.warn({ seeds: options.seed.length, mdns }, why);
      const off = node.on('attached', (e) => {
        off();
        const s = node.snapshot().supernodes.find((x) => x.id === e.supernode);
        say(`attached to supernode ${e.supernode.slice(0, 16)}${s ? ` at ${formatAddress(s.address)}` : ''}`);
      });
    }
    // `call NAME [SECONDS]`: place a call (default 5 s) and answer with `call --json`'s object.
    const callLine = (cmd: string, arg: string, reply: (o: unknown) => void): boolean => {
      if (cmd !== 'call' || !arg) return false;
      const [name = '', seconds] = arg.split(/\s+/);
      void runCall(name, Math.min(3600, Math.max(0.1, Number(seconds ?? 5) || 5))).then(reply);
      return true;
    };
    const detachStdin = options.stdinCommands ? await serveStdinCommands(node, ctx, callLine) : undefined;
    if (ui) await (await import('./terminal-ui.ts')).showUi(tincan, ctx, stop);
    else await stop;
    detachStdin?.();
    await endpoints.close();
    const last = node.snapshot();
    const echoed = tincan.echoStats();
    await tincan.close();
    return success(
      { id: last.id, address: last.address ? formatAddress(last.address) : null, role: last.role, roleReason: last.roleReason, score: last.score, supernodes: last.supernodes.map((s) => formatAddress(s.address)), counters: last.counters, ...(options.echo ? { echo: echoed } : {}) },
      `node stopped (${last.role})`,
    );
  },
});
