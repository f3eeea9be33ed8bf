/**
 * Two MediaSessions in one process on 127.0.0.1 (run inside a loopback-only namespace by
 * media-session.test.ts): offer/answer, 100 audio packets each way, a replayed packet,
 * then the sender goes silent so the watchdog must declare the path dead. Then a restart
 * offer that leaves out a relay the first offer had: the answering side's new peer
 * connection leaves that relay's servers out (`deadRelay` in its log).
 */
import { MediaSession } from '../../src/call/media-session.ts';
import { RealClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';

const clock = new RealClock();
const log = silentLogger();
const init = { iceServers: [], additionalHostAddresses: ['127.0.0.1'], deadAfterMs: 1000 };
const a = new MediaSession({ clock, log }, init);
const b = new MediaSession({ clock, log }, init);
const t0 = Date.now();
const offer = await a.offer();
const answer = await b.answer(offer);
await a.complete(answer);
await Promise.all([a.connected, b.connected]);
const setupMs = Date.now() - t0;

const gotA: number[] = [];
const gotB: number[] = [];
let payloadOk = true;
a.onAudio((p) => gotA.push(p.seq));
b.onAudio((p) => {
  gotB.push(p.seq);
  if (p.payload.length !== 3 || p.payload[0] !== 0xaa) payloadOk = false;
});
for (let i = 0; i < 100; i++) {
  a.sendAudio(new Uint8Array([0xaa, i & 0xff, 0x55]), i * 960);
  b.sendAudio(new Uint8Array([0xbb, i & 0xff]), i * 960);
  await new Promise((r) => setTimeout(r, 5));
}
const silentSince = Date.now();
await new Promise((r) => setTimeout(r, 300));
const stats = await a.stats();
let deadAfter = -1;
const dead = new Promise<void>((resolve) => a.onPathDead(() => {
  deadAfter = Date.now() - silentSince;
  resolve();
}));
await Promise.race([dead, new Promise((r) => setTimeout(r, 4000))]);
await a.close();
await b.close();

// The restart: c's first offer carries a relay candidate at 127.0.0.2 (added to its SDP, as
// if c relayed through that supernode); its restart offer does not. Nothing listens on the
// servers' ports: only the order the answering side picks is looked at.
const restartLines: Record<string, unknown>[] = [];
const capture = silentLogger();
capture.info = (obj: object | string, msg?: string) => {
  if (typeof obj === 'object' && msg === 'media: new peer connection for the restart') restartLines.push(obj as Record<string, unknown>);
};
const servers = [{ urls: 'stun:127.0.0.2:9' }, { urls: 'stun:127.0.0.3:9' }];
const c = new MediaSession({ clock, log }, { ...init, gatherTimeoutMs: 300 });
const d = new MediaSession({ clock, log: capture }, { ...init, iceServers: servers, gatherTimeoutMs: 300 });
const relayLine = 'a=candidate:9 1 udp 16777215 127.0.0.2 40000 typ relay raddr 127.0.0.1 rport 1\r\n';
const firstOffer = (await c.offer()).replace(/(a=candidate:[^\r\n]*\r\n)/, `$1${relayLine}`);
await c.complete(await d.answer(firstOffer));
await d.answer(await c.offer({ iceRestart: true }));
await c.close();
await d.close();

console.log(JSON.stringify({
  restartDeadRelay: restartLines.map((l) => l.deadRelay ?? null),
  setupMs,
  receivedByA: new Set(gotA).size,
  receivedByB: new Set(gotB).size,
  duplicatesDelivered: gotB.length - new Set(gotB).size,
  payloadOk,
  path: stats.path,
  localType: stats.localType,
  rttMs: stats.rttMs,
  fingerprint: MediaSession.fingerprint(offer),
  answerFingerprint: MediaSession.fingerprint(answer),
  deadAfter,
}));
