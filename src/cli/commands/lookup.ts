/**
 * `tincan lookup NAME`: the directory records published for a name.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { COMING, nameArgument, seedOption } from '../common.ts';
import { notAvailable } from '../outcome.ts';

/** `tincan lookup NAME --seed HOST:PORT`. */
export const lookupCommand = defineCommand({
  name: 'lookup',
  summary: 'show the directory records for a name, newest first',
  description: 'With --json, prints {ok, records: [{name, id, fingerprint, supernodes, seq, expires}]}.',
  positionals: [nameArgument('display name to look up (exact)')],
  options: { seed: seedOption },
  examples: ['lookup alice --seed 203.0.113.7:4000'],
  async run() {
    return notAvailable(COMING.directory);
  },
});
