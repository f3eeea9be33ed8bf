import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { hedged } from '../../src/overlay/hedged.ts';

const s = suite('overlay/hedged');

/** An attempt that answers `value` (or throws `error`) after `ms` virtual ms, logging its start. */
function attempt(clock: VirtualClock, log: string[], name: string, ms: number, value: { delivered: number; error?: string } | Error) {
  return () => {
    log.push(`${name}@${clock.now()}`);
    return new Promise<{ delivered: number; error?: string }>((resolve, reject) => {
      clock.setTimeout(() => (value instanceof Error ? reject(value) : resolve(value)), ms);
    });
  };
}

const outcome = (a: { delivered: number; error?: string }) => (a.delivered > 0 ? (true as const) : a.error ?? 'not delivered');

s('a quick success: only the first target is asked', async () => {
  const clock = new VirtualClock(0);
  const log: string[] = [];
  const p = hedged([attempt(clock, log, 'a', 100, { delivered: 1 }), attempt(clock, log, 'b', 10, { delivered: 1 })], { clock, hedgeMs: 700, outcome });
  await clock.advance(2000);
  assert.equal(await p, { delivered: 1 });
  assert.equal(log, ['a@0']);
});

s('a silent first target: the next is asked after hedgeMs and its success settles', async () => {
  const clock = new VirtualClock(0);
  const log: string[] = [];
  let settledAt = -1;
  const p = hedged([attempt(clock, log, 'a', 10_000, { delivered: 1 }), attempt(clock, log, 'b', 50, { delivered: 2 })], { clock, hedgeMs: 700, outcome }).then((r) => {
    settledAt = clock.now();
    return r;
  });
  await clock.advance(20_000);
  assert.equal(await p, { delivered: 2 });
  assert.equal(log, ['a@0', 'b@700']);
  assert.is(settledAt, 750);
});

s('a failure starts the next at once; all failing rejects with the last reason', async () => {
  const clock = new VirtualClock(0);
  const log: string[] = [];
  const p = hedged(
    [attempt(clock, log, 'a', 100, new Error('link closed')), attempt(clock, log, 'b', 100, { delivered: 0, error: 'no such user' })],
    { clock, hedgeMs: 700, outcome },
  );
  const caught = p.catch((e: Error) => e.message);
  await clock.advance(5000);
  assert.is(await caught, 'no such user');
  assert.equal(log, ['a@0', 'b@100']);
});

s('nothing to try rejects; an attempt that throws synchronously counts as failed', async () => {
  const clock = new VirtualClock(0);
  await hedged([], { clock, hedgeMs: 700, outcome }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /nothing to try/));
  const p = hedged([() => {
    throw new Error('boom');
  }], { clock, hedgeMs: 700, outcome });
  const caught = p.catch((e: Error) => e.message);
  await clock.advance(10);
  assert.is(await caught, 'boom');
});

s.run();
