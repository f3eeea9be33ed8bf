/** A supernode's estimate of its area's load (area-load.ts). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AreaLoad } from '../../src/overlay/area-load.ts';
import { VirtualClock } from '../../src/virtual-clock.ts';

const s = suite('overlay/area load');

s('alone it is the own load; with reports the mean of the reports and the own load', () => {
  const clock = new VirtualClock();
  const area = new AreaLoad({ clock });
  assert.is(area.estimate(70), 70);
  area.note('a', 60);
  assert.is(area.estimate(70), 65);
  for (const [id, load] of [['b', 50], ['c', 80], ['d', 100], ['e', 0], ['f', 90], ['g', 40]] as const) area.note(id, load);
  assert.is(area.estimate(70), (0 + 40 + 50 + 60 + 70 + 80 + 90 + 100) / 8);
});

s('new, empty supernodes pull it down (the room they add is what counts)', () => {
  const clock = new VirtualClock();
  const area = new AreaLoad({ clock });
  for (let i = 0; i < 30; i++) area.note(`full${i}`, 95);
  assert.ok(area.estimate(95) > 80, 'a full area');
  for (let i = 0; i < 10; i++) area.note(`new${i}`, 0);
  assert.ok(area.estimate(95) < 80, `room again: ${area.estimate(95)}`);
});

s('a report is replaced by the next from the same peer; old reports age out; the table is bounded', async () => {
  const clock = new VirtualClock();
  const area = new AreaLoad({ clock, maxPeers: 3, maxAgeMs: 60_000 });
  area.note('a', 10);
  area.note('a', 90);
  assert.is(area.size, 1);
  assert.is(area.estimate(90), 90);
  area.note('b', 20);
  area.note('c', 30);
  area.note('d', 40);
  assert.is(area.size, 3, 'the least recently heard is forgotten');
  assert.is(area.estimate(30), 30, 'a forgotten: 20 30 40 and the own 30');
  await clock.advance(61_000);
  area.note('e', 80);
  assert.is(area.estimate(80), 80, 'only the fresh report and the own load count');
  area.forget('e');
  assert.is(area.estimate(50), 50);
  area.note('x', Number.NaN);
  area.note('y', 1000);
  assert.is(area.estimate(100), 100, 'NaN ignored, 1000 clamped to 100');
});

s('where few supernodes reported lately it names a few not heard from to ask; none where many did', async () => {
  const clock = new VirtualClock();
  const area = new AreaLoad({ clock, refreshMs: 120_000, minFresh: 3 });
  const table = ['a', 'b', 'c', 'd', 'e', 'f'];
  const id = (x: string) => x;
  assert.equal(area.toRefresh(table, id, 4), ['a', 'b', 'c', 'd']);
  area.note('a', 50);
  area.note('b', 50);
  assert.equal(area.toRefresh(table, id, 4), ['c', 'd', 'e', 'f'], 'those heard from lately are not asked again');
  area.note('c', 50);
  assert.equal(area.toRefresh(table, id), [], 'enough fresh reports: nobody is asked');
  await clock.advance(121_000);
  area.note('d', 50);
  assert.equal(area.toRefresh(table, id, 2), ['a', 'b'], 'reports older than refreshMs count as not heard');
});

s.run();
