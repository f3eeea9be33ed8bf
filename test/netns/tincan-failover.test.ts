/**
 * The whole stack through NATs: two `tincan supernode` processes on public hosts, and
 * two leaves behind symmetric NATs (so the call must relay through a supernode's TURN):
 * `tincan answer --name bob --record` and `tincan call bob --tone 440`. Mid-call the
 * supernode the caller relays through is SIGKILLed; the call must come back through the
 * other one: the caller logs the new relayed path, and bob's recording of the tone has
 * no gap longer than 5 s. Signaling (offer, answer, the restart offer) goes through the
 * overlay; the relays are the supernodes' own TURN servers with credentials they hand
 * their leaves. Needs root (CI runs as root).
 *
 * Reproduce: `npm test -- tincan-failover` or `deno task test tincan-failover`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatLab, canUseNetns, type LabHost } from '../helpers/netns.ts';
import { type NetnsTincan, startTincanIn, untilOutput } from '../helpers/netns-tincan.ts';
import { readWav } from '../../codecs/wav.ts';

const failover = suite('netns: a relayed tincan call survives the death of its relaying supernode');

let lab: NatLab;
let dir = '';

failover.before(() => {
  assert.ok(canUseNetns(), 'network-namespace tests need root, iproute2 and nftables (CI installs them)');
  dir = mkdtempSync(join(tmpdir(), 'tincan-e2e-failover-'));
  lab = new NatLab();
});
failover.after(() => {
  lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Proc = NetnsTincan;
const start = (host: LabHost, label: string, args: string[]): Proc => startTincanIn(lab, host, { home: join(dir, label) }, args);
const until = untilOutput;

/** The caller's "call path" log lines: {path, via, time}. */
function pathLines(p: Proc): { path: string; via: string | null; time: number }[] {
  return p.err.split('\n').filter((l) => l.includes('"msg":"call path"')).map((l) => JSON.parse(l) as { path: string; via: string | null; time: number });
}

/** Longest run (ms) of 20 ms frames whose RMS is under `floor`, between `fromMs` and `toMs` of the recording. */
function longestGapMs(pcm: Float32Array, rate: number, fromMs: number, toMs: number, floor: number): number {
  const frame = Math.round(rate / 50);
  let run = 0;
  let longest = 0;
  for (let i = Math.floor((fromMs / 1000) * rate); i + frame <= Math.min(pcm.length, (toMs / 1000) * rate); i += frame) {
    let sum = 0;
    for (let j = i; j < i + frame; j++) sum += pcm[j]! * pcm[j]!;
    if (Math.sqrt(sum / frame) < floor) longest = Math.max(longest, (run += 20));
    else run = 0;
  }
  return longest;
}

failover('symmetric NAT to symmetric NAT through supernode TURN; SIGKILL the relay; the call recovers within 5 s', async () => {
  const sn1 = lab.addPublicHost('sn1');
  const sn2 = lab.addPublicHost('sn2');
  const alice = lab.addSite('alice', 'symmetric');
  const bob = lab.addSite('bob', 'symmetric');
  const secret = ['--turn-secret', 'tincan-failover-secret', '--allow-private-peers'];
  const log = ['--log-level', 'info'];
  const s1 = start(sn1, 'sn1', ['supernode', '--listen', `${sn1.ip}:4000`, ...secret, ...log]);
  await until('sn1 up', s1, () => s1.out.includes('listening on'), 60_000);
  const s2 = start(sn2, 'sn2', ['supernode', '--listen', `${sn2.ip}:4000`, '--seed', `${sn1.ip}:4000`, ...secret, ...log]);
  await until('sn2 up', s2, () => s2.out.includes('listening on'), 60_000);
  const seeds = ['--seed', `${sn1.ip}:4000`, '--seed', `${sn2.ip}:4000`];
  const heard = join(dir, 'heard.wav');
  const b = start(bob, 'bob', ['answer', '--name', 'bob', ...seeds, '--record', heard, ...log]);
  await until('bob answering', b, () => b.out.includes('answering as bob'), 60_000);
  // Both leaves attached to both supernodes (so both have TURN at both).
  await new Promise((r) => setTimeout(r, 3000));
  const a = start(alice, 'alice', ['call', 'bob', ...seeds, '--tone', '440', '--duration', '22', '--name', 'alice', '--json', ...log]);
  await until('call relayed', a, () => pathLines(a).some((l) => l.path === 'relay'), 60_000);
  const first = pathLines(a).find((l) => l.path === 'relay')!;
  const relayHost = first.via!.split(':')[0]!;
  const victim = relayHost === sn1.ip ? s1 : relayHost === sn2.ip ? s2 : undefined;
  assert.ok(victim, `the call relays through a supernode (via ${first.via})`);
  await new Promise((r) => setTimeout(r, 4000));
  const killedAt = Date.now();
  victim!.child.kill('SIGKILL');
  const other = victim === s1 ? sn2.ip : sn1.ip;
  try {
    await until('relayed through the other supernode', a, () => pathLines(a).some((l) => l.time > killedAt && l.path !== 'none' && l.via?.split(':')[0] !== relayHost), 20_000);
  } catch (err) {
    // The callee's side of the restart tells why it did not come back.
    throw new Error(`${(err as Error).message}\ncallee (bob) stderr:\n${b.err.slice(-6000)}`);
  }
  const back = pathLines(a).find((l) => l.time > killedAt && l.path !== 'none' && l.via?.split(':')[0] !== relayHost)!;
  const aCode = await Promise.race([a.exited, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
  const bCode = await Promise.race([b.exited, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
  const result = JSON.parse(a.out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  const wav = readWav(new Uint8Array(readFileSync(heard)));
  const pcm = wav.channels[0]!;
  const rate = wav.sampleRate;
  const recordedMs = (pcm.length / rate) * 1000;
  // Bob's recording runs from his answer; the kill fell about 4 s after the relayed path
  // was first seen. Look from 2 s in to 2 s before the end (the start and end of a call
  // are not what this checks).
  const gapMs = longestGapMs(pcm, rate, 2000, recordedMs - 2000, 0.01);
  console.log(JSON.stringify({ firstPath: first, afterKill: back, recoveredInMs: back.time - killedAt, longestGapMs: gapMs, recordedMs: Math.round(recordedMs), result }));
  assert.is(aCode, 0, `caller exit; stderr:\n${a.err.slice(-2000)}`);
  assert.is(bCode, 0, `callee exit; stderr:\n${b.err.slice(-2000)}`);
  assert.is(result.ok, true);
  assert.ok(back.via === null || back.via.split(':')[0] === other, `after the kill the call relays via ${back.via}, expected ${other}`);
  assert.ok(recordedMs > 15_000, `recorded ${recordedMs} ms`);
  const restartLines = (p: Proc) => p.err.split('\n').filter((l) => /restart|path dead|supernode silent|call path/.test(l)).join('\n');
  assert.ok(gapMs <= 5000, `longest silence in the recording ${gapMs} ms\ncaller:\n${restartLines(a)}\ncallee:\n${restartLines(b)}`);
  assert.ok(gapMs >= 200, `the kill is visible in the recording (${gapMs} ms): the test really cut the relayed path`);
});

failover.run();
