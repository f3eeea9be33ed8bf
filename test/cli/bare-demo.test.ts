/**
 * `npm start` without a terminal: bare `tincan` runs the demo (embedded supernode, echo
 * service, a test call) and exits 0. Runs in a loopback-only namespace.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lastJson, runInLoopbackNetns } from '../helpers/loopback-netns.ts';

const bare = suite('bare tincan without a terminal');

bare('runs the demo call through an embedded supernode to the echo service', async () => {
  const r = await runInLoopbackNetns('src/main.ts', ['--json', '--log-level', 'warn'], 90_000);
  assert.match(r.stderr, /running `tincan demo`/);
  const j = lastJson<{ ok: boolean; path: string; packetsSent: number; packetsReceived: number; echoed: number }>(r);
  assert.is(r.code, 0, r.stderr.slice(-2000));
  assert.ok(j.ok);
  assert.is(j.path, 'direct');
  assert.ok(j.packetsSent > 100, `sent ${j.packetsSent}`);
  assert.ok(j.packetsReceived > 50, `received ${j.packetsReceived} echoed packets`);
});

bare.run();
