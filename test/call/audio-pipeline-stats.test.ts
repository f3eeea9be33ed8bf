/**
 * Unit tests of the figures the audio pipeline reports: RFC 3550 receive statistics
 * (src/call/rtp-receive-stats.ts) and the per-second call stats (src/call/call-stats.ts).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RtpReceiveStats } from '../../src/call/rtp-receive-stats.ts';
import { buildCallStats } from '../../src/call/call-stats.ts';
import type { PlayoutStats } from '../../codecs/playout.ts';

const rx = suite('RTP receive stats (RFC 3550)');

rx('no jitter and no loss for a perfectly paced stream, across sequence wraparound', () => {
  const s = new RtpReceiveStats(48000);
  for (let i = 0; i < 200; i++) s.onPacket((65500 + i) & 0xffff, (4294967000 + i * 960) >>> 0, 1000 + i * 20);
  const snap = s.snapshot();
  assert.is(snap.received, 200);
  assert.is(snap.expected, 200);
  assert.is(snap.lost, 0);
  assert.ok(snap.jitterMs < 0.05, `jitter ${snap.jitterMs}`);
});

rx('loss counts missing sequence numbers; jitter converges to the mean |D| of alternating delays', () => {
  const s = new RtpReceiveStats(48000);
  let received = 0;
  for (let i = 0; i < 1000; i++) {
    if (i % 10 === 3) continue; // 10% lost
    s.onPacket(i, i * 960, i * 20 + (i % 2 ? 10 : 0));
    received++;
  }
  const snap = s.snapshot();
  assert.is(snap.expected, 1000);
  assert.is(snap.received, received);
  assert.ok(Math.abs(snap.lossPct - 10) < 0.01, `loss ${snap.lossPct}`);
  // |D| is 10 ms between neighbours, 0 across a gap of two; J tends to E|D| (~9 ms).
  assert.ok(snap.jitterMs > 7 && snap.jitterMs < 10.5, `jitter ${snap.jitterMs}`);
});

rx('a new stream (reset) keeps the loss counts and does not count the sequence jump', () => {
  const s = new RtpReceiveStats(48000);
  for (let i = 0; i < 100; i++) if (i !== 50) s.onPacket(i, i * 960, i * 20);
  s.reset();
  for (let i = 0; i < 100; i++) s.onPacket(30000 + i, (100 + i) * 960, 2000 + i * 20);
  const snap = s.snapshot();
  assert.is(snap.expected, 200);
  assert.is(snap.lost, 1);
});

rx.run();

const cs = suite('call stats');

const playout = (o: Partial<PlayoutStats>): PlayoutStats => ({
  currentDelayMs: 60, targetDelayMs: 60, bufferedPackets: 2, bufferedMs: 40, received: 0, played: 0, late: 0, lost: 0,
  concealed: 0, fecRecovered: 0, duplicates: 0, reordered: 0, dtxFrames: 0, accelerate: 0, expand: 0, preemptiveExpand: 0,
  overflow: 0, resets: 0, invalid: 0, redundantUsed: 0, decodeErrors: 0, fadedFrames: 0, comfortFrames: 0, lengthMismatches: 0, ...o,
});
const path = { path: 'relay' as const, localType: 'relay', remoteType: 'srflx', localAddress: '198.18.1.2:50000', remoteAddress: '198.18.5.2:4000',
  rttMs: 40, packetsSent: 50, packetsReceived: 50, bytesSent: 3000, bytesReceived: 3000, replaysDropped: 0, redRecovered: 0, restarts: 0 };
const rxSnap = { received: 50, expected: 50, lost: 0, lossPct: 0, jitterMs: 2 };

cs('bitrates and residual loss over the interval, relay via the TURN address, MOS from the E-model', () => {
  const first = buildCallStats({ nowMs: 1000, path, rx: rxSnap, playout: playout({ played: 50 }), redDistance: 0, encoderLossPct: 0, fec: true });
  assert.is(first.stats.via, '198.18.1.2:50000');
  assert.is(first.stats.residualLossPct, 0);
  assert.ok(first.stats.mos > 4.2, `clean MOS ${first.stats.mos}`);
  const second = buildCallStats({
    nowMs: 2000,
    path: { ...path, bytesSent: 6000, bytesReceived: 6000, remoteLossFraction: 0.1 },
    rx: { ...rxSnap, lossPct: 10 },
    playout: playout({ played: 90, fecRecovered: 5, concealed: 5 }),
    redDistance: 1,
    encoderLossPct: 10,
    fec: true,
    previous: first.baseline,
  });
  assert.is(second.stats.sendKbps, 24); // 3000 bytes in 1 s
  assert.is(second.stats.recvKbps, 24);
  assert.is(second.stats.remoteLossPct, 10);
  assert.is(second.stats.residualLossPct, 10); // 5 of the 50 frames of this interval concealed
  assert.ok(second.stats.mos < first.stats.mos, 'loss lowers the MOS');
  const direct = buildCallStats({ nowMs: 0, path: { ...path, path: 'direct', localType: 'host', remoteType: 'srflx' }, rx: rxSnap, playout: playout({}), redDistance: 0, encoderLossPct: 0, fec: true });
  assert.is(direct.stats.via, undefined);
});

cs.run();
