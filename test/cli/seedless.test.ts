/**
 * `tincan lookup` and `tincan call` without `--seed` join through the host cache that an
 * earlier run left in --home; from an empty home they fail with a message saying what to
 * do. Separate processes in a loopback-only namespace (root; CI runs as root).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lastJson, runInLoopbackNetns } from '../helpers/loopback-netns.ts';

const s = suite('cli: commands without --seed');
let dir = '';
s.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tincan-seedless-'));
});
s.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Json = Record<string, any>;

s('lookup and call join through the host cache in --home; an empty home says to give --seed', async () => {
  const r = lastJson<Json>(await runInLoopbackNetns('test/cli/seedless.script.ts', [dir], 150_000));
  console.log(JSON.stringify({ lookup: r.lookup.json?.records?.length, call: { ok: r.call.json?.ok, setupMs: r.call.json?.setupMs }, empty: r.empty.json }));
  assert.is(r.lookup.code, 0, JSON.stringify(r.lookup));
  assert.is(r.lookup.json.records[0].name, 'alice');
  assert.is(r.call.code, 0, JSON.stringify(r.call));
  assert.is(r.call.json.ok, true);
  assert.ok(r.call.json.packetsReceived > 10, `echo sent back ${r.call.json.packetsReceived} packets`);
  assert.is(r.empty.code, 1);
  assert.is(r.empty.json.ok, false);
  assert.match(r.empty.json.error, /no supernode found: no --seed, .* give --seed HOST:PORT/);
});

s.run();
