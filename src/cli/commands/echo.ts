/**
 * `tincan echo`: run the echo (sound test) service under a name.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { nameOption, optionalSeedOption } from '../common.ts';
import { failure, success } from '../outcome.ts';

/** `tincan echo --name N --seed HOST:PORT`. */
export const echoCommand = defineCommand({
  name: 'echo',
  summary: 'run the echo service: answer calls and play back what is heard',
  description: 'Runs until SIGINT or SIGTERM. Prints "echo service NAME ready" once joined;\nwith --json, one object at exit: {"ok":true,"calls":N,"echoed":N}.',
  positionals: [],
  options: { name: nameOption, seed: optionalSeedOption },
  examples: ['echo --name echo --seed 203.0.113.7:4000'],
  async run({ options, global }, ctx) {
    const { awaitSupernode, identityFor, untilSignal } = await import('./overlay-common.ts');
    const { cliTincanNode } = await import('./call-common.ts');
    const identity = await identityFor(global, ctx);
    if (typeof identity === 'string') return failure(identity);
    const node = cliTincanNode(global, ctx, { identity, seeds: options.seed, role: 'never', name: options.name, echo: true });
    const stop = untilSignal(ctx.log);
    try {
      await node.start();
      const why = await awaitSupernode(node.overlay, { seeds: options.seed, clock: ctx.io.clock });
      if (why) return failure(why);
      if (!global.json) ctx.io.stdout(`echo service ${options.name} ready\n`);
      node.on('event', (line) => ctx.log.info(line));
      await stop;
      const s = node.echoStats();
      return success({ calls: s.calls, echoed: s.echoed, dropped: s.dropped }, `echo service stopped after ${s.calls} calls`);
    } finally {
      await node.close();
    }
  },
});
