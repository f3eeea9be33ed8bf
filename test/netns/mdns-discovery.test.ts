/**
 * LAN discovery end to end, with real processes and real multicast: five network
 * namespaces on one bridged LAN (192.168.77.0/24, test/helpers/lan-netns.ts).
 * - a rogue mDNS responder (test/helpers/mdns-rogue.ts): a hint for a port where no
 *   supernode listens, a spoofed A record, an oversized packet;
 * - alice: `tincan node --headless --name alice`, no --seed, empty home, started first:
 *   says she is looking on the LAN; the rogue's hints are dropped or hailed and not trusted;
 * - `tincan supernode --listen 0.0.0.0:4000`, no seeds, started once alice's start-up
 *   queries are over: alice learns of it from its announcement (at its LAN address, not
 *   0.0.0.0), attaches, publishes;
 * - bob: no --seed, started after the supernode (finds it by asking), then looks alice up by name: her record, with her key's fingerprint
 *   (and `tincan lookup alice --seed` the address alice discovered gives the same);
 * - carol: `--no-mdns`, no --seed: finds nothing and says why.
 * Needs root (CI runs as root).
 *
 * Reproduce: `npm test -- mdns-discovery` or `deno task test mdns-discovery`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { canUseNetns } from '../helpers/netns.ts';
import { Lan } from '../helpers/lan-netns.ts';
import { TincanProcess } from '../helpers/tincan-process.ts';
import { scriptCommand } from '../helpers/runtime.ts';
import { fingerprint } from '../../src/identity/fingerprint.ts';

const t = suite('netns: supernodes found on the LAN by mDNS');

let lan: Lan | undefined;
let dir = '';
const procs: TincanProcess[] = [];
let rogue: ChildProcess | undefined;

t.before(() => {
  assert.ok(canUseNetns(), 'network-namespace tests need root and iproute2 (CI installs them)');
  dir = mkdtempSync(join(tmpdir(), 'tincan-mdns-'));
  lan = new Lan();
});
t.after(async () => {
  rogue?.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.stop(2000)));
  lan?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const env = { TINCAN_POW_BITS: '8' };

function start(label: string, ns: string, args: string[]): TincanProcess {
  const p = new TincanProcess(label, [...args, '--home', join(dir, label), '--log-level', 'debug'], env, ns);
  procs.push(p);
  return p;
}

interface Status {
  status: {
    userKey: string;
    role: string;
    supernodes: { id: string; address: { host: string; port: number } }[];
    published?: { seq: number; supernodes: string[] };
    hostCache: number;
  };
}

/** Ask a `--stdin-commands` node for its status. */
async function status(p: TincanProcess): Promise<Status['status']> {
  const from = p.lines.length;
  p.child.stdin!.write('status\n');
  const line = await p.waitLine((l, i) => i >= from && l.startsWith('{"status"'), 10_000);
  return (JSON.parse(line) as Status).status;
}

/** Poll status until `pred` holds. */
async function statusUntil(p: TincanProcess, what: string, pred: (s: Status['status']) => boolean, timeoutMs: number): Promise<Status['status']> {
  const t0 = Date.now();
  for (;;) {
    const s = await status(p);
    if (pred(s)) return s;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${p.label}: ${what} not within ${timeoutMs} ms: ${JSON.stringify(s)}\n${p.stderr.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The JSON log lines of a process with this message. */
function logs(p: TincanProcess, msg: string): Record<string, unknown>[] {
  return p.stderr.split('\n').filter((l) => l.includes(`"msg":"${msg}`)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

t('a node without seeds finds the supernode by mDNS, publishes, and is found by name; --no-mdns finds nothing and says so', async () => {
  const l = lan!;
  const snHost = l.addHost('sn');
  const rogueHost = l.addHost('rogue');
  const aliceHost = l.addHost('alice');
  const bobHost = l.addHost('bob');
  const carolHost = l.addHost('carol');
  // The rogue spoofs an address on the LAN where nothing runs.
  const [rcmd, rargs] = scriptCommand('test/helpers/mdns-rogue.ts', [rogueHost.ip, `${l.subnet}.200`]);
  rogue = spawn('ip', ['netns', 'exec', rogueHost.ns, rcmd, ...rargs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let rogueOut = '';
  rogue.stdout!.setEncoding('utf8').on('data', (d: string) => (rogueOut += d));
  rogue.stderr!.setEncoding('utf8').on('data', (d: string) => (rogueOut += d));
  const rogueT0 = Date.now();
  while (!rogueOut.includes('rogue ready')) {
    if (Date.now() - rogueT0 > 30_000) throw new Error(`rogue responder did not start: ${rogueOut}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.not.ok(existsSync(join(dir, 'alice', 'hosts.json')), 'alice starts with no host cache');

  // alice: no seeds, fresh home, and no supernode yet: she says what she waits for.
  const alice = start('alice', aliceHost.ns, ['node', '--headless', '--name', 'alice', '--stdin-commands']);
  // carol, at the same time: mDNS off.
  const carol = start('carol', carolHost.ns, ['node', '--headless', '--name', 'carol', '--stdin-commands', '--no-mdns']);
  const waiting = await alice.waitLine((x) => x.startsWith('not attached'), 60_000);
  assert.match(waiting, /no --seed, none from the host cache, looking on the LAN \(mDNS\)/);
  // Her start-up queries (0, 1, 3 s) are over before the supernode exists: she can only
  // learn of it from its announcement.
  await new Promise((r) => setTimeout(r, 3500));
  assert.equal((await status(alice)).supernodes, []);

  // The supernode: no seeds, on the wildcard address.
  const sn = start('sn', snHost.ns, ['supernode', '--listen', '0.0.0.0:4000']);
  await sn.waitLine((x) => x.includes('listening on'), 60_000);
  const snUpAt = Date.now();
  const attachedLine = await alice.waitLine((x) => x.startsWith('attached to supernode'), 30_000);
  const attachedMs = Date.now() - snUpAt;
  assert.ok(attachedLine.endsWith(`at ${snHost.ip}:4000`), `alice attached to the supernode's LAN address: ${attachedLine}`);
  const a = await statusUntil(alice, 'published', (s) => s.published !== undefined, 20_000);
  const publishedMs = Date.now() - snUpAt;
  assert.is(a.role, 'leaf');
  assert.equal(a.supernodes.map((s) => s.address), [{ host: snHost.ip, port: 4000 }], 'attached to the supernode only (the rogue is not one)');
  const snSays = sn.lines.find((x) => x.includes('listening on'))!;
  const snId = /supernode ([0-9a-f]+) listening/.exec(snSays)![1]!;
  assert.is(a.supernodes[0]!.id, snId, 'the key behind the discovered address is the supernode\'s');
  assert.equal(a.published!.supernodes, [snId]);

  // What alice heard: the supernode at its LAN address (the supernode listens on 0.0.0.0),
  // and the rogue's hints, dropped or not trusted.
  const heard = logs(alice, 'supernode announced on the LAN').map((x) => x.address);
  assert.ok(heard.includes(`${snHost.ip}:4000`), `heard ${JSON.stringify(heard)}`);
  assert.not.ok(heard.some((h) => String(h).startsWith('0.0.0.0')), 'never the wildcard address');
  assert.not.ok(heard.includes(`${l.subnet}.200:4000`), 'a spoofed A record is not a hint');
  assert.not.ok(heard.includes(`${rogueHost.ip}:4998`), 'an oversized packet is not a hint');
  const dropped = new Set(logs(alice, 'mDNS answer dropped').map((x) => x.reason));
  assert.ok(dropped.has('address-mismatch'), `drops: ${[...dropped].join(', ')}; rogue: ${rogueOut.slice(-300)}`);
  assert.ok(dropped.has('oversize'), `drops: ${[...dropped].join(', ')}`);
  // The rogue's own-address hint was well-formed, so it is heard; the hail finds no supernode there.
  assert.ok(heard.includes(`${rogueHost.ip}:4999`), `the rogue's hint reached alice: ${JSON.stringify(heard)}`);

  // bob, started after the supernode: finds it by asking (or, rarely, while starting up).
  const bobT0 = Date.now();
  const bob = start('bob', bobHost.ns, ['node', '--headless', '--name', 'bob', '--stdin-commands']);
  await bob.waitLine((x) => x.startsWith('attached to supernode') || /attached to [1-9]\d* supernodes/.test(x), 30_000);
  const bobAttachedMs = Date.now() - bobT0;
  assert.ok(logs(bob, 'supernode announced on the LAN').some((x) => x.address === `${snHost.ip}:4000`));
  const from = bob.lines.length;
  bob.child.stdin!.write('lookup alice\n');
  const found = JSON.parse(await bob.waitLine((x, i) => i >= from && x.startsWith('{"lookup"'), 15_000)) as {
    records: { name: string; publicKey: string; fingerprint: string; supernodes: string[] }[];
  };
  assert.is(found.records.length, 1, JSON.stringify(found));
  const rec = found.records[0]!;
  assert.is(rec.name, 'alice');
  assert.is(rec.publicKey, a.userKey);
  assert.is(rec.fingerprint, fingerprint(Uint8Array.from(a.userKey.match(/../g)!.map((h) => parseInt(h, 16)))));
  assert.equal(rec.supernodes, [`${snHost.ip}:4000`]);

  // `tincan lookup alice` through the address alice discovered (from carol's namespace).
  const seen = a.supernodes[0]!.address;
  const looker = start('looker', carolHost.ns, ['lookup', 'alice', '--seed', `${seen.host}:${seen.port}`, '--json']);
  const looked = await looker.result<{ ok: boolean; records: { name: string; fingerprint: string }[] }>(30_000);
  assert.is(looked.code, 0, looker.stderr.slice(-2000));
  assert.equal(looked.json?.records.map((r) => [r.name, r.fingerprint]), [['alice', rec.fingerprint]]);

  // carol: nothing to join through, and she says so.
  const carolSays = await carol.waitLine((x) => x.startsWith('not attached'), 30_000);
  assert.match(carolSays, /no --seed, none from the host cache, and mDNS is off \(--no-mdns\): give --seed HOST:PORT/);
  const c = await status(carol);
  assert.equal(c.supernodes, []);
  assert.is(c.published, undefined);
  assert.is(logs(carol, 'supernode announced on the LAN').length, 0);
  assert.not.ok(carol.lines.some((x) => x.startsWith('attached to supernode')));

  // alice's host cache, written on exit, holds the supernode and not the rogue.
  await alice.stop(5000);
  const cache = readFileSync(join(dir, 'alice', 'hosts.json'), 'utf8');
  assert.ok(cache.includes(`"${snHost.ip}"`) || cache.includes(`${snHost.ip}:4000`), cache.slice(0, 500));
  assert.not.ok(cache.includes(rogueHost.ip), `the rogue is not in alice's host cache: ${cache.slice(0, 500)}`);
  const announced = logs(alice, 'supernode announced on the LAN').find((x) => x.address === `${snHost.ip}:4000`)!;
  const bobHeard = logs(bob, 'supernode announced on the LAN').find((x) => x.address === `${snHost.ip}:4000`)!;
  const bobUp = logs(bob, 'role')[0] ?? logs(bob, 'not attached')[0];
  console.log(JSON.stringify({
    // alice (waiting first): from the supernode's "listening" line to hers "attached", "published".
    announceToAttachedMs: attachedMs,
    announceToPublishedMs: publishedMs,
    heardAfterSupernodeUpMs: (announced.time as number) - snUpAt,
    // bob (started later): spawn to attached; his overlay start to hearing the supernode.
    bobSpawnToAttachedMs: bobAttachedMs,
    ...(bobUp ? { bobStartToHeardMs: (bobHeard.time as number) - (bobUp.time as number) } : {}),
    heard,
    dropped: [...dropped],
  }));
});

t.run();
