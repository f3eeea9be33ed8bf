import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { spawnWorker } from '../../src/spawn-worker.ts';
import { SimNet, type SimNetOptions, type SimNetStats } from '../../src/net/sim.ts';
import { ShareReader, ShareWriter } from '../../src/net/sim-share.ts';
import type { Address } from '../../src/net/net.ts';
import { type SharePart, stepShares, swapShares } from '../../src/net/share-stepper.ts';
import { ShareMailbox } from '../../src/net/share-mailbox.ts';
import { record } from './sim-fixture.ts';
import { busyShares } from './fixtures/busy-shares.ts';

const T0 = 1_000_000;

/** `count` shares of one network on clocks at T0. */
function makeShares(count: number, options: Partial<Omit<SimNetOptions, 'clock' | 'random' | 'share'>> = {}, seed = 1): SharePart[] {
  return Array.from({ length: count }, (_, index) => {
    const clock = new VirtualClock(T0);
    const net = new SimNet({ clock, random: new SeededRandom(seed * 100 + index), latencyMs: 20, ...options, share: { index, count } });
    return { clock, net };
  });
}

const s = suite('SimNet shares');

s('a datagram crosses to another share and its answer comes back, each after the core latency', async () => {
  const parts = makeShares(2);
  const a = await parts[0]!.net.addHost('198.51.100.1').bind({ port: 4000 });
  const b = await parts[1]!.net.addHost('198.51.100.2').bind({ port: 4000 });
  const atB = record(parts[1]!.clock, b);
  const atA = record(parts[0]!.clock, a);
  // Before the first swap share 0 does not know share 1's address.
  a.send(Uint8Array.of(9), b.address);
  assert.is(parts[0]!.net.stats().drops.noRoute, 1);
  swapShares(parts);
  b.onMessage((data, from) => b.send(Uint8Array.of(data[0]! + 1), from));
  a.send(Uint8Array.of(1, 2, 3), b.address);
  await stepShares(parts, T0 + 200);
  assert.is(atB.length, 1);
  assert.is(atB[0]!.at - T0, 20);
  assert.equal(Array.from(atB[0]!.data), [1, 2, 3]);
  assert.equal(atB[0]!.from, { host: '198.51.100.1', port: 4000 });
  assert.is(atA.length, 1);
  assert.is(atA[0]!.at - T0, 40);
  assert.equal(Array.from(atA[0]!.data), [2]);
  const [s0, s1] = parts.map((p) => p.net.stats());
  assert.is(s0!.sharedOut, 1);
  assert.is(s0!.sharedIn, 1);
  assert.is(s1!.sharedOut, 1);
  assert.is(s1!.deliveredPackets, 1);
});

s('shares as regions: the latency between shares is their own, and the lookahead', async () => {
  const parts = [0, 1].map((index) => {
    const clock = new VirtualClock(T0);
    return { clock, net: new SimNet({ clock, random: new SeededRandom(index), latencyMs: 20, share: { index, count: 2, latencyMs: 60 } }) };
  });
  assert.is(parts[0]!.net.lookaheadMs, 60);
  const a = await parts[0]!.net.addHost('198.51.100.1').bind({ port: 4000 });
  const near = await parts[0]!.net.addHost('198.51.100.3').bind({ port: 4000 });
  const far = await parts[1]!.net.addHost('198.51.100.2').bind({ port: 4000 });
  swapShares(parts);
  const atNear = record(parts[0]!.clock, near);
  const atFar = record(parts[1]!.clock, far);
  a.send(Uint8Array.of(1), near.address);
  a.send(Uint8Array.of(1), far.address);
  await stepShares(parts, T0 + 200);
  assert.is(atNear[0]!.at - T0, 20);
  assert.is(atFar[0]!.at - T0, 60);
});

s('notes reach the code on the other shares at the next swap, in order with the datagrams', async () => {
  const parts = makeShares(3);
  const a = await parts[0]!.net.addHost('198.51.100.1').bind({ port: 4000 });
  const b = await parts[1]!.net.addHost('198.51.100.2').bind({ port: 4000 });
  swapShares(parts);
  const seen: string[] = [];
  parts.forEach((p, i) => p.net.onNote((from, bytes) => seen.push(`${i}<${from}:${new TextDecoder().decode(bytes)}@${p.clock.now() - T0}`)));
  b.onMessage(() => seen.push(`1 got datagram@${parts[1]!.clock.now() - T0}`));
  parts[0]!.net.note(new TextEncoder().encode('to all'));
  a.send(Uint8Array.of(1), b.address);
  parts[0]!.net.note(new TextEncoder().encode('to 1'), 1);
  assert.throws(() => parts[0]!.net.note(Uint8Array.of(1), 0), /share 0 is not another share of 3/);
  await stepShares(parts, T0 + 100);
  assert.equal(seen, ['1<0:to all@20', '1<0:to 1@20', '2<0:to all@20', '1 got datagram@20']);
});

s('a NAT in one share admits answers from another share and filters strangers by endpoint', async () => {
  const parts = makeShares(2, { jitterMs: 1 });
  const nat = parts[0]!.net.addNat('203.0.113.1', { kind: 'port-restricted', bindingTimeoutMs: 30_000 });
  const leaf = await parts[0]!.net.addHost('10.0.0.2', { nat }).bind({ port: 5000 });
  const server = await parts[1]!.net.addHost('198.51.100.7').bind({ port: 4000 });
  const stranger = await parts[1]!.net.addHost('198.51.100.8').bind({ port: 4000 });
  swapShares(parts);
  const got = record(parts[0]!.clock, leaf);
  let mapped: { host: string; port: number } | undefined;
  server.onMessage((data, from) => {
    mapped = from;
    server.send(data, from);
    stranger.send(Uint8Array.of(66), from); // unsolicited: the NAT never sent to it
  });
  leaf.send(Uint8Array.of(7), server.address);
  await stepShares(parts, T0 + 300);
  assert.equal(mapped?.host, '203.0.113.1');
  assert.is(got.length, 1, 'the server answer arrives, the stranger is filtered');
  assert.equal(Array.from(got[0]!.data), [7]);
  assert.is(parts[0]!.net.stats().drops.natFiltered, 1);
});

s('a symmetric NAT maps each destination in another share to its own port', async () => {
  const parts = makeShares(2);
  const nat = parts[0]!.net.addNat('203.0.113.2', { kind: 'symmetric', bindingTimeoutMs: 30_000 });
  const leaf = await parts[0]!.net.addHost('10.0.0.2', { nat }).bind({ port: 5000 });
  const servers = [await parts[1]!.net.addHost('198.51.100.7').bind({ port: 4000 }), await parts[1]!.net.addHost('198.51.100.8').bind({ port: 4000 })];
  swapShares(parts);
  const seen: number[] = [];
  for (const srv of servers) srv.onMessage((_d, from) => seen.push(from.port));
  for (const srv of servers) leaf.send(Uint8Array.of(1), srv.address);
  await stepShares(parts, T0 + 100);
  assert.is(seen.length, 2);
  assert.is.not(seen[0], seen[1]);
});

s('an endpoint that goes away is announced: later datagrams to it are dropped at the sender', async () => {
  const parts = makeShares(2);
  const a = await parts[0]!.net.addHost('198.51.100.1').bind({ port: 4000 });
  const host = parts[1]!.net.addHost('198.51.100.2');
  await host.bind({ port: 4000 });
  swapShares(parts);
  a.send(Uint8Array.of(1), { host: '198.51.100.2', port: 4000 });
  host.close(); // the datagram in flight finds no one: dropped at the receiver
  await stepShares(parts, T0 + 100);
  assert.is(parts[1]!.net.stats().drops.noRoute, 1);
  a.send(Uint8Array.of(2), { host: '198.51.100.2', port: 4000 });
  assert.is(parts[0]!.net.stats().drops.noRoute, 1, 'after the announcement the sender has no route');
});

s('misuse is refused with clear errors: late swaps, address clashes, bad share numbers', async () => {
  const parts = makeShares(2);
  const a = await parts[0]!.net.addHost('198.51.100.1').bind({ port: 4000 });
  await parts[1]!.net.addHost('198.51.100.2').bind({ port: 4000 });
  swapShares(parts);
  a.send(Uint8Array.of(1), { host: '198.51.100.2', port: 4000 });
  await parts[0]!.clock.runUntil(T0 + 30);
  await parts[1]!.clock.runUntil(T0 + 30); // ran past the datagram's arrival at T0 + 20
  assert.throws(() => swapShares(parts), /before now.*every 20 ms/);

  const clash = makeShares(2);
  clash[0]!.net.addHost('198.51.100.1');
  clash[1]!.net.addHost('198.51.100.1');
  assert.throws(() => swapShares(clash), /announced 198\.51\.100\.1, an address of share/);

  const clock = new VirtualClock(T0);
  assert.throws(() => new SimNet({ clock, random: new SeededRandom(1), share: { index: 2, count: 2 } }), /index must be an integer in \[0, count\)/);
  assert.throws(() => new SimNet({ clock, random: new SeededRandom(1), latencyMs: 0, share: { index: 0, count: 2 } }), /core latency between shares above 0/);
  const unordered = makeShares(2);
  assert.throws(() => swapShares([unordered[1]!, unordered[0]!]), /part 0 is share 1 of 2/);
});

/** The busy network (fixtures/busy-shares.ts) with every share in this thread. */
async function busy(count: number, seed: number): Promise<{ trace: string[]; sent: number; delivered: number; dropped: number; shared: number }> {
  const { trace, stats } = await busyShares(seed, count, () => true, {
    swap: (parts) => swapShares(parts as SharePart[]),
    step: (parts, until) => stepShares(parts as SharePart[], until),
  });
  return summary(trace, stats);
}

function summary(trace: string[], stats: SimNetStats[]): { trace: string[]; sent: number; delivered: number; dropped: number; shared: number } {
  const sum = (f: (x: SimNetStats) => number) => stats.reduce((a, x) => a + f(x), 0);
  return {
    trace: [...trace].sort(),
    sent: sum((x) => x.sentPackets),
    delivered: sum((x) => x.deliveredPackets),
    dropped: sum((x) => Object.values(x.drops).reduce((a, b) => a + b, 0)),
    shared: sum((x) => x.sharedOut),
  };
}

s('a busy split network is deterministic and loses nothing between shares', async () => {
  const a = await busy(2, 7);
  const b = await busy(2, 7);
  const c = await busy(2, 8);
  assert.equal(a, b);
  assert.not.equal(a.trace, c.trace);
  assert.ok(a.trace.length > 300, `only ${a.trace.length} deliveries`);
  assert.ok(a.shared > 100, `only ${a.shared} datagrams crossed`);
  assert.is(a.sent, a.delivered + a.dropped, 'every datagram sent is delivered or counted as dropped');
  const three = await busy(3, 7);
  assert.is(three.sent, three.delivered + three.dropped);
  assert.ok(three.trace.length > 300);
});

/** Run the busy network with one worker thread per share, swapping through a ShareMailbox. */
async function busyInWorkers(count: number, seed: number, depth = 1): Promise<{ trace: string[]; stats: SimNetStats[]; swaps: number[] }> {
  const buffer = ShareMailbox.allocate(count, 1 << 16, depth);
  const results = await Promise.all(Array.from({ length: count }, (_, index) => new Promise<{ trace: string[]; stats: SimNetStats[]; swaps: number; error?: string }>((resolve, reject) => {
    const w = spawnWorker(new URL('./fixtures/busy-share-worker.ts', import.meta.url), { buffer, index, count, seed });
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  })));
  for (const r of results) if (r.error) throw new Error(r.error);
  return { trace: results.flatMap((r) => r.trace), stats: results.flatMap((r) => r.stats), swaps: results.map((r) => r.swaps) };
}

s('one worker thread per share gives exactly the trace of all shares in one thread', async () => {
  const inThread = await busy(2, 7);
  const inWorkers = await busyInWorkers(2, 7);
  assert.equal(summary(inWorkers.trace, inWorkers.stats), inThread);
  assert.ok(inWorkers.swaps[0]! > 100 && inWorkers.swaps[0] === inWorkers.swaps[1], `swaps ${inWorkers.swaps}`);
  const three = await busyInWorkers(3, 7);
  assert.equal(summary(three.trace, three.stats), await busy(3, 7));
});

s('with depth, shares run ahead of each other by up to depth - 1 windows: still exact, deterministic, lossless', async () => {
  const a = await busyInWorkers(2, 7, 3);
  const b = await busyInWorkers(2, 7, 3);
  const sa = summary(a.trace, a.stats);
  assert.equal(sa, summary(b.trace, b.stats));
  assert.is(sa.sent, sa.delivered + sa.dropped);
  assert.ok(sa.trace.length > 300 && sa.shared > 100, `${sa.trace.length} deliveries, ${sa.shared} crossed`);
  // Windows are a third of the lookahead: three times the swaps of depth 1.
  const one = await busyInWorkers(2, 7, 1);
  assert.ok(a.swaps[0]! > 2 * one.swaps[0]!, `swaps ${a.swaps[0]} vs ${one.swaps[0]}`);
  // The same traffic: deliveries within 2% of depth 1's (only the order of random draws differs).
  assert.ok(Math.abs(sa.delivered - summary(one.trace, one.stats).delivered) <= 0.02 * sa.delivered);
  assert.throws(() => ShareMailbox.allocate(2, 1024, 0), /depth must be a whole number from 1 to 16/);
});

s('a share that fails stops its peers with an error, not a hang', () => {
  const buffer = ShareMailbox.allocate(2, 1 << 10);
  const a = new ShareMailbox(buffer, 0, { timeoutMs: 5_000 });
  const b = new ShareMailbox(buffer, 1, { timeoutMs: 5_000 });
  b.fail();
  assert.throws(() => a.swap([new Uint8Array(0), new Uint8Array(0)]), /share 1 failed; share 0 stops/);
  const c = new ShareMailbox(ShareMailbox.allocate(2, 1 << 10), 0, { timeoutMs: 5_000 });
  assert.throws(() => c.swap([new Uint8Array(0), new Uint8Array(2000)]), /batch for share 1 \(2000 bytes\) does not fit the mailbox's 1024-byte slot/);
  assert.throws(() => new ShareMailbox(buffer, 2), /share 2 is not one of the mailbox's 2/);
  const lonely = new ShareMailbox(ShareMailbox.allocate(2, 1 << 10), 0, { timeoutMs: 50 });
  assert.throws(() => lonely.swap([new Uint8Array(0), new Uint8Array(0)]), /share 1 did not reach swap 1 within 50 ms/);
});

s('batches carry announcements and datagrams in order and losslessly; bad batches are refused', () => {
  const ip = fc.constantFrom('198.51.100.1', '203.0.113.9', '2001:db8::1', '10.0.0.2');
  const record = fc.oneof(
    fc.record({ kind: fc.constant('announce' as const), ip, eid: fc.integer({ min: 0, max: 2 ** 32 - 1 }), gone: fc.boolean() }),
    fc.record({ kind: fc.constant('note' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
    fc.record({
      kind: fc.constant('datagram' as const), at: fc.double({ min: 0, max: 1e13, noNaN: true }),
      fromIp: ip, fromPort: fc.integer({ min: 1, max: 65535 }), fromEid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      toIp: ip, toPort: fc.integer({ min: 1, max: 65535 }), data: fc.uint8Array({ maxLength: 1500 }),
    }),
  );
  const reader = new ShareReader();
  fc.assert(fc.property(fc.array(record, { maxLength: 30 }), (records) => {
    const w = new ShareWriter();
    for (const r of records) {
      if (r.kind === 'announce') w.announce(r.ip, r.eid, r.gone);
      else if (r.kind === 'note') w.note(r.bytes);
      else w.datagram(r.at, r.fromIp, r.fromPort, r.fromEid, r.toIp, r.toPort, r.data);
    }
    const bytes = w.take();
    assert.is(w.size, 0);
    const back: unknown[] = [];
    reader.read(bytes, {
      announce: (ip, eid, gone) => back.push({ kind: 'announce', ip, eid, gone }),
      datagram: (at, from: Address, fromEid, toIp, toPort, data) => back.push({ kind: 'datagram', at, fromIp: from.host, fromPort: from.port, fromEid, toIp, toPort, data: data.slice() }),
      note: (bytes) => back.push({ kind: 'note', bytes: bytes.slice() }),
    });
    assert.equal(back, structuredClone(records));
    if (bytes.byteLength > 0) {
      const visitor = { announce: () => {}, datagram: () => {}, note: () => {} };
      assert.throws(() => reader.read(bytes.subarray(0, bytes.byteLength - 1), visitor), /truncated/);
    }
  }), { numRuns: 300 });
  assert.throws(() => reader.read(Uint8Array.of(9), { announce: () => {}, datagram: () => {}, note: () => {} }), /unknown record kind 9/);
  assert.throws(() => new ShareWriter().datagram(0, '198.51.100.1', 1, 1, '198.51.100.2', 1, new Uint8Array(70_000)), /too large to cross shares/);
});

s.run();
