/**
 * `tincan call NAME`: place a voice call.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { audioOption, COMING, durationOption, nameArgument, playOption, recordOption, seedOption, toneOption, micDeviceOption, speakerDeviceOption } from '../common.ts';
import { notAvailable } from '../outcome.ts';

/** `tincan call NAME --seed HOST:PORT [--play F.wav | --tone HZ] [--record F.wav] [--duration S]`. */
export const callCommand = defineCommand({
  name: 'call',
  summary: 'call someone by name',
  description:
    'With --json, prints {ok, setupMs, path, via, rttMs, jitterMs, lossPct, mos, packetsSent,\npacketsReceived} when the call ends. Without --play or --tone, sends the microphone.',
  positionals: [nameArgument('display name of the person to call')],
  options: {
    seed: seedOption,
    play: playOption,
    tone: toneOption,
    record: recordOption,
    audio: audioOption,
    mic: micDeviceOption,
    speaker: speakerDeviceOption,
    duration: durationOption,
  },
  groups: [{ options: ['play', 'tone'], required: false }],
  examples: ['call bob --seed 203.0.113.7:4000', 'call echo --seed 127.0.0.1:4000 --tone 440 --duration 5 --json'],
  async run() {
    return notAvailable(COMING.calls);
  },
});
