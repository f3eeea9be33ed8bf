/**
 * Spawn the real `tincan` binary the way a user would: on Node `node bin/tincan.mjs`,
 * under Deno `deno run -A src/main.ts` (so each runtime tests itself).
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import process from 'node:process';

/** Repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What a run of the binary produced. */
export interface CliRun {
  /** Exit code (null if killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options for {@link runTincan}. */
export interface RunTincanOptions {
  /** Extra environment variables (merged over the current environment). */
  env?: Record<string, string>;
  /** Kill the process after this long (default 60 s). */
  timeoutMs?: number;
}

/** The executable and arguments that run tincan with `args` on the current runtime. */
export function tincanCommand(args: readonly string[]): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno) return [deno.execPath(), ['run', '-A', 'src/main.ts', ...args]];
  return [process.execPath, ['bin/tincan.mjs', ...args]];
}

/** Run tincan with `args` from the repository root, stdin closed (not a terminal). */
export function runTincan(args: readonly string[], options: RunTincanOptions = {}): Promise<CliRun> {
  const [cmd, argv] = tincanCommand(args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Run `jobs` with at most `limit` at a time (the test machine has few cores). */
export async function inBatches<T>(jobs: Array<() => Promise<T>>, limit = 2): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}
