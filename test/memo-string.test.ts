import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memoString } from '../src/memo-string.ts';

const s = suite('memoString');

s('computes once per argument, forgets the oldest beyond its size, and does not cache throws', () => {
  const calls: string[] = [];
  const f = memoString((x: string) => {
    calls.push(x);
    if (x === 'bad') throw new Error('bad input');
    return x.length === 0 ? undefined : x.toUpperCase();
  }, 2);
  assert.is(f('a'), 'A');
  assert.is(f('a'), 'A');
  assert.is(f(''), undefined);
  assert.is(f(''), undefined); // an undefined result is remembered too
  assert.equal(calls, ['a', '']);
  f('b'); // forgets 'a'
  f('a');
  assert.equal(calls, ['a', '', 'b', 'a']);
  assert.throws(() => f('bad'), /bad input/);
  assert.throws(() => f('bad'), /bad input/);
  assert.equal(calls.filter((c) => c === 'bad').length, 2);
});

s.run();
