import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SMALL_EPOCH, VirtualClock, VIRTUAL_EPOCH } from '../src/virtual-clock.ts';
import { SeededRandom } from '../src/random.ts';

const clock = suite('virtual clock');

clock('fires timers in time order, ties in scheduling order', async () => {
  const c = new VirtualClock();
  const seen: string[] = [];
  c.setTimeout(() => seen.push('b'), 20);
  c.setTimeout(() => seen.push('a'), 10);
  c.setTimeout(() => seen.push('c'), 20);
  await c.advance(15);
  assert.equal(seen, ['a']);
  assert.is(c.now(), VIRTUAL_EPOCH + 15);
  await c.advance(5);
  assert.equal(seen, ['a', 'b', 'c']);
  assert.is(c.pending, 0);
});

clock('thousands of timers (more than the heap starts with) fire in (time, scheduling) order', async () => {
  const c = new VirtualClock();
  const r = new SeededRandom(7);
  const fired: [number, number][] = [];
  const timers = [];
  for (let i = 0; i < 5000; i++) {
    const delay = r.int(200); // many ties
    timers.push(c.setTimeout(() => fired.push([c.now() - VIRTUAL_EPOCH, i]), delay));
  }
  for (let i = 0; i < 5000; i += 7) timers[i]!.cancel();
  // Timers scheduled while firing go into the same heap.
  c.setTimeout(() => c.setTimeout(() => fired.push([c.now() - VIRTUAL_EPOCH, -1]), 50), 100);
  await c.advance(300);
  assert.is(fired.length, 5000 - Math.ceil(5000 / 7) + 1);
  for (let k = 1; k < fired.length; k++) {
    const [t0, i0] = fired[k - 1]!;
    const [t1, i1] = fired[k]!;
    assert.ok(t0 < t1 || (t0 === t1 && (i0 < i1 || i1 === -1)), `timer ${i1} at ${t1} fired after ${i0} at ${t0}`);
  }
  assert.ok(fired.some(([t, i]) => i === -1 && t === 150));
  assert.is(c.pending, 0);
});

clock('intervals repeat until cancelled; cancel is idempotent', async () => {
  const c = new VirtualClock();
  let n = 0;
  const t = c.setInterval(() => n++, 10);
  await c.advance(55);
  assert.is(n, 5);
  t.cancel();
  t.cancel();
  await c.advance(100);
  assert.is(n, 5);
  assert.is(c.pending, 0);
});

clock('sleep resolves at the virtual time and rejects on abort', async () => {
  const c = new VirtualClock();
  const order: number[] = [];
  const p = c.sleep(30).then(() => order.push(c.now() - VIRTUAL_EPOCH));
  await c.advance(29);
  assert.equal(order, []);
  await c.advance(1);
  await p;
  assert.equal(order, [30]);
  const ac = new AbortController();
  const q = c.sleep(100, ac.signal);
  ac.abort(new Error('stop'));
  await q.then(() => assert.unreachable('should reject'), (e: Error) => assert.is(e.message, 'stop'));
  assert.is(c.pending, 0);
});

clock('chained sleeps advance step by step', async () => {
  const c = new VirtualClock();
  const times: number[] = [];
  const task = (async () => {
    for (let i = 0; i < 3; i++) {
      await c.sleep(10);
      times.push(c.now() - VIRTUAL_EPOCH);
    }
  })();
  await c.advance(100);
  await task;
  assert.equal(times, [10, 20, 30]);
});

clock('wholeMs: timers fall due on whole milliseconds (never early), so every time shown is an integer', async () => {
  const c = new VirtualClock(SMALL_EPOCH, { wholeMs: true });
  const seen: [string, number][] = [];
  c.setTimeout(() => seen.push(['a', c.now() - SMALL_EPOCH]), 0.3);
  c.setTimeout(() => seen.push(['b', c.now() - SMALL_EPOCH]), 1);
  c.setTimeout(() => seen.push(['c', c.now() - SMALL_EPOCH]), 2.5);
  const every = c.setInterval(() => seen.push(['i', c.now() - SMALL_EPOCH]), 1.5);
  let spent = c.setTimeout(() => {}, 0);
  await c.advance(0);
  spent = c.setTimeoutReusing(spent, () => seen.push(['r', c.now() - SMALL_EPOCH]), 0.1);
  await c.advance(4);
  every.cancel();
  // Ties keep scheduling order: 'a' (0.3 -> 1) before 'b' (1), the reused timer (0.1 -> 1) after them.
  assert.equal(seen, [['a', 1], ['b', 1], ['r', 1], ['i', 2], ['c', 3], ['i', 4]]);
  assert.ok(seen.every(([, t]) => Number.isInteger(t)));
  assert.ok(Number.isInteger(c.now()) && c.now() < 2 ** 30, 'a small integer');
  assert.throws(() => new VirtualClock(0.5, { wholeMs: true }), /whole number/);
  // Without it, times are exact.
  const exact = new VirtualClock(0);
  let at = -1;
  exact.setTimeout(() => (at = exact.now()), 0.3);
  await exact.advance(1);
  assert.is(at, 0.3);
});

const random = suite('seeded random');

random('same seed, same sequence; different seeds differ', () => {
  const a = new SeededRandom(7);
  const b = new SeededRandom(7);
  const c = new SeededRandom(8);
  const xs = Array.from({ length: 10 }, () => a.int(1_000_000));
  const ys = Array.from({ length: 10 }, () => b.int(1_000_000));
  const zs = Array.from({ length: 10 }, () => c.int(1_000_000));
  assert.equal(xs, ys);
  assert.not.equal(xs, zs);
});

random('floats are uniform in [0,1)', () => {
  const r = new SeededRandom(1);
  let sum = 0;
  for (let i = 0; i < 10000; i++) {
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
    sum += f;
  }
  assert.ok(Math.abs(sum / 10000 - 0.5) < 0.02);
});

clock('batchMs: timers of one batch fire before the promise callbacks of the first', async () => {
  const order = async (batchMs: number) => {
    const c = new VirtualClock(VIRTUAL_EPOCH, { batchMs });
    const seen: string[] = [];
    const after = (name: string) => () => {
      seen.push(name);
      void Promise.resolve().then(() => seen.push(`${name}'`));
    };
    c.setTimeout(after('a'), 10);
    c.setTimeout(after('b'), 10.5);
    c.setTimeout(after('c'), 12); // beyond the batch that a (at 10) starts
    await c.advance(20);
    return seen;
  };
  assert.equal(await order(0), ['a', "a'", 'b', "b'", 'c', "c'"]);
  assert.equal(await order(1), ['a', 'b', "a'", "b'", 'c', "c'"]);
  assert.throws(() => new VirtualClock(VIRTUAL_EPOCH, { batchMs: -1 }), /batchMs/);
});

clock('setTimeoutReusing takes back a fired timer, never one still queued or an interval', async () => {
  const c = new VirtualClock();
  const seen: number[] = [];
  const first = c.setTimeout(() => seen.push(c.now() - VIRTUAL_EPOCH), 10);
  await c.advance(10);
  // Fired: the same handle comes back, armed anew.
  const again = c.setTimeoutReusing(first, () => seen.push(-(c.now() - VIRTUAL_EPOCH)), 5);
  assert.is(again, first);
  assert.is(c.pending, 1);
  await c.advance(5);
  assert.equal(seen, [10, -15]);
  // Cancelled but still in the heap until its time: a new handle, and the old stays silent.
  const pending = c.setTimeout(() => seen.push(1000), 50);
  pending.cancel();
  const fresh = c.setTimeoutReusing(pending, () => seen.push(c.now() - VIRTUAL_EPOCH), 20);
  assert.is.not(fresh, pending);
  await c.advance(100);
  assert.equal(seen, [10, -15, 35]);
  // Cancelled and since passed its time: reusable; a cancel of the new arming works.
  const reused = c.setTimeoutReusing(pending, () => seen.push(2000), 5);
  assert.is(reused, pending);
  reused.cancel();
  await c.advance(10);
  assert.equal(seen, [10, -15, 35]);
  assert.is(c.pending, 0);
  // An interval is never taken, nor a timer of another clock.
  const every = c.setInterval(() => {}, 10);
  every.cancel();
  await c.advance(20);
  assert.is.not(c.setTimeoutReusing(every, () => {}, 1), every);
  const other = new VirtualClock();
  const theirs = other.setTimeout(() => {}, 1);
  await other.advance(1);
  assert.is.not(c.setTimeoutReusing(theirs, () => {}, 1), theirs);
  assert.is(other.pending, 0);
});

clock('wholeMs: the slot wheel fires in exactly the heap\'s order (near, far, zero, behind the cursor, cancelled, intervals, reused)', () => {
  // The same random program on a clock of whole milliseconds (slot wheel) and an exact
  // one (heap), with whole delays: the firing order must be the same.
  for (let run = 0; run < 20; run++) {
    const logs = [SMALL_EPOCH, VIRTUAL_EPOCH].map((start, k) => {
      const c = new VirtualClock(start, k === 0 ? { wholeMs: true } : {});
      const r = new SeededRandom(1000 + run);
      const log: string[] = [];
      const timers: ReturnType<VirtualClock['setTimeout']>[] = [];
      let id = 0;
      const delay = () => {
        const x = r.float();
        // Zero, near (within the wheel), just past the wheel's span, and far.
        return x < 0.1 ? 0 : x < 0.7 ? r.int(300) : x < 0.85 ? 8000 + r.int(400) : r.int(60_000);
      };
      const schedule = (depth: number) => {
        const n = id++;
        const fire = () => {
          log.push(`${n}@${c.now() - start}`);
          if (depth < 3 && r.float() < 0.6) schedule(depth + 1);
          if (r.float() < 0.1 && timers.length > 0) timers[r.int(timers.length)]!.cancel();
        };
        if (r.float() < 0.05) {
          const t = c.setInterval(() => {
            fire();
            if (r.float() < 0.3) t.cancel();
          }, 1 + r.int(5000));
          timers.push(t);
        } else if (r.float() < 0.2 && timers.length > 0) {
          timers.push(c.setTimeoutReusing(timers[r.int(timers.length)], fire, delay()));
        } else {
          timers.push(c.setTimeout(fire, delay()));
        }
      };
      for (let i = 0; i < 200; i++) schedule(0);
      // Step in uneven strides, scheduling between them (the wheel's cursor may be ahead of the clock).
      for (let t = 0; t < 120_000; t += 1 + r.int(3000)) {
        c.runUntilSync(start + t);
        if (r.float() < 0.5) schedule(0);
      }
      c.runUntilSync(start + 10_000_000);
      return log;
    });
    assert.ok(logs[0]!.length > 200, `${logs[0]!.length} fired`);
    assert.equal(logs[0], logs[1], `run ${run}`);
  }
});

clock.run();
random.run();
