/**
 * Run a TypeScript/JavaScript file as a child process on the same runtime the tests run
 * on (Node through tsx, or Deno), so subprocess tests exercise both runtimes.
 */
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** True when the test process runs on Deno. */
export const onDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';

/** Command and arguments that run `script` (path relative to the repo root) with `args`. */
export function scriptCommand(script: string, args: string[] = []): [string, string[]] {
  if (onDeno) return [process.execPath, ['run', '--allow-all', '--quiet', `${repoRoot}/${script}`, ...args]];
  return [process.execPath, ['--import', 'tsx', `${repoRoot}/${script}`, ...args]];
}
