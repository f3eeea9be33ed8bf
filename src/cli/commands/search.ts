/**
 * `tincan search TEXT`: partial-name search across supernodes.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { COMING, MAX_NAME_LENGTH, seedOption } from '../common.ts';
import { notAvailable } from '../outcome.ts';
import { text } from '../values.ts';

/** `tincan search TEXT --seed HOST:PORT`. */
export const searchCommand = defineCommand({
  name: 'search',
  summary: 'find names containing some text',
  positionals: [{ name: 'TEXT', help: 'part of a display name', parse: text(MAX_NAME_LENGTH) }],
  options: { seed: seedOption },
  examples: ['search ali --seed 203.0.113.7:4000'],
  async run() {
    return notAvailable(COMING.search);
  },
});
