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
  // Window sizes 64 and 512, ids mostly small and rising (an RPC peer's), some far ahead:
  // the bits of the first 30 slots kept inline, then the array made, behave as one window.
  const ids = fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2000 })), { maxLength: 400 });
  fc.assert(
    fc.property(ids, fc.constantFrom(64, 512), (ids, size) => {
      const w = new SerialWindow(size);
      const seen = new Set<number>();
      let highest = -1;
      for (const id of ids) {
        const expected = highest >= 0 && highest - id >= size ? 'stale' : seen.has(id) ? 'duplicate' : 'new';
        assert.is(w.check(id), expected);
        w.mark(id);
        if (expected !== 'stale') seen.add(id);
        highest = Math.max(highest, id);
      }
    }),
    { numRuns: 1000 },
  );
});

s('ids seen while the bits were inline stay seen once the array is made', () => {
  const w = new SerialWindow(512);
  for (const id of [0, 1, 2, 19, 29]) w.mark(id);
  w.mark(30); // the first slot beyond the inline ones
  for (const id of [0, 1, 2, 19, 29, 30]) assert.is(w.check(id), 'duplicate', `id ${id}`);
  for (const id of [3, 28, 31]) assert.is(w.check(id), 'new', `id ${id}`);
});

s.run();
