/**
 * `tincan answer`: wait for a call and answer it.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { audioOption, COMING, echoOption, nameOption, playOption, recordOption, seedOption, micDeviceOption, speakerDeviceOption } from '../common.ts';
import { notAvailable } from '../outcome.ts';

/** `tincan answer --name N --seed HOST:PORT [--play F.wav] [--record F.wav] [--echo]`. */
export const answerCommand = defineCommand({
  name: 'answer',
  summary: 'wait for an incoming call and answer it',
  positionals: [],
  options: {
    name: nameOption,
    seed: seedOption,
    play: playOption,
    record: recordOption,
    audio: audioOption,
    mic: micDeviceOption,
    speaker: speakerDeviceOption,
    echo: echoOption,
  },
  groups: [{ options: ['play', 'echo'], required: false }],
  examples: ['answer --name bob --seed 203.0.113.7:4000 --record heard.wav'],
  async run() {
    return notAvailable(COMING.calls);
  },
});
