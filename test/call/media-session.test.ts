import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lastJson, runInLoopbackNetns } from '../helpers/loopback-netns.ts';

const media = suite('media session (werift, loopback namespace)');

media('two sessions connect, exchange audio both ways, report a direct path, detect a dead path; a restart offer that drops a relay makes the answerer leave it out', async () => {
  const r = lastJson<{
    setupMs: number; receivedByA: number; receivedByB: number; duplicatesDelivered: number; payloadOk: boolean;
    path: string; localType: string; rttMs: number; fingerprint: string; answerFingerprint: string; deadAfter: number;
    restartDeadRelay: (string | null)[];
  }>(await runInLoopbackNetns('test/call/media-loopback.script.ts', [], 60_000));
  assert.ok(r.receivedByB >= 95, `B received ${r.receivedByB}/100`);
  assert.ok(r.receivedByA >= 95, `A received ${r.receivedByA}/100`);
  assert.is(r.duplicatesDelivered, 0);
  assert.ok(r.payloadOk);
  assert.is(r.path, 'direct');
  assert.is(r.localType, 'host');
  assert.ok(typeof r.rttMs === 'number' && r.rttMs >= 0 && r.rttMs < 500);
  assert.match(r.fingerprint, /^sha-256 [0-9A-F:]{95}$/);
  assert.not.equal(r.fingerprint, r.answerFingerprint, 'each peer connection has its own DTLS certificate, even in one process');
  assert.ok(r.deadAfter >= 900 && r.deadAfter <= 2500, `path declared dead after ${r.deadAfter} ms of silence`);
  assert.ok(r.setupMs < 5000);
  // The relay the peer's restart offer left out, read from the candidate lines of the
  // peer's previous offer.
  assert.equal(r.restartDeadRelay, ['127.0.0.2']);
});

media('closing a session while its offer gathers (with STUN and TURN) leaves no socket open, and its TURN allocation is released', async () => {
  const r = lastJson<{ before: number; during: number; after: number; serverRelays: number; outcomes: string[] }>(await runInLoopbackNetns('test/call/media-close.script.ts', [], 60_000));
  console.log(JSON.stringify(r));
  assert.is(r.outcomes.length, 6);
  // Every allocation was released at close (werift alone left them to expire after 10 min).
  assert.is(r.serverRelays, 0, JSON.stringify(r));
  for (const o of r.outcomes) assert.ok(o === 'offered' || o === 'media session closed', o);
  // Node lists open UDP sockets (process.getActiveResourcesInfo); Deno does not, so
  // there only the outcomes above are checked.
  if (typeof (globalThis as { Deno?: unknown }).Deno === 'undefined') {
    assert.ok(r.during > r.before, 'sockets were counted while offers gathered');
    // Only the TURN server's listening socket (in `before`) is left.
    assert.is(r.after, r.before, JSON.stringify(r));
  }
});

media.run();
