/**
 * `tincan echo`: run the echo (sound test) service under a name.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { COMING, nameOption, seedOption } from '../common.ts';
import { notAvailable } from '../outcome.ts';

/** `tincan echo --name N --seed HOST:PORT`. */
export const echoCommand = defineCommand({
  name: 'echo',
  summary: 'run the echo service: answer calls and play back what is heard',
  positionals: [],
  options: { name: nameOption, seed: seedOption },
  examples: ['echo --name echo --seed 203.0.113.7:4000'],
  async run() {
    return notAvailable(COMING.echo);
  },
});
