/**
 * The test runner for Node (`npm test`) and Deno (`deno task test`): finds every
 * `*.test.ts(x)` under test/, runs them as uvu suites in one process, enforces a
 * per-suite timeout, and ends with one line `N passed, N failed`.
 *
 * Usage: `npm test [-- FILTER...]` runs only files whose path contains a FILTER.
 * Environment: TINCAN_SUITE_TIMEOUT_S (default 300) bounds each suite.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import process from 'node:process';

type Runner = () => Promise<[string | true | unknown, number, number, number]>;

const root = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const suiteTimeoutMs = Number(process.env.TINCAN_SUITE_TIMEOUT_S ?? 300) * 1000;

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures' && name !== 'node_modules') out.push(...findTests(p));
    } else if (/\.test\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

const files = findTests(root).filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(2);
}

const g = globalThis as unknown as { UVU_DEFER: number; UVU_QUEUE: unknown[][]; UVU_INDEX: number };
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];
const { exec } = await import('uvu');

let importFailures = 0;
for (const [i, file] of files.entries()) {
  const name = relative(root, file);
  g.UVU_QUEUE.push([name]);
  g.UVU_INDEX = i;
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    importFailures++;
    g.UVU_QUEUE[i]!.push(async () => [`   ✘ ${name} failed to load: ${(err as Error)?.stack ?? err}`, 0, 0, 1]);
  }
  // Wrap each suite runner with a timeout so one hung suite cannot stall the run.
  const group = g.UVU_QUEUE[i]!;
  for (let j = 1; j < group.length; j++) {
    const run = group[j] as Runner;
    group[j] = () => withTimeout(run, name);
  }
}

async function withTimeout(run: Runner, name: string): ReturnType<Runner> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Awaited<ReturnType<Runner>>>((resolve) => {
    timer = setTimeout(() => resolve([`   ✘ a suite in ${name} timed out after ${suiteTimeoutMs / 1000}s`, 0, 0, 1]), suiteTimeoutMs);
  });
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Capture uvu's summary to print the closing line.
let captured = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  captured += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
  if (captured.length > 4096) captured = captured.slice(-4096);
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

await exec();
process.stdout.write = write;

const plain = captured.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
let failed = total - passed;
if (skipped > 0) {
  console.log(`${skipped} skipped tests are not allowed: count as failures`);
  failed += skipped;
}

// Everything stops cleanly: after the suites, no sockets, timers or child processes may
// remain. Give stragglers a moment, then fail if anything keeps the process alive.
await new Promise((r) => setTimeout(r, 200));
const proc = process as unknown as { getActiveResourcesInfo?: () => string[] };
const leftovers = (proc.getActiveResourcesInfo?.() ?? []).filter((r) => !['TTYWrap', 'PipeWrap', 'FSReqCallback', 'Timeout'].includes(r));
if (leftovers.length > 0 && typeof (globalThis as { Deno?: unknown }).Deno === 'undefined') {
  console.log(`leaked resources after tests: ${leftovers.join(', ')}`);
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || importFailures > 0 ? 1 : 0);
