// Entry of tincan's worker threads on Node: registers the TypeScript loader (tsx) in the
// worker, then runs the module named in workerData.tincanModule. (Deno runs TypeScript
// workers directly; see spawn-worker.ts.)
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.tincanModule);
