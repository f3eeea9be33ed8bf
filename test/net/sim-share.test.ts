import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { NAT_KINDS, SimNet, type SimNetOptions } from '../../src/net/sim.ts';
import type { DatagramSocket } from '../../src/net/net.ts';
import { decodeShareBatch, encodeShareBatch, type ShareBatch } from '../../src/net/sim-share.ts';
import { type SharePart, stepShares, swapShares } from '../../src/net/share-stepper.ts';
import { record } from './sim-fixture.ts';

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
  assert.throws(() => new SimNet({ clock, random: new SeededRandom(1), latencyMs: 0, share: { index: 0, count: 2 } }), /core latency above 0/);
  const unordered = makeShares(2);
  assert.throws(() => swapShares([unordered[1]!, unordered[0]!]), /part 0 is share 1 of 2/);
});

/**
 * The busy network of sim-determinism.test.ts split over `count` shares (hosts dealt
 * round-robin, each share on its own clock and random stream); returns the deliveries in
 * time order and the summed counters.
 */
async function busy(count: number, seed: number): Promise<{ trace: string[]; sent: number; delivered: number; dropped: number; shared: number }> {
  const parts = makeShares(count, { jitterMs: 4, loss: 0.05 }, seed);
  const traffic = new SeededRandom(seed ^ 0x5eed);
  const socks: { sock: DatagramSocket; part: SharePart }[] = [];
  const publicAddrs: { host: string; port: number }[] = [];
  for (let i = 0; i < 8; i++) {
    const part = parts[i % count]!;
    const sock = await part.net.addHost(`198.51.100.${i + 1}`, { uplinkKbps: 200 + 100 * i, queueBytes: 3000 }).bind({ port: 4000 });
    socks.push({ sock, part });
    publicAddrs.push(sock.address);
  }
  for (const [k, kind] of NAT_KINDS.entries()) {
    const part = parts[k % count]!;
    const nat = part.net.addNat(`203.0.113.${k + 1}`, { kind, bindingTimeoutMs: 2_000, jitterMs: 2 });
    for (let j = 0; j < 3; j++) socks.push({ sock: await part.net.addHost(`10.0.0.${j + 2}`, { nat, loss: 0.02 }).bind(), part });
  }
  swapShares(parts);
  const trace: string[] = [];
  for (const [i, { sock, part }] of socks.entries()) {
    sock.onMessage((data, from) => {
      trace.push(`${part.clock.now().toFixed(4)} ${i} ${from.host}:${from.port} ${Array.from(data).join('.')}`);
      if (i < 8 && data[0]! < 3) sock.send(Uint8Array.of(data[0]! + 1, i), from);
    });
  }
  for (let step = 0; step < 400; step++) {
    const { sock } = socks[traffic.int(socks.length)]!;
    sock.send(Uint8Array.of(0, step & 0xff, traffic.int(256)), publicAddrs[traffic.int(publicAddrs.length)]!);
    await stepShares(parts, parts[0]!.clock.now() + traffic.int(40));
  }
  await stepShares(parts, parts[0]!.clock.now() + 10_000);
  const stats = parts.map((p) => p.net.stats());
  const sum = (f: (x: (typeof stats)[number]) => number) => stats.reduce((a, x) => a + f(x), 0);
  trace.sort();
  return {
    trace,
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

s('batches encode and decode losslessly; truncated buffers are refused', () => {
  const ip = fc.constantFrom('198.51.100.1', '203.0.113.9', '2001:db8::1', '10.0.0.2');
  const batch = fc.record({
    announcements: fc.array(fc.record({ ip, eid: fc.integer({ min: 0, max: 2 ** 32 - 1 }), gone: fc.boolean() }), { maxLength: 5 }),
    datagrams: fc.array(fc.record({
      at: fc.double({ min: 0, max: 1e13, noNaN: true }),
      fromIp: ip, fromPort: fc.integer({ min: 1, max: 65535 }), fromEid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      toIp: ip, toPort: fc.integer({ min: 1, max: 65535 }), data: fc.uint8Array({ maxLength: 1500 }),
    }), { maxLength: 20 }),
  });
  fc.assert(fc.property(batch, (b: ShareBatch) => {
    const bytes = encodeShareBatch(b);
    const back = decodeShareBatch(bytes);
    assert.equal(back, structuredClone(b));
    if (bytes.byteLength > 8) assert.throws(() => decodeShareBatch(bytes.subarray(0, bytes.byteLength - 1)), /truncated/);
  }), { numRuns: 200 });
  assert.throws(() => encodeShareBatch({ announcements: [{ ip: '198.51.100.1', eid: 1, gone: false }], datagrams: [] }, new Uint8Array(4)), /does not fit/);
});

s.run();
