/**
 * The terminal UI as the command line runs it: `tincan node` on a terminal (without
 * `--headless`), and bare `tincan` on a terminal, which starts a local network of its
 * own (an embedded supernode and the echo service on 127.0.0.1) so that a first call
 * (`c`, `echo`, Enter) works with nothing else running.
 *
 * While the UI is up, logs go to `tincan.log` in --home instead of stderr.
 *
 * @module
 */
import { join } from 'node:path';
import { defineCommand, type CommandContext } from '../command.ts';
import type { GlobalSettings } from '../global.ts';
import { failure, success } from '../outcome.ts';
import type { TincanNode } from '../../node/tincan-node.ts';

/** A context whose logs go to `tincan.log` in home (the terminal belongs to the UI). */
export async function uiContext(global: GlobalSettings, ctx: CommandContext, command: string): Promise<CommandContext> {
  const { createFileLogger } = await import('../../log.ts');
  return { ...ctx, log: createFileLogger(join(global.home, 'tincan.log'), global.logLevel).child({ command }) };
}

/** Show the UI for a started node until the user quits or `stop` resolves. */
export async function showUi(node: TincanNode, ctx: CommandContext, stop: Promise<unknown>): Promise<void> {
  const { runTerminalUi } = await import('../../../tui/live.tsx');
  const abort = new AbortController();
  void stop.then(() => abort.abort());
  await runTerminalUi(node, { clock: ctx.io.clock, signal: abort.signal });
}

/** Bare `tincan` on a terminal (not listed among the subcommands). */
export const uiCommand = defineCommand({
  name: 'ui',
  summary: 'the terminal UI on a local network of its own (embedded supernode + echo service)',
  positionals: [],
  options: {},
  async run({ global }, outer) {
    const ctx = await uiContext(global, outer, 'ui');
    const { identityFor, untilSignal } = await import('./overlay-common.ts');
    const { callAudio, cliTincanNode } = await import('./call-common.ts');
    const { Identity } = await import('../../identity/identity.ts');
    const identity = await identityFor(global, ctx);
    if (typeof identity === 'string') return failure(identity);
    const local = { ...ctx, io: { ...ctx.io, env: { ...ctx.io.env, TINCAN_POW_BITS: ctx.io.env.TINCAN_POW_BITS ?? '8' } } };
    const supernode = cliTincanNode(undefined, local, { identity: Identity.generate(ctx.io.random), listen: { host: '127.0.0.1', port: 0 }, seeds: [], role: 'always', allowPrivatePeers: true });
    const nodes: TincanNode[] = [supernode];
    const stop = untilSignal(ctx.log);
    try {
      await supernode.start();
      const seeds = [supernode.overlay.address!];
      const echo = cliTincanNode(undefined, local, { identity: Identity.generate(ctx.io.random), seeds, role: 'never', name: 'echo', echo: true });
      nodes.push(echo);
      const name = (ctx.io.env.USER ?? 'me').slice(0, 32) || 'me';
      const me = cliTincanNode(undefined, local, { identity, seeds, role: 'never', name, audio: callAudio({}) });
      nodes.push(me);
      await Promise.all([echo.start(), me.start()]);
      await showUi(me, ctx, stop);
      return success({}, '');
    } finally {
      for (const n of nodes.reverse()) await n.close();
    }
  },
});
