/**
 * Calls between separate `tincan` processes on 127.0.0.1, run inside a loopback-only
 * namespace (test/node/calls.test.ts and bench/call-setup.bench.ts start it that way):
 * one `tincan supernode` (overlay + STUN/TURN), `tincan echo --name echo`, and callers
 * running `tincan call`.
 *
 * Modes (argv[2]):
 * - `check DIR SPEECH.wav`: `tincan answer --name bob --record` takes a call that plays
 *   SPEECH.wav; a tone call to the echo service; a call to a name no one has. Prints one
 *   JSON line with the results and the similarity of what bob recorded to what was played.
 * - `bench DIR N`: N calls in a row to the echo service, one `tincan call` process each;
 *   prints one JSON line with every call's setupMs (dial to media connected).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { RealClock } from '../../src/clock.ts';
import { WavFileSource } from '../../src/audio/file.ts';
import { warpedSimilarity } from '../helpers/warped-similarity.ts';
import { TincanProcess } from '../helpers/tincan-process.ts';

type Json = Record<string, unknown>;

const [mode, dir, arg] = process.argv.slice(2) as [string, string, string];
const PORT = 46_000;
const SEED = ['--seed', `127.0.0.1:${PORT}`];
const ENV = { TINCAN_POW_BITS: '8' };
const LOG = ['--log-level', process.env.TINCAN_TEST_LOG_LEVEL ?? 'warn'];
const procs: TincanProcess[] = [];

function start(label: string, args: string[]): TincanProcess {
  const p = new TincanProcess(label, [...args, '--home', join(dir, label), ...LOG], ENV);
  procs.push(p);
  return p;
}

/** Run `tincan call ...` to the end; its exit code and JSON object. */
async function call(label: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; json: Json; wallMs: number }> {
  const t0 = Date.now();
  const r = await start(label, ['call', ...args, ...SEED, '--json']).result<Json>(timeoutMs);
  if (!r.json) throw new Error(`${label} printed no JSON (exit ${r.code}): ${procs.at(-1)!.stderr.slice(-2000)}`);
  return { code: r.code, json: r.json, wallMs: Date.now() - t0 };
}

async function pcmOf(path: string): Promise<Int16Array> {
  const src = await WavFileSource.open({ path, clock: new RealClock(), realtime: false });
  const frames: Int16Array[] = [];
  for (let f = await src.read(); f; f = await src.read()) frames.push(f);
  await src.close();
  const out = new Int16Array(frames.length * 960);
  frames.forEach((f, i) => out.set(f, i * 960));
  return out;
}

/**
 * The reference for call setup: two bare werift peer connections in this process,
 * offer/answer handed over directly, from createOffer to both connected (ICE + DTLS on
 * loopback, no overlay, no signaling, no TURN): the floor our setup is compared with.
 */
async function bareWeriftSetupMs(): Promise<number> {
  const { RTCPeerConnection } = await import('werift');
  const make = () => new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false });
  const a = make();
  const b = make();
  const connected = (pc: InstanceType<typeof RTCPeerConnection>) => new Promise<void>((resolve, reject) => {
    pc.connectionStateChange.subscribe((s) => (s === 'connected' ? resolve() : s === 'failed' ? reject(new Error('bare werift: failed')) : undefined));
  });
  const t0 = performance.now();
  a.addTransceiver('audio', { direction: 'sendrecv' });
  const both = Promise.all([connected(a), connected(b)]);
  await a.setLocalDescription(await a.createOffer());
  await waitGathered(a);
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await waitGathered(b);
  await a.setRemoteDescription(b.localDescription!);
  await both;
  const ms = performance.now() - t0;
  await Promise.all([a.close(), b.close()]);
  return ms;
}

async function waitGathered(pc: { iceGatheringState: string; iceGatheringStateChange: { watch(f: (s: string) => boolean): Promise<unknown> } }): Promise<void> {
  if (pc.iceGatheringState !== 'complete') await pc.iceGatheringStateChange.watch((s) => s === 'complete');
}

async function main(): Promise<Json> {
  const sn = start('supernode', ['supernode', '--listen', `127.0.0.1:${PORT}`, '--turn-secret', 'calls-test-secret', '--allow-private-peers']);
  await sn.waitLine((l) => l.startsWith('supernode '), 60_000);
  const echo = start('echo', ['echo', '--name', 'echo', ...SEED]);
  await echo.waitLine((l) => l.includes('ready'), 60_000);

  if (mode === 'bench') {
    const n = Number(arg);
    const calls: Json[] = [];
    for (let i = 0; i < n; i++) {
      const r = await call(`caller${i}`, ['echo', '--tone', '440', '--duration', '1']);
      calls.push({ code: r.code, wallMs: r.wallMs, ...r.json });
    }
    // The same calls from one long-running node (`tincan node --stdin-commands`, "call echo 1"):
    // setup without a process start (what a user of the terminal UI sees).
    const warm = start('warm', ['node', '--name', 'warm', ...SEED, '--listen', '127.0.0.1:0', '--headless', '--stdin-commands', '--audio', 'tone']);
    await warm.waitLine((l) => l.startsWith('node '), 60_000);
    const warmCalls: Json[] = [];
    for (let i = 0; i < n; i++) {
      const before = warm.lines.length;
      warm.child.stdin!.write('call echo 1\n');
      const line = await warm.waitLine((l, i) => i >= before && l.startsWith('{"call"'), 60_000);
      warmCalls.push(JSON.parse(line) as Json);
    }
    const reference: number[] = [];
    for (let i = 0; i < n; i++) reference.push(await bareWeriftSetupMs());
    return { calls, warmCalls, reference };
  }

  const bob = start('bob', ['answer', '--name', 'bob', ...SEED, '--record', join(dir, 'heard.wav'), '--json']);
  // `answer --json` prints only its result: wait until bob is published (a lookup finds it).
  const toBob = await (async () => {
    for (let attempt = 0; ; attempt++) {
      const r = await call(`caller-bob${attempt}`, ['bob', '--play', arg, '--name', 'alice']);
      if (r.json.reason !== 'unreachable' || attempt >= 20) return r;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  const answered = await bob.result<Json>(30_000);
  const reference = await pcmOf(arg);
  const recorded = await pcmOf(join(dir, 'heard.wav'));
  const similarity = warpedSimilarity(reference, recorded);
  const toEcho = await call('caller-echo', ['echo', '--tone', '440', '--duration', '2']);
  const toNobody = await call('caller-nobody', ['nobody', '--tone', '440', '--duration', '1']);
  // A long-running node that answers by itself.
  const carol = start('carol', ['node', '--name', 'carol', ...SEED, '--listen', '127.0.0.1:0', '--headless', '--auto-answer', '--audio', 'null']);
  await carol.waitLine((l) => l.startsWith('node '), 60_000);
  const toCarol = await call('caller-carol', ['carol', '--tone', '440', '--duration', '2']);
  await carol.waitLine((l) => / ended: hangup$/.test(l), 10_000).catch(() => undefined);
  await carol.stop();
  const echoStop = await echo.stop();
  return {
    toBob: { code: toBob.code, ...toBob.json },
    answered: { code: answered.code, ...answered.json },
    similarity,
    referenceMs: reference.length / 48,
    recordedMs: recorded.length / 48,
    toEcho: { code: toEcho.code, ...toEcho.json },
    toNobody: { code: toNobody.code, ...toNobody.json },
    toCarol: { code: toCarol.code, ...toCarol.json },
    carolSaid: carol.lines,
    echoExit: echoStop,
    echoJson: echo.lines.at(-1),
  };
}

try {
  console.log(JSON.stringify(await main()));
} catch (err) {
  for (const p of procs) console.error(`--- ${p.label} stderr:\n${p.stderr.slice(-1500)}`);
  throw err;
} finally {
  await Promise.all(procs.map((p) => p.stop()));
  // Each process's last stderr, for a failing run.
  await Promise.all(procs.map((p) => writeFile(join(dir, `${p.label}.stderr`), p.stderr).catch(() => {})));
}
process.exit(0);
