/**
 * `tincan answer`: wait for a call and answer it.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { audioOption, echoOption, nameOption, playOption, recordOption, optionalSeedOption, micDeviceOption, speakerDeviceOption } from '../common.ts';
import { failure, success } from '../outcome.ts';

/** `tincan answer --name N --seed HOST:PORT [--play F.wav] [--record F.wav] [--echo]`. */
export const answerCommand = defineCommand({
  name: 'answer',
  summary: 'wait for an incoming call and answer it',
  description: [
    'Publishes NAME, answers the first incoming call (with --echo, plays back what it hears),',
    'and exits when that call ends (or on SIGINT/SIGTERM). Prints "answering as NAME" once',
    'joined; with --json, the call\'s stats object as `tincan call --json` prints it.',
  ].join('\n'),
  positionals: [],
  options: {
    name: nameOption,
    seed: optionalSeedOption,
    play: playOption,
    record: recordOption,
    audio: audioOption,
    mic: micDeviceOption,
    speaker: speakerDeviceOption,
    echo: echoOption,
  },
  groups: [{ options: ['play', 'echo'], required: false }],
  examples: ['answer --name bob --seed 203.0.113.7:4000 --record heard.wav'],
  async run({ options, global }, ctx) {
    const { awaitSupernode, identityFor, untilSignal } = await import('./overlay-common.ts');
    const { callAudio, callResult, cliTincanNode } = await import('./call-common.ts');
    const identity = await identityFor(global, ctx);
    if (typeof identity === 'string') return failure(identity);
    const node = cliTincanNode(global, ctx, {
      identity,
      seeds: options.seed,
      role: 'never',
      name: options.name,
      ...(options.echo ? { echo: true } : { autoAnswer: true, audio: callAudio(options, true) }),
    });
    const stop = untilSignal(ctx.log);
    try {
      await node.start();
      const why = await awaitSupernode(node.overlay, { seeds: options.seed, clock: ctx.io.clock });
      if (why) return failure(why);
      if (!global.json) ctx.io.stdout(`answering as ${options.name}\n`);
      let setupMs: number | undefined;
      let callId: string | undefined;
      const ended = new Promise<{ reason?: string; detail?: string }>((resolve) => {
        node.on('incoming', (s) => (callId ??= s.callId));
        node.on('connected', (e) => {
          if (e.callId === callId) setupMs = e.setupMs;
        });
        node.on('call', (s) => {
          if (s.callId === callId && s.state === 'ended') resolve(s);
        });
      });
      const end = await Promise.race([ended, stop.then(() => undefined)]);
      const stats = callId ? (end ? node.callStats(callId) : await node.callStatsNow(callId)) : undefined;
      const json = callResult(setupMs, stats);
      if (!callId) return success({ ...json, calls: 0 }, 'no call');
      if (setupMs === undefined) return failure(`call ${end?.reason ?? 'hangup'} before media connected${end?.detail ? ` (${end.detail})` : ''}`, { json });
      return success(json, `call ended (${end?.reason ?? 'stopped'}): ${json.path}, ${json.packetsReceived} packets received`);
    } finally {
      await node.close();
    }
  },
});
