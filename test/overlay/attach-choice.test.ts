/** The power-of-choices rule a leaf attaches by (attach-choice.ts). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { leastLoaded } from '../../src/overlay/attach-choice.ts';

const s = suite('overlay/attach choice');

s('keeps the least loaded offers that fit, declines the rest', () => {
  const offers = [{ id: 'a', load: 90 }, { id: 'b', load: 10 }, { id: 'c', load: 50 }, { id: 'd', load: 30 }];
  const { keep, decline } = leastLoaded(offers, 2);
  assert.equal(keep.map((o) => o.id), ['b', 'd']);
  assert.equal(decline.map((o) => o.id), ['c', 'a']);
  assert.equal(offers.map((o) => o.id), ['a', 'b', 'c', 'd'], 'the input is not reordered');
});

s('equal loads keep the order the answers came in; no room keeps none', () => {
  const offers = [{ id: 'first', load: 40 }, { id: 'second', load: 40 }];
  assert.equal(leastLoaded(offers, 1).keep.map((o) => o.id), ['first']);
  assert.equal(leastLoaded(offers, 0).decline.length, 2);
  assert.equal(leastLoaded(offers, -1).keep, []);
  assert.equal(leastLoaded(offers, 5).keep.length, 2);
});

s.run();
