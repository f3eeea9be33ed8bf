/**
 * Run a script in a fresh, loopback-only network namespace (`unshare -n`), so ICE sees
 * only 127.0.0.1 and test traffic cannot leave the machine. Needs root (CI runs as root).
 */
import { spawn } from 'node:child_process';
import { scriptCommand } from './runtime.ts';

/** Result of a finished child. */
export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `script` (repo-relative) with `args` inside `unshare -n`; kill it after `timeoutMs`. */
export function runInLoopbackNetns(script: string, args: string[] = [], timeoutMs = 60_000): Promise<ChildResult> {
  const [cmd, cmdArgs] = scriptCommand(script, args);
  const quoted = [cmd, ...cmdArgs].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    const child = spawn('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec ${quoted}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Parse the last line of stdout as JSON, with the child's stderr in the error if not. */
export function lastJson<T = Record<string, unknown>>(r: ChildResult): T {
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`child printed no JSON (exit ${r.code}); stderr:\n${r.stderr.slice(-2000)}\nstdout:\n${r.stdout.slice(-1000)}`);
  }
}
