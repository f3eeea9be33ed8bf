import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { SerialWindow } from '../../src/wire/serial-window.ts';

const s = suite('wire/serial-window');

s('new, duplicate, stale', () => {
  const w = new SerialWindow(64);
  assert.is(w.size, 64);
  assert.is(w.check(10), 'new');
  w.mark(10);
  assert.is(w.check(10), 'duplicate');
  assert.is(w.check(9), 'new');
  w.mark(9);
  assert.is(w.check(9), 'duplicate');
  w.mark(74);
  assert.is(w.check(10), 'stale');
  assert.is(w.check(11), 'new');
  assert.is(w.check(74), 'duplicate');
  w.mark(1000);
  assert.is(w.check(74), 'stale');
  assert.is(w.check(999), 'new');
});

s('wraps around 2^32', () => {
  const w = new SerialWindow(32);
  w.mark(0xffffffff);
  assert.is(w.check(0), 'new');
  w.mark(0);
  w.mark(1);
  assert.is(w.check(0xffffffff), 'duplicate');
  assert.is(w.check(0), 'duplicate');
  assert.is(w.check(0xfffffff0), 'new');
  assert.is(w.check(0xffffffe0), 'stale');
});

s('size rounds up to a power of two', () => {
  assert.is(new SerialWindow(100).size, 128);
  assert.is(new SerialWindow(1).size, 32);
  assert.throws(() => new SerialWindow(0));
});

s('matches a reference set model (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 400 }), (ids) => {
      const w = new SerialWindow(64);
      const seen = new Set<number>();
      let highest = -1;
      for (const id of ids) {
        const expected = highest >= 0 && highest - id >= 64 ? 'stale' : seen.has(id) ? 'duplicate' : 'new';
        assert.is(w.check(id), expected);
        w.mark(id);
        if (expected !== 'stale') seen.add(id);
        highest = Math.max(highest, id);
      }
    }),
  );
});

s.run();
