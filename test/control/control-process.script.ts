/**
 * Driver for control-process.test.ts, run inside a loopback-only namespace: separate
 * `tincan` processes — `supernode --metrics`, `echo --name echo`, and `node --name alice
 * --control SOCK --metrics` — then scrapes both metrics endpoints and talks JSON-RPC to
 * alice's socket (status, lookup, a real 1 s call to the echo service), stops alice and
 * checks the socket and port are gone. Prints one JSON line with what it saw.
 *
 * Usage: control-process.script.ts DIR
 */
import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import process from 'node:process';
import { TincanProcess } from '../helpers/tincan-process.ts';
import { ControlClient } from './control-client.ts';

const dir = process.argv[2]!;
const PORT = 46_300;
const SN_METRICS = PORT + 1;
const ALICE_METRICS = PORT + 2;
const SEED = ['--seed', `127.0.0.1:${PORT}`];
const ENV = { TINCAN_POW_BITS: '8' };
const LOG = ['--log-level', process.env.TINCAN_TEST_LOG_LEVEL ?? 'warn'];
const procs: TincanProcess[] = [];

function start(label: string, args: string[]): TincanProcess {
  const p = new TincanProcess(label, [...args, '--home', join(dir, label), ...LOG], ENV);
  procs.push(p);
  return p;
}

function scrape(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The lines of a scrape for the given metric names (all their series). */
function pick(text: string, names: string[]): string[] {
  return text.split('\n').filter((l) => names.some((n) => l.startsWith(`${n} `) || l.startsWith(`${n}{`)));
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function main(): Promise<Record<string, unknown>> {
  const sn = start('supernode', ['supernode', '--listen', `127.0.0.1:${PORT}`, '--metrics', `127.0.0.1:${SN_METRICS}`, '--turn-secret', 'control-test', '--allow-private-peers']);
  await sn.waitLine((l) => l.startsWith('supernode '), 60_000);
  const echo = start('echo', ['echo', '--name', 'echo', ...SEED]);
  await echo.waitLine((l) => l.includes('ready'), 60_000);
  const sock = join(dir, 'alice.sock');
  const alice = start('alice', ['node', '--name', 'alice', ...SEED, '--listen', '127.0.0.1:0', '--headless', '--audio', 'tone', '--control', sock, '--metrics', `127.0.0.1:${ALICE_METRICS}`]);
  await alice.waitLine((l) => l.startsWith('node '), 60_000);
  const socketMode = (lstatSync(sock).mode & 0o777).toString(8);

  const aliceScrape = await scrape(ALICE_METRICS);
  const client = await ControlClient.connect(sock);
  const status = await client.request('status');
  // The echo service publishes its record shortly after it says ready.
  let lookup;
  for (let i = 0; i < 40; i++) {
    lookup = await client.request('lookup', { name: 'echo' });
    if (lookup.result?.records?.length > 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const badParams = await client.request('lookup', { name: 7 });
  const call = await client.request('call', { name: 'echo', seconds: 1 }, 60_000);
  const calls = await client.request('calls');
  const aliceAfter = await scrape(ALICE_METRICS);
  const snScrape = await scrape(SN_METRICS);
  await client.close();

  // Bad endpoints fail at once, before joining: a path that is a file, a port in use.
  writeFileSync(join(dir, 'not-a-socket'), 'keep me');
  const badControl = await start('bad-control', ['node', '--name', 'carol', ...SEED, '--listen', '127.0.0.1:0', '--headless', '--audio', 'null', '--control', join(dir, 'not-a-socket'), '--json']).result(30_000);
  const busyMetrics = await start('busy-metrics', ['supernode', '--listen', `127.0.0.1:${PORT + 10}`, '--metrics', `127.0.0.1:${SN_METRICS}`, '--json']).result(30_000);

  await alice.stop();
  const aliceExited = alice.child.exitCode !== null || alice.child.signalCode !== null;
  const socketLeft = existsSync(sock);
  const metricsPortOpen = await portOpen(ALICE_METRICS);
  await echo.stop();
  await sn.stop();
  return {
    socketMode,
    aliceLines: alice.lines,
    aliceScrape: { status: aliceScrape.status, lines: pick(aliceScrape.body, ['tincan_overlay_attached_supernodes', 'tincan_overlay_role', 'tincan_node_info', 'process_cpu_seconds_total']) },
    status: status.result ?? status.error,
    lookup: lookup?.result ?? lookup?.error,
    badParams: badParams.error,
    call: call.result ?? call.error,
    calls: calls.result ?? calls.error,
    aliceAfter: pick(aliceAfter.body, ['tincan_overlay_lookups_total', 'tincan_calls']),
    snScrape: { status: snScrape.status, lines: pick(snScrape.body, ['tincan_overlay_leaves', 'tincan_overlay_role', 'tincan_turn_enabled', 'tincan_overlay_stored_records', 'tincan_turn_allocations_created_total']) },
    badControl,
    notASocket: readFileSync(join(dir, 'not-a-socket'), 'utf8'),
    busyMetrics,
    aliceExited,
    socketLeft,
    metricsPortOpen,
    snId: sn.lines.find((l) => l.startsWith('supernode '))?.split(' ')[1],
  };
}

try {
  console.log(JSON.stringify(await main()));
} catch (err) {
  console.error(String((err as Error).stack ?? err));
  for (const p of procs) console.error(`--- ${p.label} stderr:\n${p.stderr.slice(-2000)}`);
  process.exitCode = 1;
} finally {
  await Promise.all(procs.map((p) => p.stop(2000).catch(() => {})));
}
