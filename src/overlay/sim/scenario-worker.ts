/**
 * One share of a split simulation in a worker thread (scenario.ts, `threads`): runs
 * {@link runScenarioShare} for its share, swapping through the ShareMailbox its parent
 * allocated, and posts progress and its partial figures back. A share that fails tells
 * its peers (they stop with an error instead of waiting).
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ShareMailbox } from '../../net/share-mailbox.ts';
import { runScenarioShare, type ScenarioOptions } from './scenario.ts';

const { buffer, index, count, options } = workerData as { buffer: SharedArrayBuffer; index: number; count: number; options: ScenarioOptions };
const mailbox = new ShareMailbox(buffer, index);
try {
  const partial = await runScenarioShare({ ...options, onProgress: (progress) => parentPort!.postMessage({ progress }) }, { index, count, exchange: mailbox });
  parentPort!.postMessage({ partial });
} catch (e) {
  mailbox.fail();
  parentPort!.postMessage({ error: String((e as Error)?.stack ?? e) });
}
