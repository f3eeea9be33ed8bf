import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { RouteCache } from '../../src/overlay/route-cache.ts';
import { makeRecord } from './fake-records.ts';

const t = suite('route cache (recipients\' supernodes for signals)');

t('remembers the supernodes of every device of a user, until the TTL', async () => {
  const clock = new VirtualClock();
  const random = new SeededRandom(1);
  const cache = new RouteCache({ clock }, { ttlMs: 60_000, maxEntries: 10 });
  const pk = random.bytes(32);
  const phone = makeRecord(clock, random, { pk });
  const laptop = makeRecord(clock, random, { pk });
  cache.remember([phone, laptop]);
  assert.equal(cache.records(phone.publicKey), [phone, laptop]);
  await clock.advance(60_001);
  assert.is(cache.records(phone.publicKey), undefined, 'stale after the TTL');
  assert.is(cache.size, 0);
});

t('records already expired give no route; forget drops one; the table is bounded', () => {
  const clock = new VirtualClock();
  const random = new SeededRandom(2);
  const cache = new RouteCache({ clock }, { ttlMs: 60_000, maxEntries: 3 });
  const old = makeRecord(clock, random, { expiresAt: clock.now() - 1 });
  cache.remember([old]);
  assert.is(cache.records(old.publicKey), undefined);
  const rs = [0, 1, 2, 3].map(() => makeRecord(clock, random));
  cache.remember(rs);
  assert.is(cache.size, 3);
  assert.is(cache.records(rs[0]!.publicKey), undefined, 'the oldest was evicted');
  assert.ok(cache.records(rs[3]!.publicKey));
  cache.forget(rs[3]!.publicKey);
  assert.is(cache.records(rs[3]!.publicKey), undefined);
});

t.run();
