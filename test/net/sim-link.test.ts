import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { HEADER_BYTES, totalDrops } from '../../src/net/sim.ts';
import { makeSim, record } from './sim-fixture.ts';

const s = suite('SimNet links');

s('one-way latency is the sum of the segments on the path', async () => {
  const { clock, sim } = makeSim({ latencyMs: 20 });
  const a = await sim.addHost('192.0.2.1', { latencyMs: 3 }).bind();
  const b = await sim.addHost('192.0.2.2', { latencyMs: 5 }).bind();
  const nat = sim.addNat('203.0.113.1', { kind: 'full-cone', latencyMs: 7 });
  const c = await sim.addHost('10.0.0.2', { nat, latencyMs: 11 }).bind();
  const gotB = record(clock, b);
  const gotC = record(clock, c);
  const t0 = clock.now();
  a.send(Uint8Array.of(1), b.address);
  c.send(Uint8Array.of(2), b.address);
  await clock.advance(100);
  assert.equal(gotB.map((r) => r.at - t0).sort((x, y) => x - y), [3 + 20 + 5, 11 + 7 + 20 + 5]);
  const t1 = clock.now();
  b.send(Uint8Array.of(3), gotB.find((r) => r.from.host === '203.0.113.1')!.from);
  await clock.advance(100);
  assert.equal(gotC.map((r) => r.at - t1), [5 + 20 + 7 + 11]);
  sim.close();
});

s('setLink overrides the path between two public endpoints, both ways', async () => {
  const { clock, sim } = makeSim({ latencyMs: 20 });
  const a = await sim.addHost('192.0.2.1', { latencyMs: 3 }).bind();
  const b = await sim.addHost('192.0.2.2').bind();
  const c = await sim.addHost('192.0.2.3').bind();
  sim.setLink('192.0.2.2', '192.0.2.1', { latencyMs: 80 });
  const got = [record(clock, a), record(clock, b), record(clock, c)];
  const t0 = clock.now();
  a.send(Uint8Array.of(1), b.address);
  b.send(Uint8Array.of(1), a.address);
  a.send(Uint8Array.of(1), c.address);
  await clock.advance(200);
  assert.equal(got.map((g) => g.map((r) => r.at - t0)), [[80], [80], [23]]);
  sim.setLink('192.0.2.1', '192.0.2.2', undefined);
  const t1 = clock.now();
  a.send(Uint8Array.of(1), b.address);
  await clock.advance(200);
  assert.is(got[1]![1]!.at - t1, 23);
  assert.throws(() => sim.setLink('192.0.2.1', '192.0.2.99', {}), /not a public host or NAT/);
  sim.close();
});

s('jitter: never below the latency floor, exponential mean, and it reorders', async () => {
  const { clock, sim } = makeSim({ latencyMs: 50, jitterMs: 10, seed: 3, timeResolutionMs: 0 });
  const a = await sim.addHost('192.0.2.1').bind();
  const b = await sim.addHost('192.0.2.2').bind();
  const delays: number[] = [];
  const order: number[] = [];
  const sentAt = new Map<number, number>();
  b.onMessage((data) => {
    const i = new DataView(data.buffer, data.byteOffset).getUint32(0);
    order.push(i);
    delays.push(clock.now() - sentAt.get(i)!);
  });
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const msg = new Uint8Array(4);
    new DataView(msg.buffer).setUint32(0, i);
    sentAt.set(i, clock.now());
    a.send(msg, b.address);
    if (i % 10 === 9) clock.runUntilSync(clock.now() + 1); // 10 datagrams per ms
  }
  clock.runUntilSync(clock.now() + 1000);
  assert.is(delays.length, n);
  const sorted = [...delays].sort((x, y) => x - y);
  const mean = delays.reduce((x, y) => x + y, 0) / n;
  assert.ok(sorted[0]! >= 50, `min ${sorted[0]}`);
  assert.ok(Math.abs(mean - 60) < 0.5, `mean ${mean}`);
  const median = sorted[n >> 1]!;
  assert.ok(Math.abs(median - (50 + 10 * Math.LN2)) < 0.5, `median ${median}`);
  const p99 = sorted[Math.floor(n * 0.99)]!;
  assert.ok(Math.abs(p99 - (50 + 10 * Math.log(100))) < 3, `p99 ${p99}`);
  assert.ok(sorted[n - 1]! <= 50 + 200, 'tail is capped');
  let inversions = 0;
  for (let i = 1; i < n; i++) if (order[i]! < order[i - 1]!) inversions++;
  assert.ok(inversions > n / 10, `only ${inversions} reorderings`);
  sim.close();
});

s('loss: the delivered fraction matches the configured loss on every segment', async () => {
  const cases = [
    { core: 0.1, host: 0, expect: 0.9 },
    { core: 0.1, host: 0.1, expect: 0.81 }, // sender access + core
    { core: 0, host: 0.3, expect: 0.7 },
  ];
  for (const c of cases) {
    const { clock, sim } = makeSim({ latencyMs: 5, loss: c.core, seed: 11 });
    const ah = sim.addHost('192.0.2.1', { loss: c.host });
    const a = await ah.bind();
    const b = await sim.addHost('192.0.2.2').bind();
    let got = 0;
    b.onMessage(() => got++);
    const n = 20_000;
    for (let i = 0; i < n; i++) a.send(Uint8Array.of(1), b.address);
    await clock.advance(10);
    const sigma = Math.sqrt((c.expect * (1 - c.expect)) / n);
    assert.ok(Math.abs(got / n - c.expect) < 4 * sigma, `delivered ${got / n}, expected ${c.expect}`);
    assert.is(sim.stats().drops.loss, n - got);
    assert.is(ah.stats().drops.loss, n - got);
    sim.close();
  }
});

s('uplink: a serialization queue paces datagrams and drops what exceeds it', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10 });
  // 1000 kbit/s = 125 bytes/ms; 1000-byte wire datagrams take 8 ms; the queue holds 10.
  const ah = sim.addHost('192.0.2.1', { uplinkKbps: 1000, queueBytes: 10_000 });
  const a = await ah.bind();
  const b = await sim.addHost('192.0.2.2').bind();
  const got = record(clock, b);
  const t0 = clock.now();
  for (let i = 0; i < 100; i++) a.send(new Uint8Array(1000 - HEADER_BYTES), b.address);
  await clock.advance(1000);
  assert.equal(got.map((r) => r.at - t0), Array.from({ length: 10 }, (_, i) => 8 * (i + 1) + 10));
  assert.is(ah.stats().drops.uplinkQueue, 90);
  assert.is(ah.stats().sentPackets, 100); // the application sent them; the link dropped them
  // Once drained, the queue accepts again at the full rate.
  for (let i = 0; i < 5; i++) a.send(new Uint8Array(1000 - HEADER_BYTES), b.address);
  await clock.advance(100);
  assert.is(got.length, 15);
  sim.close();
});

s('downlink: many senders into one slow downlink queue, then drop', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10 });
  const bh = sim.addHost('192.0.2.100', { downlinkKbps: 800, queueBytes: 5_000 }); // 100 bytes/ms
  const b = await bh.bind();
  const got = record(clock, b);
  const senders = await Promise.all(Array.from({ length: 20 }, (_, i) => sim.addHost(`192.0.2.${i + 1}`).bind()));
  const t0 = clock.now();
  for (const a of senders) a.send(new Uint8Array(500 - HEADER_BYTES), b.address);
  await clock.advance(1000);
  assert.is(got.length, 10);
  assert.is(bh.stats().drops.downlinkQueue, 10);
  assert.equal(got.map((r) => r.at - t0), Array.from({ length: 10 }, (_, i) => 10 + 5 * (i + 1)));
  sim.close();
});

s('configure changes a host link at run time', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10 });
  const ah = sim.addHost('192.0.2.1');
  const a = await ah.bind();
  const b = await sim.addHost('192.0.2.2').bind();
  const got = record(clock, b);
  ah.configure({ loss: 1 });
  a.send(Uint8Array.of(1), b.address);
  ah.configure({ loss: 0, latencyMs: 40 });
  const t0 = clock.now();
  a.send(Uint8Array.of(2), b.address);
  await clock.advance(100);
  assert.equal(got.map((r) => [r.data[0], r.at - t0]), [[2, 50]]);
  sim.close();
});

s('timeResolutionMs rounds delivery times up to the grid', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10.3, jitterMs: 2, timeResolutionMs: 1 });
  const a = await sim.addHost('192.0.2.1').bind();
  const b = await sim.addHost('192.0.2.2').bind();
  const got = record(clock, b);
  const t0 = clock.now();
  for (let i = 0; i < 200; i++) a.send(Uint8Array.of(1), b.address);
  await clock.advance(100);
  assert.is(got.length, 200);
  for (const r of got) {
    assert.ok(Number.isInteger(r.at) && r.at - t0 >= 11, `${r.at - t0}`);
  }
  sim.close();
});

const props = suite('SimNet properties (fast-check)');

props('conservation: every datagram sent is delivered once or dropped and counted', async () => {
  const profile = fc.record({
    latencyMs: fc.integer({ min: 0, max: 50 }),
    jitterMs: fc.integer({ min: 0, max: 20 }),
    loss: fc.constantFrom(0, 0.05, 0.5),
    uplinkKbps: fc.constantFrom(Infinity, 64, 1000),
    downlinkKbps: fc.constantFrom(Infinity, 128, 2000),
    queueBytes: fc.constantFrom(2_000, 64_000),
  });
  const send = fc.record({ from: fc.nat(3), to: fc.nat(4), size: fc.integer({ min: 0, max: 1500 }), gapMs: fc.integer({ min: 0, max: 30 }), port: fc.constantFrom(1, 2) });
  await fc.assert(
    fc.asyncProperty(fc.array(profile, { minLength: 4, maxLength: 4 }), fc.array(send, { maxLength: 150 }), fc.integer(), fc.constantFrom(0, 1), async (hosts, sends, seed, timeResolutionMs) => {
      const { clock, sim } = makeSim({ latencyMs: 5, jitterMs: 1, seed, timeResolutionMs });
      const nat = sim.addNat('203.0.113.1', { kind: 'full-cone' });
      const hs = hosts.map((p, i) => sim.addHost(i < 2 ? `192.0.2.${i + 1}` : `10.0.0.${i}`, { ...p, nat: i < 2 ? undefined : nat }));
      const socks = hs.map((h) => h.bindSync({ port: 1 }));
      // Destinations: two public sockets, the NAT (mapped or not), and an unused address.
      const targets = ['192.0.2.1', '192.0.2.2', '203.0.113.1', '10.0.0.3', '198.51.100.9'];
      let received = 0;
      for (const sk of socks) sk.onMessage(() => received++);
      for (const x of sends) {
        const payload = new Uint8Array(x.size);
        socks[x.from]!.send(payload, { host: targets[x.to]!, port: x.port });
        await clock.advance(x.gapMs);
      }
      await clock.advance(60_000);
      const st = sim.stats();
      assert.is(st.inFlight, 0);
      assert.is(st.sentPackets, sends.length);
      assert.is(st.deliveredPackets, received);
      assert.is(st.deliveredPackets + totalDrops(st.drops), st.sentPackets);
      const perHost = hs.reduce((n, h) => n + h.stats().receivedPackets, 0);
      assert.is(perHost, received);
      sim.close();
      assert.is(clock.pending, 0);
    }),
    { numRuns: 100, seed: 7 },
  );
});

props('without jitter a flow is FIFO and never faster than its latency', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 100 }),
      fc.constantFrom(Infinity, 100, 5000),
      fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 20 }), size: fc.integer({ min: 0, max: 1200 }) }), { minLength: 1, maxLength: 80 }),
      fc.constantFrom(0, 1),
      async (latencyMs, uplinkKbps, sends, timeResolutionMs) => {
        const { clock, sim } = makeSim({ latencyMs, loss: 0, timeResolutionMs });
        const a = await sim.addHost('192.0.2.1', { uplinkKbps, queueBytes: 1_000_000 }).bind();
        const b = await sim.addHost('192.0.2.2').bind();
        const sent: number[] = [];
        const got: [number, number][] = [];
        b.onMessage((d) => got.push([new DataView(d.buffer, d.byteOffset).getUint16(0), clock.now()]));
        for (const [i, x] of sends.entries()) {
          const msg = new Uint8Array(Math.max(2, x.size));
          new DataView(msg.buffer).setUint16(0, i);
          sent.push(clock.now());
          a.send(msg, b.address);
          await clock.advance(x.gapMs);
        }
        await clock.advance(200_000);
        assert.equal(got.map(([i]) => i), sends.map((_, i) => i));
        for (const [i, at] of got) assert.ok(at - sent[i]! >= latencyMs);
        sim.close();
      },
    ),
    { numRuns: 100, seed: 9 },
  );
});

props('timeResolutionMs: deliveries on the grid, never early, in order, and no timer left when idle', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(0.5, 1, 2.5, 4),
      fc.integer({ min: 0, max: 40 }),
      fc.array(fc.record({ gapMs: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 500 })), to: fc.nat(2) }), { minLength: 1, maxLength: 120 }),
      async (r, latencyMs, sends) => {
        const { clock, sim } = makeSim({ latencyMs: latencyMs + 0.3, timeResolutionMs: r });
        const a = await sim.addHost('192.0.2.1').bind();
        const b = await sim.addHost('192.0.2.2').bind();
        const c = await sim.addHost('192.0.2.3').bind();
        const targets = [b, c, a]; // a sends to itself too (loopback)
        const sentAt: number[] = [];
        const got: [number, number][] = [];
        for (const sock of targets) sock.onMessage((d) => got.push([new DataView(d.buffer, d.byteOffset).getUint16(0), clock.now()]));
        for (const [i, x] of sends.entries()) {
          const msg = new Uint8Array(2);
          new DataView(msg.buffer).setUint16(0, i);
          sentAt.push(clock.now());
          a.send(msg, targets[x.to]!.address);
          await clock.advance(x.gapMs);
        }
        await clock.advance(1000);
        assert.is(got.length, sends.length);
        for (const [i, at] of got) {
          const floor = sends[i]!.to === 2 ? 0.05 : latencyMs + 0.3;
          assert.ok(at - sentAt[i]! >= floor - 1e-6, `datagram ${i} early: ${at - sentAt[i]!} < ${floor}`);
          assert.ok(at - sentAt[i]! < floor + r + 1e-6, `datagram ${i} late: ${at - sentAt[i]!}`);
          const phase = (at / r) % 1;
          assert.ok(phase < 1e-6 || phase > 1 - 1e-6, `datagram ${i} off the grid at ${at}`);
        }
        for (const t of [0, 1]) {
          const flow = got.filter(([i]) => sends[i]!.to === t).map(([i]) => i);
          assert.equal(flow, [...flow].sort((x, y) => x - y), 'FIFO per flow without jitter');
        }
        assert.is(clock.pending, 0, 'timer left on an idle simulator');
        sim.close();
      },
    ),
    { numRuns: 100, seed: 13 },
  );
});

props('payloads are copied: receivers never see sender writes after send', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
      const { clock, sim } = makeSim({ latencyMs: 1 });
      const a = await sim.addHost('192.0.2.1').bind();
      const b = await sim.addHost('192.0.2.2').bind();
      const got = record(clock, b);
      const buf = bytes.slice();
      a.send(buf, b.address);
      buf.fill(0xaa);
      await clock.advance(5);
      assert.equal(got[0]!.data, bytes);
      sim.close();
    }),
    { numRuns: 100, seed: 5 },
  );
});

s.run();
props.run();
