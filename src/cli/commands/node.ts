/**
 * `tincan node`: a long-running node that joins the network and takes calls.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { COMING, echoOption, listenOption, nameOption, seedOption } from '../common.ts';
import { flag, optional, withDefault } from '../options.ts';
import { notAvailable } from '../outcome.ts';
import { hostPort, nonEmpty, oneOf } from '../values.ts';

/** Values of `--supernode`. */
export const SUPERNODE_MODES = ['auto', 'always', 'never'] as const;

/** `tincan node --name N --seed HOST:PORT [...]`. */
export const nodeCommand = defineCommand({
  name: 'node',
  summary: 'run a node that joins the network, publishes its name and takes calls',
  positionals: [],
  options: {
    name: nameOption,
    seed: seedOption,
    listen: listenOption,
    supernode: withDefault('MODE', 'supernode role: auto (when elected), always, never', oneOf(SUPERNODE_MODES), 'auto' as (typeof SUPERNODE_MODES)[number]),
    headless: flag('run without the terminal UI'),
    control: optional('SOCKET', 'serve the JSON-RPC control API on this Unix socket', nonEmpty),
    metrics: optional('HOST:PORT', 'serve Prometheus metrics over HTTP on this address', hostPort({ allowAnyPort: true })),
    autoAnswer: flag('answer incoming calls automatically'),
    echo: echoOption,
  },
  examples: ['node --name alice --seed 203.0.113.7:4000 --headless'],
  async run() {
    return notAvailable(COMING.overlay);
  },
});
