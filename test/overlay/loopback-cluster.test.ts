/**
 * The real-network test: 3 `tincan supernode` + 20 `tincan node --headless`
 * processes on UDP loopback (in a loopback-only network namespace; needs root): every
 * leaf finds every other by name; after a supernode is SIGKILLed, the live supernodes
 * still hold every record and the leaves re-attach. The driver is
 * loopback-cluster.script.ts; it prints the figures as one JSON line.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lastJson, runInLoopbackNetns } from '../helpers/loopback-netns.ts';

const s = suite('overlay: real processes on loopback');

s('3 supernodes + 20 leaves: all pairs by name; SIGKILL a supernode: no record lost, leaves re-attach', async () => {
  const r = await runInLoopbackNetns('test/overlay/loopback-cluster.script.ts', ['20'], 280_000);
  const j = lastJson<{ ok: boolean; pairs: number; found: number; lost: number; reattachMs: number; foundAfter: number; searchHits: number; exitCodes: unknown[]; cleanShutdowns: number; error?: string }>(r);
  assert.ok(!j.error, j.error);
  assert.is(j.pairs, 380);
  assert.is(j.found, 380);
  assert.is(j.searchHits, 10, 'search "cl-1" finds cl-10..cl-19');
  assert.is(j.lost, 0);
  assert.ok(j.reattachMs > 0 && j.reattachMs < 60_000, `re-attached after ${j.reattachMs} ms`);
  assert.is(j.foundAfter, 19);
  assert.is(j.cleanShutdowns, 22, `clean SIGTERM shutdowns; exit codes ${JSON.stringify(j.exitCodes)}`);
  assert.ok(j.ok, JSON.stringify(j));
  console.log(`  loopback cluster: ${JSON.stringify(j)}`);
});

s.run();
