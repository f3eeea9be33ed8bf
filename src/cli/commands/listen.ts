/**
 * `tincan listen NAME`: listen to a published stream.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { COMING, durationOption, nameArgument, recordOption, seedOption } from '../common.ts';
import { notAvailable } from '../outcome.ts';

/** `tincan listen NAME --seed HOST:PORT [--record F.wav] [--duration S]`. */
export const listenCommand = defineCommand({
  name: 'listen',
  summary: 'listen to a stream by name (not available yet)',
  description: 'With --json, prints {ok, packetsReceived, lossPct, jitterMs, via} when done.',
  positionals: [nameArgument('name of the stream')],
  options: { seed: seedOption, record: recordOption, duration: durationOption },
  examples: ['listen radio --seed 203.0.113.7:4000 --duration 30 --json'],
  async run() {
    return notAvailable(COMING.streaming);
  },
});
