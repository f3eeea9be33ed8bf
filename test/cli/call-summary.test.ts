import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { callSummaryLine } from '../../src/cli/commands/call-common.ts';

const s = suite('cli/call summary line');

const json = { setupMs: 412, path: 'relay', via: '198.18.2.2:51431', rttMs: 54, jitterMs: 1.3, lossPct: 0.5, mos: 4.2, packetsSent: 1100, packetsReceived: 1080 };

s('says how the call went, and nothing of restarts when there were none', () => {
  const line = callSummaryLine('bob', 22, { ...json, restarts: 0 });
  assert.is(line, 'call with bob ended after 22 s: setup 412 ms, relay via 198.18.2.2:51431, rtt 54 ms, jitter 1.3 ms, loss 0.5%, MOS 4.2, packets 1100 sent / 1080 received');
});

s('says how often the media path was restarted', () => {
  assert.match(callSummaryLine('bob', 22, { ...json, restarts: 1 }), /, media path restarted once$/);
  assert.match(callSummaryLine('bob', 22, { ...json, restarts: 3 }), /, media path restarted 3 times$/);
});

s('a direct path names no relay', () => {
  assert.match(callSummaryLine('bob', 5, { ...json, path: 'direct', via: null }), /setup 412 ms, direct, rtt/);
});

s.run();
