import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { estimateQuality, rToMos } from '../../src/call/e-model.ts';

const e = suite('E-model');

e('a clean short path scores toll quality or better', () => {
  const q = estimateQuality({ rttMs: 20, jitterBufferMs: 20, lossPct: 0, codec: 'opus' });
  assert.ok(q.mos > 4.2 && q.mos <= 4.5, `mos ${q.mos}`);
});

e('loss and delay lower the score monotonically', () => {
  let prev = 5;
  for (const loss of [0, 1, 3, 5, 10, 20]) {
    const q = estimateQuality({ rttMs: 100, jitterBufferMs: 40, lossPct: loss, codec: 'opus' });
    assert.ok(q.mos < prev, `loss ${loss}: ${q.mos} < ${prev}`);
    prev = q.mos;
  }
  prev = 5;
  for (const rtt of [0, 200, 400, 800]) {
    const q = estimateQuality({ rttMs: rtt, jitterBufferMs: 40, lossPct: 1, codec: 'opus' });
    assert.ok(q.mos < prev);
    prev = q.mos;
  }
});

e('FEC makes loss hurt less', () => {
  const plain = estimateQuality({ rttMs: 50, jitterBufferMs: 40, lossPct: 5, codec: 'opus' });
  const fec = estimateQuality({ rttMs: 50, jitterBufferMs: 40, lossPct: 5, codec: 'opus-fec' });
  assert.ok(fec.mos > plain.mos);
});

e('R to MOS matches the G.107 table points and clamps', () => {
  assert.is(rToMos(-5), 1);
  assert.is(rToMos(120), 4.5);
  assert.ok(Math.abs(rToMos(93.2) - 4.41) < 0.01);
  assert.ok(Math.abs(rToMos(50) - 2.58) < 0.01);
  const q = estimateQuality({ rttMs: NaN, jitterBufferMs: -1, lossPct: 500, codec: 'pcmu' });
  assert.ok(q.mos >= 1 && q.mos <= 4.5);
});

e.run();
