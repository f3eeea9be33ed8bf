/**
 * `tincan supernode --metrics` and `tincan node --control SOCK --metrics` as separate
 * processes in a loopback-only namespace (driver: control-process.script.ts): the
 * scrapes carry real values, the control socket (mode 0600) answers status, lookup and a
 * real call to the echo service, and after SIGTERM the socket file and the metrics port
 * are gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lastJson, runInLoopbackNetns } from '../helpers/loopback-netns.ts';

const p = suite('control and metrics of tincan processes (loopback namespace)');
let dir = '';
p.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tincan-control-proc-'));
});
p.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Json = Record<string, any>;

p('scrapes show the live node; status, lookup and call over the socket; both close on SIGTERM', async () => {
  const r = lastJson<Json>(await runInLoopbackNetns('test/control/control-process.script.ts', [dir], 180_000));
  const said = (r.aliceLines as string[]).join('\n');
  assert.match(said, new RegExp(`^control API on ${join(dir, 'alice.sock')}$`, 'm'));
  assert.match(said, /^metrics on http:\/\/127\.0\.0\.1:46302\/metrics$/m);
  assert.is(r.socketMode, '600');

  // alice's scrape: a leaf attached to the one supernode.
  assert.is(r.aliceScrape.status, 200);
  assert.ok(r.aliceScrape.lines.includes('tincan_overlay_attached_supernodes 1'), r.aliceScrape.lines.join('\n'));
  assert.ok(r.aliceScrape.lines.includes('tincan_overlay_role{role="leaf"} 1'), r.aliceScrape.lines.join('\n'));
  assert.ok(r.aliceScrape.lines.some((l: string) => l.startsWith(`tincan_node_info{id="${r.status.id}"`)), 'node_info names the node of the status');
  assert.ok(r.aliceScrape.lines.some((l: string) => /^process_cpu_seconds_total \d/.test(l)));

  // status over the socket.
  assert.is(r.status.name, 'alice');
  assert.is(r.status.role, 'leaf');
  assert.is(r.status.supernodes.length, 1);
  assert.is(r.status.supernodes[0].id, r.snId);
  assert.is(r.status.supernodes[0].address, '127.0.0.1:46300');
  assert.is(r.status.overlay.counters.attaches >= 1, true);

  // lookup finds the echo service's record, published through the supernode.
  assert.is(r.lookup.records.length, 1, JSON.stringify(r.lookup));
  assert.is(r.lookup.records[0].name, 'echo');
  assert.equal(r.lookup.records[0].supernodes, ['127.0.0.1:46300']);
  assert.is(r.badParams.code, -32602);

  // A real call placed through the socket, answered by the echo service.
  assert.is(r.call.ok, true, JSON.stringify(r.call));
  assert.is(r.call.call, 'echo');
  assert.ok(r.call.setupMs > 0 && r.call.setupMs < 20_000, `setup ${r.call.setupMs}`);
  assert.ok(r.call.packetsSent > 20, `sent ${r.call.packetsSent}`);
  assert.ok(r.calls.calls.some((c: Json) => c.state === 'ended' && c.reason === 'hangup'), JSON.stringify(r.calls));
  assert.ok(r.aliceAfter.includes('tincan_calls{state="ended"} 1'), r.aliceAfter.join('\n'));
  const lookups = Number(r.aliceAfter.find((l: string) => l.startsWith('tincan_overlay_lookups_total '))?.split(' ')[1]);
  assert.ok(lookups >= 2, `lookups ${lookups}`); // the lookup(s) and the call's

  // The supernode's scrape: two leaves, TURN on.
  assert.is(r.snScrape.status, 200);
  assert.ok(r.snScrape.lines.includes('tincan_overlay_leaves 2'), r.snScrape.lines.join('\n'));
  assert.ok(r.snScrape.lines.includes('tincan_overlay_role{role="supernode"} 1'));
  assert.ok(r.snScrape.lines.includes('tincan_turn_enabled 1'));
  assert.ok(r.snScrape.lines.some((l: string) => /^tincan_overlay_stored_records [1-9]/.test(l)), r.snScrape.lines.join('\n'));

  // Bad endpoints: refused before joining, with the reason, and the file left alone.
  assert.is(r.badControl.code, 1);
  assert.is(r.badControl.json.ok, false);
  assert.match(r.badControl.json.error, /could not serve --control: .*not-a-socket exists and is not a socket/);
  assert.is(r.notASocket, 'keep me');
  assert.is(r.busyMetrics.code, 1);
  assert.match(r.busyMetrics.json.error, /could not serve --metrics: .*EADDRINUSE/);

  // SIGTERM: the socket file is removed and the metrics port closed.
  assert.ok(r.aliceExited);
  assert.is(r.socketLeft, false);
  assert.is(r.metricsPortOpen, false);
});

p.run();
