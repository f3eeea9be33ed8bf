import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { RateLimiter, TokenBucket } from '../../src/overlay/rate-limit.ts';
import { SeenSet } from '../../src/overlay/seen-set.ts';

const r = suite('overlay/rate-limit');

r('a bucket allows its burst, then its rate', async () => {
  const clock = new VirtualClock();
  const b = new TokenBucket({ ratePerSec: 10, burst: 5 }, clock);
  let ok = 0;
  for (let i = 0; i < 20; i++) if (b.take()) ok++;
  assert.is(ok, 5);
  await clock.advance(1000);
  ok = 0;
  for (let i = 0; i < 20; i++) if (b.take()) ok++;
  assert.is(ok, 5, 'refill is capped at the burst');
  await clock.advance(300);
  assert.ok(b.take(3));
  assert.not.ok(b.take(1));
  assert.throws(() => new TokenBucket({ ratePerSec: -1, burst: 1 }, clock), RangeError);
  assert.throws(() => new TokenBucket({ ratePerSec: 1, burst: 0 }, clock), RangeError);
});

r('over any window, granted <= burst + rate * seconds (property)', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 20 }),
    fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 200 }),
    (rate, burst, gaps) => {
      const clock = { t: 0, now() { return this.t; } };
      const b = new TokenBucket({ ratePerSec: rate, burst }, clock);
      let granted = 0;
      for (const g of gaps) {
        clock.t += g;
        if (b.take()) granted++;
      }
      return granted <= burst + (rate * clock.t) / 1000 + 1e-9;
    }));
});

r('per-key limiter isolates keys and stays bounded', () => {
  const clock = new VirtualClock();
  const l = new RateLimiter<string>({ clock, ratePerSec: 1, burst: 2, maxKeys: 100 });
  assert.ok(l.take('a') && l.take('a'));
  assert.not.ok(l.take('a'));
  assert.ok(l.take('b'), 'another peer has its own bucket');
  for (let i = 0; i < 1000; i++) l.take(`k${i}`);
  assert.is(l.size, 100);
  assert.ok(l.refused >= 1);
  assert.is(l.prune(), 0, 'just-used buckets are not full');
});

const s = suite('overlay/seen-set');

s('duplicates are detected until expiry; size is bounded', async () => {
  const clock = new VirtualClock();
  const seen = new SeenSet<string>({ clock, ttlMs: 1000, maxEntries: 3 });
  assert.ok(seen.add('a', 'peer1'));
  assert.not.ok(seen.add('a', 'peer2'));
  assert.is(seen.get('a'), 'peer1');
  await clock.advance(999);
  assert.ok(seen.has('a'));
  await clock.advance(1);
  assert.not.ok(seen.has('a'), 'expired');
  assert.ok(seen.add('a'));
  for (const x of ['b', 'c', 'd', 'e']) seen.add(x);
  assert.is(seen.size, 3);
  assert.not.ok(seen.has('a'), 'oldest evicted when full');
  assert.is(seen.evicted, 2);
  assert.throws(() => new SeenSet({ clock, ttlMs: 0, maxEntries: 1 }), RangeError);
});

r.run();
s.run();
