/**
 * Commands without `--seed` (run inside a loopback-only namespace by seedless.test.ts):
 * a `tincan supernode` and `tincan echo`; alice runs `tincan node --seed` once, which
 * leaves a host cache in her home; then, with no --seed at all, `tincan lookup` and
 * `tincan call` from her home join through that cache, and `tincan lookup` from an empty
 * home fails with a message that says what to do. Prints one JSON line.
 */
import { join } from 'node:path';
import process from 'node:process';
import { TincanProcess } from '../helpers/tincan-process.ts';

const dir = process.argv[2]!;
const PORT = 46_200;
const SEED = ['--seed', `127.0.0.1:${PORT}`];
const ENV = { TINCAN_POW_BITS: '8' };
const LOG = ['--log-level', 'warn'];
const procs: TincanProcess[] = [];

function start(label: string, args: string[], home = label): TincanProcess {
  const p = new TincanProcess(label, [...args, '--home', join(dir, home), ...LOG], ENV);
  procs.push(p);
  return p;
}

try {
  const sn = start('sn', ['supernode', '--listen', `127.0.0.1:${PORT}`]);
  await sn.waitLine((l) => l.includes('listening on'), 30_000);
  const echo = start('echo', ['echo', '--name', 'echo', ...SEED]);
  await echo.waitLine((l) => l.includes('echo'), 30_000);
  // alice's node, with a seed: it attaches, publishes, and keeps a host cache in her home.
  const alice = start('alice', ['node', '--name', 'alice', ...SEED, '--headless', '--listen', '127.0.0.1:0']);
  await alice.waitLine((l) => l.includes('attached to 1 supernodes'), 30_000);
  await new Promise((r) => setTimeout(r, 2000));
  const aliceExit = await alice.stop();
  const lookup = await start('lookup', ['lookup', 'alice', '--json'], 'alice').result<Record<string, unknown>>(30_000);
  const call = await start('call', ['call', 'echo', '--tone', '440', '--duration', '1', '--json'], 'alice').result<Record<string, unknown>>(60_000);
  const empty = start('empty', ['lookup', 'alice', '--json'], 'nobody');
  const emptyResult = await empty.result<Record<string, unknown>>(30_000);
  console.log(JSON.stringify({ aliceExit, lookup, call, empty: { ...emptyResult, stderr: empty.stderr.slice(-500) } }));
} finally {
  await Promise.all(procs.map((p) => p.stop().catch(() => null)));
}
