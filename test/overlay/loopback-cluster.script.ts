/**
 * Driver for loopback-cluster.test.ts, run inside a loopback-only network namespace:
 * spawns 3 `tincan supernode` and 20 `tincan node --headless` processes on 127.0.0.1
 * (the binary on the current runtime), has every leaf look every other up by name
 * (through `--stdin-commands`), SIGKILLs one supernode, measures per leaf how long it
 * takes to drop it and republish its record naming the live ones, checks that the live supernodes still hold every leaf's record, and prints
 * one JSON line with the figures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { REPO_ROOT, tincanCommand } from '../helpers/cli.ts';

const LEAVES = Number(process.argv[2] ?? 20);
const BASE_PORT = 47_000;

type Json = Record<string, unknown>;

class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  private waiters: { pred: (l: string, i: number) => boolean; resolve: (l: string) => void }[] = [];
  exited: Promise<number | null>;

  constructor(readonly label: string, args: string[], env: Record<string, string>) {
    const [cmd, argv] = tincanCommand(args);
    this.child = spawn(cmd, argv, { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        const index = this.lines.length - 1;
        for (const w of [...this.waiters]) {
          if (w.pred(line, index)) {
            this.waiters = this.waiters.filter((x) => x !== w);
            w.resolve(line);
          }
        }
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.exited = new Promise((r) => this.child.on('close', (code) => r(code)));
  }

  waitLine(pred: (l: string, i: number) => boolean, timeoutMs: number): Promise<string> {
    const hit = this.lines.find((l, i) => pred(l, i));
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label}: no matching line within ${timeoutMs} ms; stderr: ${this.stderr.slice(-1500)}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }

  /** Send a stdin command and wait for its JSON answer. */
  async ask(command: string, pick: (j: Json) => boolean, timeoutMs = 30_000): Promise<Json> {
    const before = this.lines.length;
    this.child.stdin!.write(`${command}\n`);
    const line = await this.waitLine((l, i) => i >= before && l.startsWith('{') && pick(JSON.parse(l) as Json), timeoutMs);
    return JSON.parse(line) as Json;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tincan-cluster-'));
  const env = { TINCAN_POW_BITS: '8' };
  const procs: Proc[] = [];
  const common = ['--log-level', 'warn'];
  const t0 = Date.now();
  try {
    const sn: Proc[] = [];
    const snIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const seeds = i === 0 ? [] : ['--seed', `127.0.0.1:${BASE_PORT}`];
      const p = new Proc(`sn${i}`, ['supernode', '--listen', `127.0.0.1:${BASE_PORT + i}`, ...seeds, '--stdin-commands', '--home', join(dir, `sn${i}`), ...common], env);
      procs.push(p);
      sn.push(p);
      const line = await p.waitLine((l) => l.startsWith('supernode '), 60_000);
      snIds.push(line.split(' ')[1]!);
    }
    const leaves: Proc[] = [];
    for (let i = 0; i < LEAVES; i++) {
      const name = `cl-${String(i).padStart(2, '0')}`;
      const p = new Proc(name, ['node', '--name', name, '--seed', `127.0.0.1:${BASE_PORT}`, '--seed', `127.0.0.1:${BASE_PORT + 1}`,
        '--listen', '127.0.0.1:0', '--supernode', 'never', '--headless', '--stdin-commands', '--home', join(dir, name), ...common], env);
      procs.push(p);
      leaves.push(p);
      if (i % 5 === 4) await Promise.all(leaves.slice(-5).map((l) => l.waitLine((x) => x.startsWith('node '), 90_000)));
    }
    await Promise.all(leaves.map((l) => l.waitLine((x) => x.startsWith('node '), 90_000)));
    // Every leaf attached to all 3 supernodes and published.
    const keys = new Map<string, string>();
    for (let round = 0; ; round++) {
      const st = await Promise.all(leaves.map((l) => l.ask('status', (j) => 'status' in j)));
      const ready = st.every((j) => {
        const s = j.status as { supernodes: unknown[]; published?: unknown };
        return s.supernodes.length === 3 && s.published;
      });
      st.forEach((j, i) => keys.set(leaves[i]!.label, (j.status as { userKey: string }).userKey));
      if (ready) break;
      if (round > 60) {
        const short = st.map((j) => j.status as { supernodes: unknown[]; lastDetach?: unknown; counters: unknown }).filter((x) => x.supernodes.length < 3);
        throw new Error(`leaves not attached/published: ${JSON.stringify(st.map((j) => (j.status as { supernodes: unknown[] }).supernodes.length))}; short: ${JSON.stringify(short.map((x) => ({ lastDetach: x.lastDetach, counters: x.counters })))}`);
      }
      await sleep(1000);
    }
    const tJoined = Date.now();
    // Every leaf looks every other up by name.
    let found = 0;
    let pairs = 0;
    await Promise.all(leaves.map(async (a) => {
      for (const b of leaves) {
        if (a === b) continue;
        pairs++;
        const r = await a.ask(`lookup ${b.label}`, (j) => j.lookup === b.label);
        const recs = (r.records ?? []) as { publicKey: string }[];
        if (recs[0]?.publicKey === keys.get(b.label)) found++;
      }
    }));
    const tLooked = Date.now();
    const search = await leaves[0]!.ask('search cl-1', (j) => j.search === 'cl-1');
    const searchHits = new Set(((search.results ?? []) as { name: string }[]).map((x) => x.name)).size;

    // SIGKILL supernode 1: each leaf's probes notice, it drops it and republishes its
    // record naming the live ones. Per leaf: from the kill to the accepted republish (the
    // leaf's own clock time of it, `published.at`, in its status).
    const deadId = snIds[1]!;
    const before = await Promise.all(leaves.map((l) => l.ask('status', (j) => 'status' in j)));
    const rtts = before.flatMap((j) => (j.status as { supernodes: { rttMs?: number }[] }).supernodes.map((x) => x.rttMs ?? -1)).sort((a, b) => a - b);
    // Live supernodes dropped by mistake (probes unanswered under load) since the leaves started.
    const falseDetaches = before.reduce((n, j) => n + (j.status as { counters: { reattaches: number } }).counters.reattaches, 0);
    sn[1]!.child.kill('SIGKILL');
    const tKill = Date.now();
    let reattachMs = -1;
    const perLeaf = new Map<string, number>();
    const noticedMs: number[] = [];
    for (let round = 0; round < 240 && reattachMs < 0; round++) {
      await sleep(250);
      const st = await Promise.all(leaves.map((l) => l.ask('status', (j) => 'status' in j)));
      st.forEach((j, i) => {
        const s = j.status as { supernodes: { id: string }[]; published?: { at: number; supernodes: string[] }; lastDetach?: { supernode: string; at: number } };
        const label = leaves[i]!.label;
        const clean = s.supernodes.length > 0 && !s.supernodes.some((x) => x.id === deadId);
        if (!perLeaf.has(label) && clean && s.published && s.published.at >= tKill && !s.published.supernodes.includes(deadId)) {
          perLeaf.set(label, s.published.at - tKill);
          if (s.lastDetach?.supernode === deadId) noticedMs.push(s.lastDetach.at - tKill);
        }
      });
      if (perLeaf.size === leaves.length) reattachMs = Date.now() - tKill;
    }
    const figures = [...perLeaf.values()].sort((a, b) => a - b);
    const pct = (q: number) => figures.length ? figures[Math.min(figures.length - 1, Math.ceil(q * figures.length) - 1)]! : -1;
    noticedMs.sort((a, b) => a - b);
    const reattach = {
      leaves: figures.length, p50: pct(0.5), p95: pct(0.95), max: pct(1), within5s: figures.filter((x) => x <= 5000).length,
      // when the leaves noticed (dropped the dead supernode), for the record
      noticedP50: noticedMs[Math.floor(noticedMs.length / 2)] ?? -1, noticedMax: noticedMs[noticedMs.length - 1] ?? -1,
      // the leaves' smoothed probe RTT to their supernodes just before the kill
      rttP50: rtts[Math.floor(rtts.length / 2)] ?? -1, rttMax: rtts[rtts.length - 1] ?? -1, falseDetaches,
    };
    // No record lost that a live supernode should hold (k=20 > 2 supernodes: both hold all).
    let lost = 0;
    for (const live of [sn[0]!, sn[2]!]) {
      for (const l of leaves) {
        const r = await live.ask(`stored ${l.label}`, (j) => j.stored === l.label);
        if (!((r.publishers ?? []) as string[]).includes(keys.get(l.label)!)) lost++;
      }
    }
    let foundAfter = 0;
    for (const b of leaves.slice(1)) {
      const r = await leaves[0]!.ask(`lookup ${b.label}`, (j) => j.lookup === b.label);
      if (((r.records ?? []) as { publicKey: string }[])[0]?.publicKey === keys.get(b.label)) foundAfter++;
    }
    // Clean shutdown on SIGTERM.
    const alive = procs.filter((p) => p !== sn[1]);
    for (const p of alive) p.child.kill('SIGTERM');
    const codes = await Promise.all(alive.map((p) => Promise.race([p.exited, sleep(15_000).then(() => 'hung' as const)])));
    // Clean = it ran its shutdown (printed "... stopped ...") and exited. (Deno's
    // child_process reports a SIGTERMed child as killed even when it exited 0 itself.)
    const clean = alive.map((p, i) => codes[i] !== 'hung' && (codes[i] === 0 || p.lines.some((l) => / stopped /.test(l))));
    process.stdout.write(JSON.stringify({
      ok: found === pairs && lost === 0 && reattachMs >= 0 && foundAfter === leaves.length - 1 && clean.every(Boolean),
      leaves: leaves.length, pairs, found, searchHits, reattachMs, reattach, lost, foundAfter, exitCodes: codes, cleanShutdowns: clean.filter(Boolean).length,
      joinMs: tJoined - t0, lookupMs: tLooked - tJoined,
    }) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(err).slice(0, 3000) }) + '\n');
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => Promise.race([p.exited, sleep(5000)])));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
