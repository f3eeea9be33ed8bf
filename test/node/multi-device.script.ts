/**
 * One identity on two devices (run inside a loopback-only namespace by
 * multi-device.test.ts): bob's home is copied, as a user copies their key to a second
 * machine, and both copies run `tincan answer --name bob`; alice calls bob. Both ring and
 * both answer at once; the first answer wins and the other stops with "answered on
 * another device". Prints one JSON line with each process's exit code and result.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { TincanProcess } from '../helpers/tincan-process.ts';

const dir = process.argv[2]!;
const PORT = 46_300;
const SEED = ['--seed', `127.0.0.1:${PORT}`];
const ENV = { TINCAN_POW_BITS: '8' };
const procs: TincanProcess[] = [];

function start(label: string, args: string[], home = label): TincanProcess {
  const p = new TincanProcess(label, [...args, '--home', join(dir, home), '--log-level', 'info'], ENV);
  procs.push(p);
  return p;
}

try {
  const sn = start('sn', ['supernode', '--listen', `127.0.0.1:${PORT}`]);
  await sn.waitLine((l) => l.includes('listening on'), 30_000);
  const id = await start('bob-laptop', ['id']).result(30_000);
  cpSync(join(dir, 'bob-laptop'), join(dir, 'bob-desk'), { recursive: true });
  const laptop = start('bob-laptop', ['answer', '--name', 'bob', ...SEED, '--audio', 'null', '--json']);
  const desk = start('bob-desk', ['answer', '--name', 'bob', ...SEED, '--audio', 'null', '--json']);
  await Promise.all([laptop, desk].map((p) => p.waitLine((l) => l.includes('answering as') || l.startsWith('{'), 30_000).catch(() => '')));
  // Both published (the second merges the first's supernodes into the record).
  await new Promise((r) => setTimeout(r, 3000));
  const call = await start('alice', ['call', 'bob', ...SEED, '--tone', '440', '--duration', '2', '--json']).result<Record<string, unknown>>(60_000);
  const [l, d] = await Promise.all([laptop.result<Record<string, unknown>>(30_000), desk.result<Record<string, unknown>>(30_000)]);
  const tail = (p: TincanProcess) => p.stderr.split('\n').filter((x) => /answered on another device|call ended|"msg":"call (state|ended)/.test(x)).slice(-4);
  console.log(JSON.stringify({ idCode: id.code, call, laptop: { ...l, log: tail(laptop) }, desk: { ...d, log: tail(desk) } }));
} finally {
  await Promise.all(procs.map((p) => p.stop().catch(() => null)));
}
