/**
 * `tincan call NAME`: place a voice call.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { audioOption, durationOption, nameArgument, playOption, recordOption, optionalSeedOption, toneOption, micDeviceOption, speakerDeviceOption } from '../common.ts';
import { failure, success } from '../outcome.ts';
import { withDefault } from '../options.ts';
import { text } from '../values.ts';

/** `tincan call NAME --seed HOST:PORT [--play F.wav | --tone HZ] [--record F.wav] [--duration S]`. */
export const callCommand = defineCommand({
  name: 'call',
  summary: 'call someone by name',
  description:
    'With --json, prints {ok, setupMs, path, via, rttMs, jitterMs, lossPct, mos, packetsSent,\npacketsReceived} when the call ends. Without --play or --tone, sends the microphone. With --play and no\n--duration, hangs up when the file has played; with --duration, loops it that long.',
  positionals: [nameArgument('display name of the person to call')],
  options: {
    seed: optionalSeedOption,
    play: playOption,
    tone: toneOption,
    record: recordOption,
    audio: audioOption,
    mic: micDeviceOption,
    speaker: speakerDeviceOption,
    duration: durationOption,
    name: withDefault('N', 'the name you publish while calling (so the callee can answer)', text(64), 'caller'),
  },
  groups: [{ options: ['play', 'tone'], required: false }],
  examples: ['call bob --seed 203.0.113.7:4000', 'call echo --seed 127.0.0.1:4000 --tone 440 --duration 5 --json'],
  async run({ options, positionals, global }, ctx) {
    const { awaitSupernode, identityFor, untilSignal } = await import('./overlay-common.ts');
    const { callAudio, callResult, callSummaryLine, cliTincanNode, placeCall } = await import('./call-common.ts');
    const identity = await identityFor(global, ctx);
    if (typeof identity === 'string') return failure(identity);
    const target = positionals.NAME;
    const node = cliTincanNode(global, ctx, {
      identity,
      seeds: options.seed,
      role: 'never',
      name: options.name,
      // --play loops only when --duration says how long; otherwise the call ends with the file.
      audio: callAudio(options, options.duration !== undefined),
    });
    const stop = untilSignal(ctx.log);
    try {
      await node.start();
      const why = await awaitSupernode(node.overlay, { seeds: options.seed, clock: ctx.io.clock });
      if (why) return failure(why, { json: callResult(undefined, undefined) });
      const r = await placeCall(node, target, ctx.io.clock, { durationS: options.duration, stop, endWithSource: options.play !== undefined && options.duration === undefined });
      const json: Record<string, unknown> = { ...callResult(r.setupMs, r.stats), ...(r.durationS !== undefined ? { durationS: r.durationS } : {}), ...(r.reason ? { reason: r.reason } : {}) };
      if (!r.ok) return failure(r.error ?? `call ${r.reason}`, { json });
      return success(json, callSummaryLine(target, r.durationS, json));
    } finally {
      await node.close();
    }
  },
});
