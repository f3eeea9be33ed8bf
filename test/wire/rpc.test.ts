import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Type } from '@sinclair/typebox';
import { defineMethod } from '../../src/wire/rpc-method.ts';
import { RpcError } from '../../src/wire/rpc-error.ts';
import { ErrorMessage } from '../../src/wire/messages.ts';
import { type RpcEndpoint, RpcHandlers, RpcPeer, type RpcReceiver } from '../../src/wire/rpc.ts';
import type { WireMessage } from '../../src/wire/messages.ts';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { rpcPair } from './wire-helpers.ts';

const s = suite('wire/rpc');

const Echo = defineMethod('test.echo', Type.String({ maxLength: 70_000 }), Type.String({ maxLength: 70_000 }));
const Add = defineMethod(
  'test.add',
  Type.Object({ a: Type.Integer(), b: Type.Integer() }, { additionalProperties: false }),
  Type.Object({ sum: Type.Integer() }, { additionalProperties: false }),
);
const Slow = defineMethod('test.slow', Type.Integer({ minimum: 0 }), Type.Integer());
const Fail = defineMethod('test.fail', Type.String({ maxLength: 20 }), Type.Null());
const Missing = defineMethod('test.missing', Type.Null(), Type.Null());

function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e) => e,
  );
}

s('success, both directions, large payloads through fragmentation', async () => {
  const t = rpcPair();
  t.b.rpc.handle(Add, (p) => ({ sum: p.a + p.b }));
  t.a.rpc.handle(Echo, (x) => x.toUpperCase());
  const sum = t.a.rpc.request(Add, { a: 2, b: 40 });
  const big = 'x'.repeat(60_000);
  const echo = t.b.rpc.request(Echo, big);
  await t.clock.advance(100);
  assert.equal(await sum, { sum: 42 });
  assert.is(await echo, big.toUpperCase());
  assert.is(t.a.rpc.stats().inFlight, 0);
  assert.ok(t.b.frag.stats().sentFragments > 55);
  t.close();
  assert.is(t.clock.pending, 0);
});

s('shared handlers: one table served by many peers, each request sees its peer and tag; own handlers come first', async () => {
  const shared = new RpcHandlers();
  const seen: unknown[] = [];
  shared.handle(Add, (p, ctx) => {
    seen.push(ctx.peer.tag);
    return { sum: p.a + p.b };
  });
  shared.handle(Echo, (x) => `shared ${x}`);
  assert.throws(() => shared.handle(Add, () => ({ sum: 0 })), /already registered/);
  const one = rpcPair({}, { handlers: shared, tag: 'link one' });
  const two = rpcPair({}, { handlers: shared, tag: 'link two' }, 2);
  // A peer's own handler wins over the shared one, for that peer only.
  const removeOwn = two.b.rpc.handle(Echo, (x) => `own ${x}`);
  assert.is(two.b.rpc.tag, 'link two');
  const answers = [one.a.rpc.request(Add, { a: 1, b: 2 }), two.a.rpc.request(Add, { a: 3, b: 4 }), one.a.rpc.request(Echo, 'x'), two.a.rpc.request(Echo, 'y')];
  await one.clock.advance(100);
  await two.clock.advance(100);
  assert.equal(await Promise.all(answers), [{ sum: 3 }, { sum: 7 }, 'shared x', 'own y']);
  // Each side of a pair has the tag; the answering side's is what the handler saw.
  assert.equal(seen, ['link one', 'link two']);
  removeOwn();
  const after = two.a.rpc.request(Echo, 'z');
  await two.clock.advance(100);
  assert.is(await after, 'shared z');
  // Closing one peer leaves the table to the others.
  one.close();
  const still = two.a.rpc.request(Add, { a: 5, b: 5 });
  await two.clock.advance(100);
  assert.equal(await still, { sum: 10 });
  assert.equal(two.a.rpc.stats().inFlight, 0);
  two.close();
});

s('a peer that never requested or served anything reports empty tables, and closes cleanly', async () => {
  const t = rpcPair();
  const st = t.a.rpc.stats();
  assert.equal([st.inFlight, st.running, st.cachedResponses, st.cachedBytes], [0, 0, 0, 0]);
  t.a.rpc.close('idle');
  assert.not.throws(() => t.a.rpc.close('again'));
  const e = await rejection(t.a.rpc.request(Echo, 'late'));
  assert.instance(e, RpcError);
  // The other side still works and, never having served, also starts empty.
  t.b.rpc.handle(Echo, (x) => x);
  assert.is(t.b.rpc.stats().cachedResponses, 0);
  t.close();
});

s('typed errors: remote codes, unknown method, bad params both sides, internal', async () => {
  const t = rpcPair();
  t.b.rpc.handle(Fail, (why) => {
    if (why === 'app') throw new RpcError('not-found', 'no such thing');
    throw new Error('secret internals');
  });
  t.b.rpc.handle(Add, () => ({ sum: 1.5 }) as { sum: number });
  const p1 = rejection(t.a.rpc.request(Fail, 'app'));
  const p2 = rejection(t.a.rpc.request(Fail, 'crash'));
  const p3 = rejection(t.a.rpc.request(Missing, null));
  const p4 = rejection(t.a.rpc.request(Add, { a: 1 } as never));
  const p5 = rejection(t.a.rpc.request(Add, { a: 1, b: 2 }));
  await t.clock.advance(100);
  const [e1, e2, e3, e4, e5] = (await Promise.all([p1, p2, p3, p4, p5])) as RpcError[];
  assert.equal([e1!.code, e1!.remote], ['not-found', true]);
  assert.match(e1!.message, /test\.fail: no such thing/);
  assert.equal([e2!.code, e2!.message], ['internal', 'test.fail: internal error']);
  assert.is(e3!.code, 'unknown-method');
  assert.equal([e4!.code, e4!.remote], ['bad-params', false]);
  assert.match(e4!.message, /missing property "b"/);
  assert.is(e5!.code, 'internal'); // the responder refuses to send a result that breaks the schema
  t.close();
});

s('synchronous handlers answer at once, with no handler timer; ctx.signal still works for async ones', async () => {
  const t = rpcPair({}, { handlerTimeoutMs: 1000 });
  t.b.rpc.handle(Add, (p) => ({ sum: p.a + p.b }));
  let aborted: unknown;
  t.b.rpc.handle(Slow, (ms, ctx) => {
    ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason));
    return t.clock.sleep(ms).then(() => ms);
  });
  const sum = t.a.rpc.request(Add, { a: 1, b: 2 });
  await t.clock.advance(0);
  assert.is(t.b.rpc.stats().running, 0);
  await t.clock.advance(100);
  assert.equal(await sum, { sum: 3 });
  const slow = rejection(t.a.rpc.request(Slow, 5000, { timeoutMs: 10_000 }));
  await t.clock.advance(100);
  assert.is(t.b.rpc.stats().running, 1);
  await t.clock.advance(2000);
  assert.instance(aborted, RpcError);
  assert.is((await slow as RpcError).code, 'timeout');
  t.close();
});

s('validate: false skips the method schemas (a simulator whose messages are its own) and changes nothing else', async () => {
  const strict = rpcPair();
  const loose = rpcPair({}, { validate: false });
  for (const t of [strict, loose]) t.b.rpc.handle(Add, (p) => ({ sum: p.a + p.b }));
  for (const t of [strict, loose]) {
    const ok = t.a.rpc.request(Add, { a: 2, b: 3 });
    await t.clock.advance(100);
    assert.equal(await ok, { sum: 5 });
  }
  // What only validation catches:
  const bad = rejection(strict.a.rpc.request(Add, { a: 1 } as never));
  await strict.clock.advance(100);
  assert.is((await bad as RpcError).code, 'bad-params');
  const unchecked = loose.a.rpc.request(Add, { a: 1 } as never);
  await loose.clock.advance(100);
  assert.equal(await unchecked, { sum: null }); // 1 + undefined, through JSON
  strict.close();
  loose.close();
});

s('timeout after retries when the peer is silent', async () => {
  const t = rpcPair({ loss: 1 });
  let ran = 0;
  t.b.rpc.handle(Echo, (x) => (ran++, x));
  const p = rejection(t.a.rpc.request(Echo, 'hello', { timeoutMs: 3000, retries: 3, initialRtoMs: 200, jitter: 0 }));
  await t.clock.advance(2999);
  assert.is(t.a.rpc.stats().inFlight, 1);
  await t.clock.advance(1);
  const e = (await p) as RpcError;
  assert.is(e.code, 'timeout');
  assert.match(e.message, /timed out after 3000 ms \(4 sends\)/);
  assert.is(t.pipe.stats().ab.sent, 4); // 0, 200, 600, 1400 ms
  assert.is(t.a.rpc.stats().retransmitted, 3);
  assert.is(ran, 0);
  t.close();
  assert.is(t.clock.pending, 0);
});

s('backoff doubles with jitter and stays within bounds', async () => {
  const t = rpcPair({ loss: 1 }, {}, 7);
  const times: number[] = [];
  const origSend = t.pipe.a.send.bind(t.pipe.a);
  t.pipe.a.send = (p) => {
    times.push(t.clock.now());
    origSend(p);
  };
  const p = rejection(t.a.rpc.request(Echo, 'x', { timeoutMs: 20_000, retries: 5, initialRtoMs: 100, maxRtoMs: 1000, jitter: 0.5 }));
  await t.clock.advance(20_000);
  await p;
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  assert.is(gaps.length, 5);
  const bases = [100, 200, 400, 800, 1000];
  gaps.forEach((g, i) => assert.ok(g >= bases[i]! * 0.5 && g <= bases[i]! * 1.5, `gap ${i} = ${g}`));
  t.close();
});

s('a retried request after loss is executed exactly once', async () => {
  const t = rpcPair({ latencyMs: 50 });
  let ran = 0;
  t.b.rpc.handle(Slow, async (n, ctx) => {
    ran++;
    await t.clock.sleep(n, ctx.signal);
    return n * 2;
  });
  // Lose every response for a while: the requester retransmits, the responder must not re-run.
  const origSend = t.pipe.b.send.bind(t.pipe.b);
  let dropResponses = true;
  t.pipe.b.send = (p) => {
    if (!dropResponses) origSend(p);
  };
  const result = t.a.rpc.request(Slow, 700, { timeoutMs: 10_000, retries: 6, initialRtoMs: 300, jitter: 0 });
  await t.clock.advance(2500);
  dropResponses = false;
  await t.clock.advance(5000);
  assert.is(await result, 1400);
  assert.is(ran, 1);
  const st = t.b.rpc.stats();
  assert.ok(st.duplicatesIgnored >= 1, 'retransmissions during the run were ignored');
  assert.ok(st.duplicatesReplayed >= 1, 'retransmissions after the run got the cached response');
  assert.is(st.handled, 1);
  t.close();
});

s('abort: rejects with the signal reason, already-aborted signals never send', async () => {
  const t = rpcPair({ loss: 1 });
  const ac = new AbortController();
  const p = rejection(t.a.rpc.request(Echo, 'x', { signal: ac.signal }));
  await t.clock.advance(100);
  ac.abort(new Error('user hung up'));
  assert.match(String(((await p) as Error).message), /user hung up/);
  assert.is(t.a.rpc.stats().inFlight, 0);
  assert.is(t.a.rpc.stats().aborted, 1);
  const sent = t.pipe.stats().ab.sent;
  const pre = rejection(t.a.rpc.request(Echo, 'x', { signal: AbortSignal.abort(new Error('too late')) }));
  assert.match(String(((await pre) as Error).message), /too late/);
  assert.is(t.pipe.stats().ab.sent, sent);
  await t.clock.advance(60_000);
  t.close();
  assert.is(t.clock.pending, 0);
});

s('close rejects pending requests with the reason, aborts handlers, cascades, and refuses new ones', async () => {
  const t = rpcPair();
  let handlerSignal: AbortSignal | undefined;
  t.b.rpc.handle(Slow, (n, ctx) => {
    handlerSignal = ctx.signal;
    return t.clock.sleep(n, ctx.signal).then(() => n);
  });
  const p1 = rejection(t.a.rpc.request(Slow, 5000));
  const p2 = rejection(t.a.rpc.request(Slow, 5000));
  await t.clock.advance(100);
  t.a.rpc.close('node shutting down');
  const [e1, e2] = (await Promise.all([p1, p2])) as RpcError[];
  assert.equal([e1!.code, e1!.message], ['closed', 'rpc closed: node shutting down']);
  assert.is(e2!.code, 'closed');
  const e3 = (await rejection(t.a.rpc.request(Slow, 1))) as RpcError;
  assert.is(e3.code, 'closed');
  t.b.rpc.close('peer gone');
  assert.ok(handlerSignal?.aborted);
  // the close cascaded down through endpoint and fragmentation to the channel
  assert.ok(t.a.endpoint.isClosed);
  assert.ok((t.pipe.a as unknown as { closed: boolean }).closed);
  assert.ok((t.pipe.b as unknown as { closed: boolean }).closed);
  t.close();
  await t.clock.advance(10_000);
  assert.is(t.clock.pending, 0);
});

s('a channel closing from below closes the RPC with its reason', async () => {
  const t = rpcPair({ loss: 1 });
  const p = rejection(t.a.rpc.request(Echo, 'x'));
  (t.pipe.a as { close(reason?: string): void }).close('session expired');
  const e = (await p) as RpcError;
  assert.equal([e.code, e.message], ['closed', 'rpc closed: session expired']);
  t.close();
  assert.is(t.clock.pending, 0);
});

s('bounded tables under a flood', async () => {
  const t = rpcPair({}, { maxInFlight: 8, maxConcurrentHandlers: 4, responseCacheEntries: 16, responseCacheBytes: 4096, handlerTimeoutMs: 1000 });
  let running = 0;
  let maxRunning = 0;
  t.b.rpc.handle(Slow, async (n, ctx) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await t.clock.sleep(n, ctx.signal);
      return n;
    } finally {
      running--;
    }
  });
  // requester side: only 8 in flight, the rest refused at once
  const ps = Array.from({ length: 50 }, () => rejection(t.a.rpc.request(Slow, 10)).catch(() => undefined));
  assert.is(t.a.rpc.stats().inFlight, 8);
  assert.is(t.a.rpc.stats().refusedOverloaded, 42);
  await t.clock.advance(5000);
  await Promise.all(ps);
  assert.ok(maxRunning <= 4);
  // responder side under a flood of distinct requests from a raw endpoint
  for (let i = 0; i < 5000; i++) t.a.endpoint.send({ type: 'req', id: 100_000 + i, method: 'test.slow', params: i % 3 === 0 ? 5000 : 1 });
  await t.clock.advance(100);
  const st = t.b.rpc.stats();
  assert.ok(st.running <= 4, `running ${st.running}`);
  assert.ok(st.overloadedAnswered > 4000);
  await t.clock.advance(10_000);
  const after = t.b.rpc.stats();
  assert.is(after.running, 0);
  assert.ok(after.cachedResponses <= 16);
  assert.ok(after.cachedBytes <= 4096);
  assert.is(maxRunning, 4);
  t.close();
  assert.is(t.clock.pending, 0);
});

s('duplicates beyond the cache are refused, never re-executed', async () => {
  const t = rpcPair({}, { responseCacheEntries: 2 });
  let ran = 0;
  t.b.rpc.handle(Echo, (x) => (ran++, x));
  const answers: string[] = [];
  t.a.endpoint.on(ErrorMessage, (m) => void answers.push(m.code));
  for (let i = 0; i < 5; i++) t.a.endpoint.send({ type: 'req', id: i, method: 'test.echo', params: 'p' });
  await t.clock.advance(100);
  t.a.endpoint.send({ type: 'req', id: 0, method: 'test.echo', params: 'p' }); // evicted from the cache
  t.a.endpoint.send({ type: 'req', id: 4, method: 'test.echo', params: 'p' }); // cached
  await t.clock.advance(100);
  assert.is(ran, 5);
  assert.equal(answers, ['duplicate']);
  assert.is(t.b.rpc.stats().duplicatesReplayed, 1);
  t.close();
});

s('expired answers can be dropped by a sweep, oldest first, and are never replayed either way', async () => {
  const t = rpcPair({}, { responseCacheTtlMs: 5000 });
  let ran = 0;
  t.b.rpc.handle(Echo, (x) => (ran++, x));
  const answers: string[] = [];
  t.a.endpoint.on(ErrorMessage, (m) => void answers.push(m.code));
  t.a.endpoint.send({ type: 'req', id: 1, method: 'test.echo', params: 'p' });
  await t.clock.advance(3000);
  t.a.endpoint.send({ type: 'req', id: 2, method: 'test.echo', params: 'p' });
  await t.clock.advance(100);
  assert.is(t.b.rpc.stats().cachedResponses, 2);
  t.b.rpc.dropExpiredResponses();
  assert.is(t.b.rpc.stats().cachedResponses, 2, 'nothing has expired yet');
  await t.clock.advance(2000); // the first answer is 5.1 s old, the second 2.1 s
  t.b.rpc.dropExpiredResponses();
  assert.equal([t.b.rpc.stats().cachedResponses, t.b.rpc.stats().cachedBytes > 0], [1, true]);
  t.a.endpoint.send({ type: 'req', id: 2, method: 'test.echo', params: 'p' }); // still cached: replayed
  t.a.endpoint.send({ type: 'req', id: 1, method: 'test.echo', params: 'p' }); // dropped: refused, not re-run
  await t.clock.advance(100);
  assert.is(ran, 2);
  assert.is(t.b.rpc.stats().duplicatesReplayed, 1);
  assert.equal(answers, ['duplicate']);
  await t.clock.advance(10_000);
  t.b.rpc.dropExpiredResponses();
  assert.equal([t.b.rpc.stats().cachedResponses, t.b.rpc.stats().cachedBytes], [0, 0]);
  t.close();
});

s('a peer closed without its endpoint (closeEndpoint: false) stops taking its messages; the endpoint stays open for another', async () => {
  const t = rpcPair({}, { closeEndpoint: false });
  t.b.rpc.handle(Echo, (x) => `first ${x}`);
  const one = t.a.rpc.request(Echo, 'a');
  await t.clock.advance(100);
  assert.is(await one, 'first a');
  t.b.rpc.close('replaced');
  const second = new RpcPeer(t.b.endpoint, { clock: t.clock, random: new SeededRandom(9) });
  second.handle(Echo, (x) => `second ${x}`);
  const two = t.a.rpc.request(Echo, 'b');
  await t.clock.advance(100);
  assert.is(await two, 'second b', 'only the new peer answered');
  assert.is(t.b.rpc.stats().handled, 1, 'the closed peer handled nothing more');
  second.close('test over');
  t.close();
});

s('a hung handler is abandoned at handlerTimeoutMs and answered with timeout', async () => {
  const t = rpcPair({}, { handlerTimeoutMs: 1000 });
  let aborted = false;
  t.b.rpc.handle(Slow, (_n, ctx) => new Promise<number>(() => ctx.signal.addEventListener('abort', () => (aborted = true))));
  const p = rejection(t.a.rpc.request(Slow, 1, { timeoutMs: 5000 }));
  await t.clock.advance(1100);
  const e = (await p) as RpcError;
  assert.equal([e.code, e.remote], ['timeout', true]);
  assert.ok(aborted);
  assert.is(t.b.rpc.stats().running, 0);
  t.close();
});

s('an overloaded peer is retried on the backoff schedule; each request still runs once', async () => {
  const t = rpcPair({}, { maxConcurrentHandlers: 1 });
  const runs = new Map<number, number>();
  t.b.rpc.handle(Slow, async (n, ctx) => {
    runs.set(n, (runs.get(n) ?? 0) + 1);
    await t.clock.sleep(300, ctx.signal);
    return n;
  });
  const ps = [1, 2, 3].map((n) => t.a.rpc.request(Slow, n, { timeoutMs: 10_000, retries: 8, initialRtoMs: 200, jitter: 0.1 }));
  await t.clock.advance(10_000);
  assert.equal(await Promise.all(ps), [1, 2, 3]);
  assert.equal([...runs.values()], [1, 1, 1]);
  assert.ok(t.b.rpc.stats().overloadedAnswered >= 2);
  // with no retransmission left, overloaded is reported
  t.b.rpc.handle(Echo, async (x) => x);
  const blocker = t.a.rpc.request(Slow, 9, { timeoutMs: 5000 });
  await t.clock.advance(20);
  const refused = rejection(t.a.rpc.request(Slow, 10, { retries: 0, timeoutMs: 5000 }));
  await t.clock.advance(1000);
  const e = (await refused) as RpcError;
  assert.equal([e.code, e.remote], ['overloaded', true]);
  assert.is(await blocker, 9);
  t.close();
});

s('a channel that throws on send never crashes a timer or a handler callback', async () => {
  const t = rpcPair();
  t.b.rpc.handle(Echo, (x) => x);
  let broken = false;
  for (const end of [t.pipe.a, t.pipe.b]) {
    const orig = end.send.bind(end);
    end.send = (p) => {
      if (broken) throw new Error('session is closed');
      orig(p);
    };
  }
  const ok = t.a.rpc.request(Echo, 'before');
  await t.clock.advance(100);
  assert.is(await ok, 'before');
  broken = true;
  const p = rejection(t.a.rpc.request(Echo, 'after', { timeoutMs: 3000 }));
  await t.clock.advance(3000);
  assert.is(((await p) as RpcError).code, 'timeout');
  assert.ok(t.a.rpc.stats().sendErrors >= 2);
  t.close();
  assert.is(t.clock.pending, 0);
});

s('lossy, duplicating, reordering link: every request resolves correctly or times out; each runs at most once (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 2 ** 31 }),
      fc.double({ min: 0, max: 0.4, noNaN: true }),
      fc.double({ min: 0, max: 0.3, noNaN: true }),
      fc.integer({ min: 0, max: 300 }),
      fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 30 }),
      async (seed, loss, duplicate, jitterMs, sizes) => {
        const t = rpcPair({ loss, duplicate, latencyMs: 10, jitterMs }, {}, seed);
        const runs = new Map<string, number>();
        t.b.rpc.handle(Echo, (x) => {
          runs.set(x, (runs.get(x) ?? 0) + 1);
          return `${x}!`;
        });
        const outcomes = sizes.map((n, i) => {
          const payload = `${i}:`.padEnd(n + 2, 'z');
          return t.a.rpc.request(Echo, payload, { timeoutMs: 8000 }).then(
            (r) => {
              assert.is(r, `${payload}!`);
              return 'ok';
            },
            (e: RpcError) => {
              assert.is(e.code, 'timeout');
              return 'timeout';
            },
          );
        });
        await t.clock.advance(9000);
        const results = await Promise.all(outcomes);
        for (const [i, r] of results.entries()) {
          const payload = `${i}:`.padEnd(sizes[i]! + 2, 'z');
          const n = runs.get(payload) ?? 0;
          assert.ok(n <= 1, 'executed at most once');
          if (r === 'ok') assert.is(n, 1);
        }
        if (loss === 0) assert.ok(results.every((r) => r === 'ok'));
        assert.is(t.a.rpc.stats().inFlight, 0);
        assert.is(t.b.rpc.stats().running, 0);
        t.close();
        assert.is(t.clock.pending, 0);
      },
    ),
    { numRuns: 40 },
  );
});

/** Two endpoints that hand envelopes straight across after 1 ms and serve one receiver each (`on` counted). */
function servedPair() {
  const clock = new VirtualClock();
  type Ep = RpcEndpoint & { receiver: RpcReceiver | undefined; other: Ep | undefined; onCalls: number };
  const make = (): Ep => {
    const ep: Ep = {
      receiver: undefined,
      other: undefined,
      onCalls: 0,
      registry: { encode: (m: WireMessage) => ({ length: JSON.stringify(m).length, m }) },
      sendEncoded(bytes) {
        const m = (bytes as unknown as { m: WireMessage }).m;
        clock.setTimeout(() => ep.other?.receiver?.receive(m), 1);
      },
      on() {
        ep.onCalls++;
        return () => {};
      },
      onClose() {
        ep.onCalls++;
        return () => {};
      },
      close(reason = 'closed') {
        const r = ep.receiver;
        ep.receiver = undefined;
        r?.endpointClosed(reason);
      },
      serve(receiver) {
        ep.receiver = receiver;
      },
    };
    return ep;
  };
  const a = make();
  const b = make();
  a.other = b;
  b.other = a;
  return { clock, a, b };
}

s('an endpoint that serves: envelopes and the close reach the peer without handlers; one options object, many peers', async () => {
  const { clock, a, b } = servedPair();
  const options = { clock, random: new SeededRandom(3), maxInFlight: 1 };
  const ra = new RpcPeer(a, options, 'link a');
  const rb = new RpcPeer(b, options);
  assert.is(a.onCalls + b.onCalls, 0, 'no handlers registered');
  assert.is(ra.tag, 'link a');
  assert.is(rb.tag, undefined);
  rb.handle(Add, (p) => ({ sum: p.a + p.b }));
  const sum = ra.request(Add, { a: 1, b: 2 });
  // The shared options' limit holds for each peer: a second request in flight is refused.
  const second = await rejection(ra.request(Add, { a: 0, b: 0 }));
  assert.ok(second instanceof RpcError && second.code === 'overloaded');
  await clock.advance(10);
  assert.equal(await sum, { sum: 3 });
  assert.is(rb.stats().handled, 1);
  // The endpoint closing closes the peer: a pending request rejects with the reason.
  const pending = ra.request(Add, { a: 5, b: 5 });
  a.close('session gone');
  const err = await rejection(pending);
  assert.ok(err instanceof RpcError && err.code === 'closed' && /session gone/.test(err.message), String(err));
  // A peer that leaves its endpoint open registers handlers instead (it must detach them).
  const { a: c } = servedPair();
  new RpcPeer(c, { clock, random: new SeededRandom(4), closeEndpoint: false });
  assert.is(c.onCalls, 4);
  assert.is(c.receiver, undefined);
});

s.run();
