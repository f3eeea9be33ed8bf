/** The power-of-choices rule a leaf attaches by (attach-choice.ts). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LOAD_FLOOR_PCT, leastLoaded } from '../../src/overlay/attach-choice.ts';

const s = suite('overlay/attach choice');

s('keeps the least loaded offers above the floor that fit, declines the rest', () => {
  const offers = [{ id: 'a', load: 90 }, { id: 'b', load: 60 }, { id: 'c', load: 75 }, { id: 'd', load: 55 }];
  const { keep, decline } = leastLoaded(offers, 2);
  assert.equal(keep.map((o) => o.id), ['d', 'b']);
  assert.equal(decline.map((o) => o.id), ['c', 'a']);
  assert.equal(offers.map((o) => o.id), ['a', 'b', 'c', 'd'], 'the input is not reordered');
});

s('a supernode claiming to be idle gains nothing over one that is not busy: below the floor, answer order decides', () => {
  assert.is(LOAD_FLOOR_PCT, 50);
  const offers = [{ id: 'honest', load: 35 }, { id: 'busy', load: 80 }, { id: 'liar', load: 0 }, { id: 'quiet', load: 50 }];
  assert.equal(leastLoaded(offers, 2).keep.map((o) => o.id), ['honest', 'liar']);
  assert.equal(leastLoaded(offers, 3).keep.map((o) => o.id), ['honest', 'liar', 'quiet']);
  assert.equal(leastLoaded(offers, 3).decline.map((o) => o.id), ['busy'], 'the busy one still loses');
});

s('equal loads keep the order the answers came in; no room keeps none', () => {
  const offers = [{ id: 'first', load: 40 }, { id: 'second', load: 40 }];
  assert.equal(leastLoaded(offers, 1).keep.map((o) => o.id), ['first']);
  assert.equal(leastLoaded(offers, 0).decline.length, 2);
  assert.equal(leastLoaded(offers, -1).keep, []);
  assert.equal(leastLoaded(offers, 5).keep.length, 2);
});

s.run();
