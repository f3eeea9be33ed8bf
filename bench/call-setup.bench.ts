/**
 * Call setup between separate processes: `tincan supernode`, `tincan echo` and one
 * `tincan call echo --tone 440 --duration 1` per call, on 127.0.0.1 in a loopback-only
 * namespace (needs root). Setup = the caller's dial (lookup, sealed offer through the
 * supernode, answer) to media connected (ICE + DTLS), as `call --json` reports it.
 * Reference, same run: two bare werift peer connections in one process (ICE + DTLS, no
 * overlay or signaling). Calls: `TINCAN_CALL_BENCH_N` (default 20), each as its own
 * `tincan call` process (setupP50/P95: a fresh process, its first call) and again from
 * one long-running `tincan node` (runningNodeSetupP50/P95).
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import type { Emit } from './bench.ts';
import { lastJson, runInLoopbackNetns } from '../test/helpers/loopback-netns.ts';

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** Run the benchmark. */
export async function run(emit: Emit): Promise<void> {
  const n = Number(process.env.TINCAN_CALL_BENCH_N ?? 20);
  const dir = mkdtempSync(join(tmpdir(), 'tincan-call-bench-'));
  try {
    const r = lastJson<{ calls: { code: number; setupMs: number | null; path: string; wallMs: number }[]; warmCalls: { ok: boolean; setupMs: number | null; path: string }[]; reference: number[] }>(
      await runInLoopbackNetns('test/node/calls.script.ts', ['bench', dir, String(n)], 60_000 + n * 30_000),
    );
    const ok = r.calls.filter((c) => c.code === 0 && typeof c.setupMs === 'number');
    const setup = ok.map((c) => c.setupMs!);
    const ref = r.reference;
    const load = (await import('node:os')).loadavg()[0]!.toFixed(2);
    if (setup.length === 0) throw new Error(`no call connected: ${JSON.stringify(r.calls.slice(0, 3))}`);
    const round = (x: number) => Math.round(x * 10) / 10;
    emit({ metric: 'setupP50', value: quantile(setup, 0.5), unit: 'ms', ref: round(quantile(ref, 0.5)), ratio: round(quantile(setup, 0.5) / quantile(ref, 0.5)), calls: n, connected: ok.length, target: 300, loadavg: load, note: 'ref: two bare werift peer connections, ICE+DTLS only' });
    emit({ metric: 'setupP95', value: quantile(setup, 0.95), unit: 'ms', ref: round(quantile(ref, 0.95)), ratio: round(quantile(setup, 0.95) / quantile(ref, 0.95)), calls: n, connected: ok.length });
    const warm = r.warmCalls.filter((c) => c.ok && typeof c.setupMs === 'number').map((c) => c.setupMs!);
    if (warm.length > 0) {
      emit({ metric: 'runningNodeSetupP50', value: quantile(warm, 0.5), unit: 'ms', ref: round(quantile(ref, 0.5)), ratio: round(quantile(warm, 0.5) / quantile(ref, 0.5)), calls: n, connected: warm.length, target: 300, note: 'one `tincan node`, "call echo 1" lines: no process start per call' });
      emit({ metric: 'runningNodeSetupP95', value: quantile(warm, 0.95), unit: 'ms', ref: round(quantile(ref, 0.95)), ratio: round(quantile(warm, 0.95) / quantile(ref, 0.95)), calls: n, connected: warm.length });
    }
    emit({ metric: 'callProcessWallP50', value: quantile(ok.map((c) => c.wallMs), 0.5), unit: 'ms', note: '`tincan call --duration 1` start to exit' });
    emit({ metric: 'directCalls', value: ok.filter((c) => c.path === 'direct').length, unit: 'calls', calls: n });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
