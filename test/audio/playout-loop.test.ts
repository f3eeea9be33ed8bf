import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { NullSink } from '../../src/audio/generated.ts';
import { startPlayoutLoop } from '../../src/audio/playout-loop.ts';
import { JitterBuffer } from '../../codecs/jitter-buffer.ts';
import { Playout } from '../../codecs/playout.ts';

const s = suite('audio: playout loop');

s('pulls one frame per 20 ms into the sink, and feeds the jitter buffer the tick times', async () => {
  const clock = new VirtualClock();
  const sink = new NullSink();
  const decoded: number[] = [];
  const playout = new Playout(new JitterBuffer({ initialDelayMs: 40 }), {
    decode: (p) => (decoded.push(p[0]!), new Int16Array(960).fill(p[0]!)),
    conceal: () => new Int16Array(960),
  });
  const ac = new AbortController();
  const loop = startPlayoutLoop({ clock, sink, pull: (now) => playout.pull(now).pcm, signal: ac.signal });
  const t0 = clock.now();
  // A sender: one packet every 20 ms, 50 of them.
  for (let n = 0; n < 50; n++) clock.setTimeout(() => playout.insert({ seq: n, timestamp: n * 960, arrivalMs: clock.now(), payload: new Uint8Array([n]) }), n * 20 + 5);
  await clock.advance(1200);
  assert.ok(loop.frames >= 60 && loop.frames <= 62, `${loop.frames} frames in 1.2 s`);
  assert.is(sink.stats().frames, loop.frames);
  assert.equal(decoded, Array.from({ length: 50 }, (_, n) => n));
  assert.ok(clock.now() - t0 === 1200);
  ac.abort();
  await clock.advance(100);
  assert.is(clock.pending, 0, 'stopped: no timers left');
  assert.is(loop.slips, 0);
});

s('a late timer is caught up, a very late one slips', () => {
  // A hand-driven clock: time jumps without the timer firing (a blocked event loop).
  let now = 1000;
  let fire = () => {};
  const clock = {
    now: () => now,
    setInterval: (fn: () => void) => ((fire = fn), { cancel: () => {} }),
    setTimeout: () => ({ cancel: () => {} }),
    setTimeoutReusing: () => ({ cancel: () => {} }),
    sleep: async () => {},
  };
  const sink = new NullSink();
  const loop = startPlayoutLoop({ clock, sink, pull: () => new Int16Array(960) });
  assert.is(loop.frames, 1);
  for (let i = 0; i < 9; i++) (now += 20), fire();
  assert.is(loop.frames, 10);
  now += 60;
  fire();
  assert.is(loop.frames, 13, 'caught up 3 frames');
  assert.is(loop.slips, 0);
  now += 1000;
  fire();
  assert.is(loop.frames, 16, 'at most 3 at once');
  assert.is(loop.slips, 1);
  now += 20;
  fire();
  assert.is(loop.frames, 17, 'then on schedule again');
  loop.stop();
});

s('an error from the sink stops the loop and is reported', async () => {
  const clock = new VirtualClock();
  let reported: unknown;
  const loop = startPlayoutLoop({
    clock,
    sink: { ...new NullSink(), description: 'x', write: () => { throw new Error('device gone'); }, flush: async () => {}, close: async () => {}, stats: () => ({ frames: 0, dropped: 0 }) },
    pull: () => new Int16Array(960),
    onError: (e) => (reported = e),
  });
  await clock.advance(100);
  assert.match(String(reported), /device gone/);
  assert.is(loop.frames, 0);
  assert.is(clock.pending, 0);
});

s.run();
