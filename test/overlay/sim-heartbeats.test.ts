/**
 * The simulator's supernode heartbeats (sim-heartbeats.ts): every supernode's heartbeats of
 * an instant go out together, on the multiples of the period, ordered by leaf; each says
 * its own supernode's load and area; closed links and leaves silent too long get none.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { DEFAULT_LIVENESS, leafSilentMs, parseLinkProbe } from '../../src/overlay/liveness.ts';
import { type HeartbeatBatch, type HeartbeatSource, SimHeartbeats } from '../../src/overlay/sim/sim-heartbeats.ts';
import type { SimLink } from '../../src/overlay/sim/sim-links.ts';

const s = suite('overlay/sim heartbeats');

/** A stand-in link that logs what is sent on it (the batch reads `closed` and `lastReceived`). */
function fakeLink(name: string, log: string[], lastReceived: number): SimLink {
  return {
    closed: false,
    lastReceived,
    send(p: Uint8Array) {
      const m = parseLinkProbe(p);
      log.push(`${name} ${m?.type} ${m && 'load' in m ? `${m.load}/${m.area}` : ''}`);
    },
  } as unknown as SimLink;
}

/** A stand-in supernode beating `leaves` (leaf index -> link) with fixed loads. */
function source(leaves: Map<number, SimLink>, load: number, area: number): HeartbeatSource {
  return { collectHeartbeats: (batch: HeartbeatBatch) => leaves.forEach((link, leaf) => batch.add(leaf, link, load, area)) };
}

s('one instant\'s heartbeats go out ordered by leaf, each with its supernode\'s figures; closed and silent leaves get none', async () => {
  const clock = new VirtualClock(2 ** 29, { wholeMs: true });
  const log: string[] = [];
  const now = clock.now();
  const a = new Map<number, SimLink>([[7, fakeLink('a>7', log, now)], [2, fakeLink('a>2', log, now)], [5, fakeLink('a>5', log, now)]]);
  const b = new Map<number, SimLink>([[5, fakeLink('b>5', log, now)], [7, fakeLink('b>7', log, now)], [9, fakeLink('b>9', log, now)], [3, fakeLink('b>3', log, now)]]);
  (b.get(9)! as { closed: boolean }).closed = true;
  // Silent for longer than a supernode keeps beating a leaf.
  (b.get(3)! as { lastReceived: number }).lastReceived = now - leafSilentMs() - 1;
  const hb = new SimHeartbeats(clock, DEFAULT_LIVENESS);
  const sa = source(a, 30, 45);
  hb.add(sa);
  hb.add(source(b, 80, 60));
  assert.is(hb.size, 2);
  const period = DEFAULT_LIVENESS.periodMs;
  const first = period - (now % period);
  await clock.advance(first - 1);
  assert.equal(log, [], 'nothing before the multiple of the period');
  await clock.advance(1);
  assert.equal(log, ['a>2 heartbeat 30/45', 'a>5 heartbeat 30/45', 'b>5 heartbeat 80/60', 'a>7 heartbeat 30/45', 'b>7 heartbeat 80/60']);
  assert.is(hb.sent, 5);
  assert.is(clock.now() % period, 0);
  // Once a period; a supernode that leaves beats no more.
  hb.delete(sa);
  log.length = 0;
  for (const link of b.values()) (link as { lastReceived: number }).lastReceived = clock.now();
  await clock.advance(period);
  assert.equal(log, ['b>3 heartbeat 80/60', 'b>5 heartbeat 80/60', 'b>7 heartbeat 80/60'], 'the silent leaf, heard again, is beaten again');
  hb.delete(source(new Map(), 0, 0)); // not a member: nothing changes
  assert.is(hb.size, 1);
});

s('the timer runs while there are supernodes and stops with the last', async () => {
  const clock = new VirtualClock(2 ** 29, { wholeMs: true });
  const hb = new SimHeartbeats(clock, DEFAULT_LIVENESS);
  const log: string[] = [];
  const one = source(new Map([[1, fakeLink('x>1', log, clock.now())]]), 10, 10);
  hb.add(one);
  assert.is(clock.pending, 1);
  await clock.advance(3 * DEFAULT_LIVENESS.periodMs);
  assert.is(log.length, 3);
  hb.delete(one);
  assert.is(clock.pending, 0);
  await clock.advance(3 * DEFAULT_LIVENESS.periodMs);
  assert.is(log.length, 3);
  hb.add(one);
  await clock.advance(DEFAULT_LIVENESS.periodMs);
  assert.is(log.length, 4, 'beating again');
});

s.run();
