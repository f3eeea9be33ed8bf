/**
 * `tincan demo`: the headless first-run check (what `npm start` runs without a terminal).
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { failure, success } from '../outcome.ts';
import { positive } from '../values.ts';
import { withDefault } from '../options.ts';

/** `tincan demo [--json]`. */
export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'headless: embedded supernode + echo service, a 5 s test call, then stats',
  description: 'Starts a supernode and the echo service on loopback, calls the echo service for 5 seconds\nand prints the call statistics (with --json, the same object as `tincan call --json`).\nLogs only warnings unless --log-level says otherwise.',
  logLevel: 'warn',
  positionals: [],
  options: {
    duration: withDefault('S', 'length of the test call in seconds', positive(600), 5),
  },
  examples: ['demo', 'demo --json'],
  async run({ options }, ctx) {
    const { untilSignal } = await import('./overlay-common.ts');
    const { callAudio, callResult, cliTincanNode, placeCall } = await import('./call-common.ts');
    const { Identity } = await import('../../identity/identity.ts');
    const { formatAddress } = await import('../../net/net.ts');
    const random = ctx.io.random;
    // Everything in this process: a low proof-of-work difficulty is fine on loopback.
    const demoCtx = { ...ctx, io: { ...ctx.io, env: { ...ctx.io.env, TINCAN_POW_BITS: ctx.io.env.TINCAN_POW_BITS ?? '8' } } };
    const supernode = cliTincanNode(undefined, demoCtx, {
      identity: Identity.generate(random),
      listen: { host: '127.0.0.1', port: 0 },
      seeds: [],
      role: 'always',
      allowPrivatePeers: true,
    });
    const nodes = [supernode];
    const stop = untilSignal(ctx.log);
    try {
      await supernode.start();
      const seed = supernode.overlay.address!;
      const echo = cliTincanNode(undefined, demoCtx, { identity: Identity.generate(random), seeds: [seed], role: 'never', name: 'echo', echo: true });
      nodes.push(echo);
      const caller = cliTincanNode(undefined, demoCtx, { identity: Identity.generate(random), seeds: [seed], role: 'never', name: 'demo', audio: callAudio({ tone: 440 }) });
      nodes.push(caller);
      await Promise.all([echo.start(), caller.start()]);
      if (echo.overlay.snapshot().supernodes.length === 0 || caller.overlay.snapshot().supernodes.length === 0) return failure('the embedded supernode did not accept the demo nodes');
      ctx.log.info({ supernode: formatAddress(seed) }, 'demo: calling the echo service');
      const r = await placeCall(caller, 'echo', ctx.io.clock, { durationS: options.duration, stop });
      const json: Record<string, unknown> = { ...callResult(r.setupMs, r.stats), ...(r.durationS !== undefined ? { durationS: r.durationS } : {}), supernode: formatAddress(seed), echoed: echo.echoStats().echoed, ...(r.reason ? { reason: r.reason } : {}) };
      if (!r.ok) return failure(r.error ?? `call ${r.reason}`, { json });
      return success(
        json,
        [
          `demo: a ${r.durationS} s call to the echo service through a local supernode (${formatAddress(seed)})`,
          `  setup ${json.setupMs} ms, path ${json.path}${json.via ? ` via ${json.via}` : ''}, rtt ${json.rttMs} ms, jitter ${json.jitterMs} ms, loss ${json.lossPct}%, MOS ${json.mos}`,
          `  packets ${json.packetsSent} sent, ${json.packetsReceived} received (echoed back)`,
        ].join('\n'),
      );
    } finally {
      for (const n of nodes.reverse()) await n.close();
    }
  },
});
