/**
 * One identity on two devices, as separate `tincan answer` processes: a call rings both,
 * the first answer wins, the other device stops. Loopback-only namespace (root; CI runs
 * as root). The driver is test/node/multi-device.script.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lastJson, runInLoopbackNetns } from '../helpers/loopback-netns.ts';

const s = suite('calls: one identity on two devices');
let dir = '';
s.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tincan-devices-'));
});
s.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Json = Record<string, any>;

s('both devices ring; the first to answer wins and the other stops', async () => {
  const r = lastJson<Json>(await runInLoopbackNetns('test/node/multi-device.script.ts', [dir], 150_000));
  console.log(JSON.stringify({ call: { code: r.call.code, ok: r.call.json?.ok, setupMs: r.call.json?.setupMs }, laptop: { code: r.laptop.code, ok: r.laptop.json?.ok, error: r.laptop.json?.error, log: r.laptop.log }, desk: { code: r.desk.code, ok: r.desk.json?.ok, error: r.desk.json?.error, log: r.desk.log } }));
  assert.is(r.call.code, 0, JSON.stringify(r.call));
  assert.ok(r.call.json.packetsReceived > 10 || r.call.json.packetsSent > 50);
  const devices = [r.laptop, r.desk];
  const winners = devices.filter((d) => d.code === 0 && d.json?.ok === true && d.json.packetsReceived > 20);
  const losers = devices.filter((d) => d.code !== 0);
  assert.is(winners.length, 1, `exactly one device took the call: ${JSON.stringify(devices.map((d) => ({ code: d.code, json: d.json })))}`);
  assert.is(losers.length, 1);
  assert.match(losers[0]!.json.error, /answered on another device/);
});

s.run();
