/**
 * `tincan` processes inside a NatLab host's namespace, with their output collected, for
 * tests that run the real binary through nftables NATs (test/netns/*.test.ts).
 *
 * @example
 * const sn = startTincanIn(lab, host, { home: join(dir, 'sn') }, ['supernode', '--listen', `${host.ip}:4000`]);
 * await untilOutput('supernode up', sn, () => sn.out.includes('listening on'), 60_000);
 */
import type { ChildProcess } from 'node:child_process';
import type { LabHost, NatLab } from './netns.ts';
import { REPO_ROOT, tincanCommand } from './cli.ts';

/** A running tincan child: its stdout, the tail of its stderr, and its exit. */
export interface NetnsTincan {
  child: ChildProcess;
  out: string;
  err: string;
  exited: Promise<number | null>;
}

/** Characters of stderr kept (the tail). */
const STDERR_KEPT = 400_000;

/** Start `tincan ARGS --home HOME` in `host`'s namespace (TINCAN_POW_BITS=8 plus `env`). */
export function startTincanIn(lab: NatLab, host: LabHost, o: { home: string; env?: Record<string, string> }, args: string[]): NetnsTincan {
  const [cmd, argv] = tincanCommand([...args, '--home', o.home]);
  // tincanCommand's paths are relative to the repository root.
  const child = lab.spawn(host.ns, 'env', ['-C', REPO_ROOT, cmd, ...argv], { TINCAN_POW_BITS: '8', NO_COLOR: '1', ...o.env });
  const p: NetnsTincan = { child, out: '', err: '', exited: new Promise((r) => child.on('close', (c) => r(c))) };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (p.out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (p.err = (p.err + d).slice(-STDERR_KEPT)));
  return p;
}

/** Wait (polling every 100 ms) until `pred()`; on timeout, fail with the process's output tails. */
export async function untilOutput(what: string, p: NetnsTincan, pred: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms; stdout:\n${p.out.slice(-2000)}\nstderr:\n${p.err.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
