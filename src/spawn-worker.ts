/**
 * Start a worker thread on a TypeScript module, on Node (through worker-bootstrap.mjs,
 * which registers the tsx loader in the worker) and on Deno (directly).
 *
 * @example
 * ```ts
 * const w = spawnWorker(new URL('./share-worker.ts', import.meta.url), { index: 0 });
 * w.once('message', (m) => console.log(m));
 * ```
 * @module
 */
import { Worker } from 'node:worker_threads';

/** A worker running `module` with `data` as its `workerData` (plus `tincanModule` on Node). */
export function spawnWorker(module: URL, data: Record<string, unknown>): Worker {
  const onDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';
  if (onDeno) return new Worker(module, { workerData: data });
  return new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: { ...data, tincanModule: module.href } });
}
