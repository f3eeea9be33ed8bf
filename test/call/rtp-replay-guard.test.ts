import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { REPLAY_WINDOW, RtpReplayGuard } from '../../src/call/rtp-replay-guard.ts';

const g = suite('RTP replay guard');

g('accepts new packets, rejects duplicates, tolerates reordering', () => {
  const guard = new RtpReplayGuard();
  assert.ok(guard.accept(1, 100));
  assert.ok(guard.accept(1, 102));
  assert.ok(guard.accept(1, 101));
  assert.not.ok(guard.accept(1, 101));
  assert.not.ok(guard.accept(1, 102));
  assert.ok(guard.accept(2, 101), 'separate per SSRC');
  assert.is(guard.stats.duplicates, 2);
});

g('handles sequence wraparound', () => {
  const guard = new RtpReplayGuard();
  for (let i = 0; i < 70000; i++) assert.ok(guard.accept(7, (65000 + i) & 0xffff));
  assert.not.ok(guard.accept(7, (65000 + 69999) & 0xffff));
  assert.not.ok(guard.accept(7, (65000 + 69990) & 0xffff));
});

g('rejects packets older than the window', () => {
  const guard = new RtpReplayGuard();
  guard.accept(1, 0);
  guard.accept(1, REPLAY_WINDOW + 10);
  assert.not.ok(guard.accept(1, 5));
  assert.is(guard.stats.tooOld, 1);
  assert.ok(guard.accept(1, 20), 'inside the window and unseen');
});

g('property: each sequence number is accepted at most once inside the window', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 600 }), (offsets) => {
      const guard = new RtpReplayGuard();
      const seen = new Set<number>();
      for (const o of offsets) {
        const seq = (60000 + o) & 0xffff;
        const ok = guard.accept(9, seq);
        if (seen.has(seq)) assert.not.ok(ok);
        else assert.ok(ok);
        seen.add(seq);
      }
    }),
  );
});

g('bounded number of SSRCs', () => {
  const guard = new RtpReplayGuard();
  for (let s = 0; s < 100; s++) guard.accept(s, 1);
  assert.ok(guard.stats.unknownSsrcDropped > 0);
});

g.run();
