import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { CalendarQueue, EventQueue, type QueuedEvent } from '../../src/net/sim-queue.ts';

const s = suite('SimNet event queues (fast-check)');

for (const [name, make] of [
  ['EventQueue', () => new EventQueue<QueuedEvent>()],
  ['CalendarQueue', () => new CalendarQueue<QueuedEvent>()],
] as const) {
  s(`${name} pops in (at, seq) order under interleaved pushes and pops`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 20 }) }), fc.constant({ pop: true as const })), { maxLength: 300 }),
        (ops) => {
          const q = make();
          const ref: QueuedEvent[] = [];
          let seq = 0;
          for (const op of ops) {
            if ('push' in op) {
              const e = { at: op.push, seq: seq++ };
              q.push(e);
              ref.push(e);
              ref.sort((x, y) => x.at - y.at || x.seq - y.seq);
            } else {
              const want = ref.shift();
              assert.is(q.peek(), want);
              assert.is(q.pop(), want);
            }
            assert.is(q.size, ref.length);
          }
          while (ref.length) assert.is(q.pop(), ref.shift());
          assert.is(q.pop(), undefined);
          q.clear();
          assert.is(q.size, 0);
        },
      ),
      { numRuns: 300, seed: 3 },
    );
  });
}

s.run();
