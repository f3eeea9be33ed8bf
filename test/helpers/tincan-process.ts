/**
 * A running `tincan` child process (the real binary on the current runtime) whose stdout
 * lines can be awaited: for scripts that drive several nodes at once (call tests and the
 * call-setup benchmark). Run such scripts inside a loopback-only namespace.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import process from 'node:process';
import { REPO_ROOT, tincanCommand } from './cli.ts';

/** Characters of stderr kept (the tail). */
const STDERR_KEPT = 1_000_000;

/** One tincan process; see module docs. */
export class TincanProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  /** Resolves with the exit code when the process has exited. */
  readonly exited: Promise<number | null>;
  private waiters: { pred: (line: string, index: number) => boolean; resolve: (line: string) => void }[] = [];

  /** `netns`: run inside this network namespace (`ip netns exec`; needs root). */
  constructor(readonly label: string, args: readonly string[], env: Record<string, string> = {}, netns?: string) {
    const [cmd, argv] = tincanCommand(args);
    const [c, a] = netns ? ['ip', ['netns', 'exec', netns, cmd, ...argv]] : [cmd, argv];
    this.child = spawn(c, a, { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        const index = this.lines.length - 1;
        for (const w of [...this.waiters]) {
          if (!w.pred(line, index)) continue;
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(line);
        }
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-STDERR_KEPT)));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** The first stdout line (already printed or to come) matching `pred` (given the line and its index). */
  waitLine(pred: (line: string, index: number) => boolean, timeoutMs: number): Promise<string> {
    const hit = this.lines.find((l, i) => pred(l, i));
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label}: no matching line within ${timeoutMs} ms; stderr:\n${this.stderr.slice(-2000)}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }

  /** Wait for exit (SIGKILL after `timeoutMs`); returns the code and the last JSON line on stdout, if any. */
  async result<T = Record<string, unknown>>(timeoutMs: number): Promise<{ code: number | null; json: T | undefined }> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    const last = [...this.lines].reverse().find((l) => l.startsWith('{'));
    return { code, json: last ? (JSON.parse(last) as T) : undefined };
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    return this.result(graceMs).then((r) => r.code);
  }
}
