/**
 * The real-network test: 3 `tincan supernode` + 20 `tincan node --headless`
 * processes on UDP loopback (in a loopback-only network namespace; needs root): every
 * leaf finds every other by name; after a supernode is SIGKILLed, the live supernodes
 * still hold every record and every leaf re-attaches (drops it and republishes its record
 * naming the live ones) within 5 s (p95; see below for an overloaded machine). The driver is
 * loopback-cluster.script.ts; it prints the figures as one JSON line.
 */
import os from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lastJson, runInLoopbackNetns } from '../helpers/loopback-netns.ts';

const s = suite('overlay: real processes on loopback');

s('3 supernodes + 20 leaves: all pairs by name; SIGKILL a supernode: no record lost, leaves re-attach within 5 s', async () => {
  const loadBefore = os.loadavg()[0]!;
  const r = await runInLoopbackNetns('test/overlay/loopback-cluster.script.ts', ['20'], 280_000);
  const j = lastJson<{ ok: boolean; pairs: number; found: number; lost: number; reattachMs: number; foundAfter: number;
    reattach: { leaves: number; p50: number; p95: number; max: number; within5s: number; noticedP50: number; noticedMax: number; rttP50: number; rttMax: number; falseDetaches: number }; searchHits: number; exitCodes: unknown[]; cleanShutdowns: number; error?: string }>(r);
  assert.ok(!j.error, j.error);
  assert.is(j.pairs, 380);
  assert.is(j.found, 380);
  assert.is(j.searchHits, 10, 'search "cl-1" finds cl-10..cl-19');
  assert.is(j.lost, 0);
  assert.ok(j.reattachMs > 0 && j.reattachMs < 60_000, `re-attached after ${j.reattachMs} ms`);
  console.log(`  re-attach after SIGKILL of a supernode, per leaf: p50 ${j.reattach.p50} ms, p95 ${j.reattach.p95} ms, max ${j.reattach.max} ms; ${j.reattach.within5s} of ${j.reattach.leaves} within 5 s (noticed: p50 ${j.reattach.noticedP50} ms, max ${j.reattach.noticedMax} ms)`);
  assert.is(j.reattach.leaves, 20, 'every leaf re-attached and republished');
  // 23 processes on a shared 2-core machine: timers fire late and probe RTTs grow with the
  // load. Within 5 s at p95 unless the machine is overloaded (over 4 runnable tasks per core
  // on average), then within 6.5 s.
  const loadPerCore = Math.max(loadBefore, os.loadavg()[0]!) / Math.max(1, os.cpus().length);
  const p95Limit = loadPerCore > 4 ? 6500 : 5000;
  console.log(`  load ${loadPerCore.toFixed(1)} per core: p95 limit ${p95Limit} ms; live supernodes dropped by mistake before the kill: ${j.reattach.falseDetaches}`);
  assert.ok(j.reattach.p95 <= p95Limit, `p95 re-attach ${j.reattach.p95} ms`);
  assert.ok(j.reattach.max <= 8000, `slowest re-attach ${j.reattach.max} ms`);
  assert.ok(j.reattach.falseDetaches <= 20, `${j.reattach.falseDetaches} live supernodes dropped by mistake`);
  assert.is(j.foundAfter, 19);
  assert.is(j.cleanShutdowns, 22, `clean SIGTERM shutdowns; exit codes ${JSON.stringify(j.exitCodes)}`);
  assert.ok(j.ok, JSON.stringify(j));
  console.log(`  loopback cluster: ${JSON.stringify(j)}`);
});

s.run();
