/**
 * `tincan stream NAME`: publish an audio stream for many listeners.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { COMING, nameArgument, seedOption, toneOption } from '../common.ts';
import { flag, optional } from '../options.ts';
import { notAvailable } from '../outcome.ts';
import { wavInput } from '../values.ts';

/** `tincan stream NAME --seed HOST:PORT (--source F.wav | --tone HZ | --mic)`. */
export const streamCommand = defineCommand({
  name: 'stream',
  summary: 'publish an audio stream under a name (not available yet)',
  positionals: [nameArgument('name to publish the stream under')],
  options: {
    seed: seedOption,
    source: optional('F.wav', 'stream this WAV file', wavInput),
    tone: toneOption,
    mic: flag('stream from the microphone'),
  },
  groups: [{ options: ['source', 'tone', 'mic'], required: true }],
  examples: ['stream radio --seed 203.0.113.7:4000 --source music.wav'],
  async run() {
    return notAvailable(COMING.streaming);
  },
});
