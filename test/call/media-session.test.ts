import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lastJson, runInLoopbackNetns } from '../helpers/loopback-netns.ts';

const media = suite('media session (werift, loopback namespace)');

media('two sessions connect, exchange audio both ways, report a direct path, detect a dead path', async () => {
  const r = lastJson<{
    setupMs: number; receivedByA: number; receivedByB: number; duplicatesDelivered: number; payloadOk: boolean;
    path: string; localType: string; rttMs: number; fingerprint: string; answerFingerprint: string; deadAfter: number;
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
});

media.run();
