import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SilenceWatch } from '../../src/call/silence-watch.ts';

const watch = suite('SilenceWatch');

watch('judges the path dead once, at the first on-time tick after deadAfterMs of silence', () => {
  const w = new SilenceWatch(2000, 400, 0);
  const verdicts: number[] = [];
  for (let t = 400; t <= 4000; t += 400) if (w.check(t)) verdicts.push(t);
  assert.equal(verdicts, [2000]);
  assert.ok(w.isDead);
  assert.is(w.silentFor(4000), 4000);
});

watch('a packet clears the verdict and restarts the count', () => {
  const w = new SilenceWatch(2000, 400, 0);
  for (let t = 400; t <= 2000; t += 400) w.check(t);
  assert.ok(w.isDead);
  w.heard(2100);
  assert.not.ok(w.isDead);
  const verdicts: number[] = [];
  for (let t = 2400; t <= 4800; t += 400) if (w.check(t)) verdicts.push(t);
  assert.equal(verdicts, [4400]);
});

watch('a tick that comes after a stall judges nothing; the next one does', () => {
  const w = new SilenceWatch(2000, 400, 0);
  assert.not.ok(w.check(400));
  // The process did not run from 400 to 3000: the packets of that time wait behind this tick.
  assert.not.ok(w.check(3000), 'late tick');
  w.heard(3001); // read from the socket right after
  assert.not.ok(w.check(3400));
  // With no packet after the stall, the next on-time tick gives the verdict.
  const v = new SilenceWatch(2000, 400, 0);
  v.check(400);
  assert.not.ok(v.check(3000));
  assert.ok(v.check(3400));
});

watch('a tick up to two periods late still judges', () => {
  const w = new SilenceWatch(2000, 400, 0);
  w.check(1200);
  assert.ok(w.check(2000), '800 ms after the previous tick');
});

watch.run();
