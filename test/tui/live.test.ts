/**
 * The terminal UI driven by a live node (tui/live.tsx): a real call to the echo service
 * placed, watched and hung up with the keys, in a loopback-only namespace. The driver
 * is test/tui/live.script.tsx.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lastJson, runInLoopbackNetns } from '../helpers/loopback-netns.ts';

const live = suite('terminal UI on a live node');

live('c + "echo" + Enter calls the echo service; the call shows active with its path; h hangs up; q quits', async () => {
  const r = lastJson<{ frames: Record<string, string>; quit: boolean; echoed: { calls: number; echoed: number } }>(
    await runInLoopbackNetns('test/tui/live.script.tsx', [], 120_000),
  );
  assert.match(r.frames.idle!, /alice/);
  assert.match(r.frames.idle!, /\[leaf\]/);
  assert.match(r.frames.idle!, /supernodes: 127\.0\.0\.1:\d+/);
  assert.match(r.frames.active!, /→ echo\s+active/);
  assert.match(r.frames.stats!, /direct\s+rtt \d+ ms/);
  assert.match(r.frames.ended!, /ended \(hangup: hung up here\)/);
  assert.ok(r.quit, 'q asked the node to quit');
  assert.is(r.echoed.calls, 1);
  assert.ok(r.echoed.echoed > 10, `echoed ${r.echoed.echoed} packets`);
});

live.run();
