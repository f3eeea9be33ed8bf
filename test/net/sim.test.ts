import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type RouteMemo, totalDrops } from '../../src/net/sim.ts';
import { netCompliance } from './compliance.ts';
import { makeSim, record } from './sim-fixture.ts';

netCompliance('SimNet', async () => {
  const { clock, sim } = makeSim({ latencyMs: 5, jitterMs: 1 });
  const a = sim.addHost('192.0.2.1');
  const b = sim.addHost('192.0.2.2');
  return {
    a,
    b,
    settle: () => clock.advance(50),
    close: async () => {
      sim.close();
      assert.is(clock.pending, 0, 'SimNet left a timer on the clock');
    },
  };
});

// Both ends behind NATs that let the conversation through: the contract holds there too
// (the server is public; replies come back through the client's mapping).
netCompliance('SimNet behind a port-restricted NAT', async () => {
  const { clock, sim } = makeSim({ latencyMs: 5, jitterMs: 1 });
  const nat = sim.addNat('203.0.113.1', { kind: 'port-restricted' });
  const a = sim.addHost('10.0.0.2', { nat });
  const b = sim.addHost('192.0.2.2');
  return { a, b, settle: () => clock.advance(50), close: async () => sim.close() };
});

const s = suite('SimNet basics');

s('hosts, addresses and configuration errors are explicit', async () => {
  const { sim } = makeSim();
  const h = sim.addHost('192.0.2.1');
  assert.throws(() => sim.addHost('192.0.2.1'), /already in use/);
  assert.throws(() => sim.addHost('not-an-ip'), /not an IPv4 or IPv6/);
  assert.throws(() => sim.addNat('192.0.2.1', { kind: 'full-cone' }), /already in use/);
  assert.throws(() => sim.addHost('192.0.2.9', { loss: 2 }), /loss must be in \[0, 1\]/);
  assert.throws(() => sim.addHost('192.0.2.9', { uplinkKbps: 0 }), /uplinkKbps must be > 0/);
  const nat = sim.addNat('203.0.113.1', { kind: 'symmetric' });
  const nat2 = sim.addNat('203.0.113.2', { kind: 'symmetric' });
  // Private addresses are per NAT: the same 10.0.0.2 may live behind two NATs.
  const p1 = sim.addHost('10.0.0.2', { nat });
  const p2 = sim.addHost('10.0.0.2', { nat: nat2 });
  assert.is(p1.publicIp, '203.0.113.1');
  assert.is(p2.publicIp, '203.0.113.2');
  assert.throws(() => sim.addHost('10.0.0.2', { nat }), /already in use behind NAT/);
  await h.bind({ host: '0.0.0.0', port: 1 });
  await h.bind({ host: '192.0.2.1', port: 2 });
  try {
    await h.bind({ host: '192.0.2.99' });
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /cannot listen on 192\.0\.2\.99:0: no such local address/);
  }
  const v6 = sim.addHost('2001:db8::1');
  const v6sock = await v6.bind({ port: 9 });
  assert.equal(v6sock.address, { host: '2001:db8::1', port: 9 });
  assert.equal(sim.stats().hosts, 4);
  assert.equal(sim.stats().nats, 2);
  sim.close();
});

s('IPv6 hosts talk to each other', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10 });
  const a = await sim.addHost('2001:db8::1').bind();
  const b = await sim.addHost('2001:db8::2').bind({ port: 443 });
  const got = record(clock, b);
  a.send(Uint8Array.of(1), { host: '2001:db8::2', port: 443 });
  await clock.advance(10);
  assert.equal(got.map((r) => r.from), [a.address]);
  sim.close();
});

s('a removed host drops what is in flight to it and refuses binds', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10 });
  const a = await sim.addHost('192.0.2.1').bind();
  const bh = sim.addHost('192.0.2.2');
  const b = await bh.bind({ port: 7 });
  const got = record(clock, b);
  a.send(Uint8Array.of(1), b.address);
  await clock.advance(5);
  bh.close();
  bh.close();
  assert.is(b.closed, true);
  await clock.advance(20);
  assert.is(got.length, 0);
  assert.is(sim.stats().drops.hostDown, 1);
  assert.is(bh.stats().drops.hostDown, 1);
  try {
    await bh.bind();
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /removed from the network/);
  }
  // The address is free again and unknown destinations are counted.
  a.send(Uint8Array.of(2), b.address);
  assert.is(sim.stats().drops.noRoute, 1);
  const again = await sim.addHost('192.0.2.2').bind({ port: 7 });
  const got2 = record(clock, again);
  a.send(Uint8Array.of(3), again.address);
  await clock.advance(20);
  assert.is(got2.length, 1);
  sim.close();
});

s('port unreachable and in-flight bound are counted', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10, maxInFlight: 5 });
  const ah = sim.addHost('192.0.2.1');
  const a = await ah.bind();
  sim.addHost('192.0.2.2');
  for (let i = 0; i < 8; i++) a.send(Uint8Array.of(i), { host: '192.0.2.2', port: 9 });
  assert.is(sim.inFlight, 5);
  await clock.advance(20);
  const st = sim.stats();
  assert.is(st.drops.overload, 3);
  assert.is(st.drops.portUnreachable, 5);
  assert.is(st.sentPackets, 8);
  assert.is(st.deliveredPackets + totalDrops(st.drops), 8);
  assert.is(ah.stats().drops.overload, 3);
  sim.close();
});

s('handlers run synchronously from the clock and an exception does not wedge the simulator', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10 });
  const a = await sim.addHost('192.0.2.1').bind();
  const b = await sim.addHost('192.0.2.2').bind();
  let n = 0;
  b.onMessage(() => {
    n++;
    if (n === 1) throw new Error('handler bug');
  });
  a.send(Uint8Array.of(1), b.address);
  a.send(Uint8Array.of(2), b.address);
  assert.throws(() => clock.runUntilSync(clock.now() + 10), /handler bug/);
  clock.runUntilSync(clock.now() + 1);
  assert.is(n, 2);
  sim.close();
  assert.is(clock.pending, 0);
});

s('sendNow arrives within the call, through the same NAT filter, loss and counters as send', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10 });
  const nat = sim.addNat('203.0.113.1', { kind: 'port-restricted' });
  const leaf = await sim.addHost('10.0.0.2', { nat }).bind({ port: 5000 });
  const serverHost = sim.addHost('192.0.2.2');
  const server = await serverHost.bind({ port: 4000 });
  const atServer: string[] = [];
  const atLeaf: number[] = [];
  let mappedPort = 0;
  server.onMessage((data, from) => {
    atServer.push(`${data[0]} ${from.host}`);
    mappedPort = from.port;
  });
  leaf.onMessage((data) => atLeaf.push(data[0]!));
  // Before the leaf has sent anything, its NAT has no mapping: dropped, as by send.
  server.sendNow(Uint8Array.of(1), { host: '203.0.113.1', port: 5000 });
  assert.equal(atLeaf, []);
  assert.is(totalDrops(sim.stats().drops), 1);
  // Out through the NAT: the server sees the mapped address before sendNow returns; no clock timer.
  leaf.sendNow(Uint8Array.of(2), server.address);
  assert.equal(atServer, ['2 203.0.113.1']);
  assert.is(clock.pending, 0);
  server.sendNow(Uint8Array.of(3), { host: '203.0.113.1', port: mappedPort });
  assert.equal(atLeaf, [3]);
  assert.is(leaf.stats().sentPackets, 1);
  assert.is(leaf.stats().receivedPackets, 1);
  assert.is(serverHost.stats().receivedPackets, 1);
  // A lossy path loses instant datagrams too.
  sim.setLink('203.0.113.1', '192.0.2.2', { loss: 1 });
  leaf.sendNow(Uint8Array.of(4), server.address);
  assert.is(atServer.length, 1);
  assert.is(sim.stats().drops.loss, 1);
  sim.close();
});

s('carryNow stops at the receiving socket: same route and counters as sendNow, no handler run, drops give undefined', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10 });
  const nat = sim.addNat('203.0.113.1', { kind: 'port-restricted' });
  const leafHost = sim.addHost('10.0.0.2', { nat });
  const leaf = await leafHost.bind({ port: 5000 });
  const lanPeer = await sim.addHost('10.0.0.3', { nat }).bind({ port: 5000 });
  const serverHost = sim.addHost('192.0.2.2');
  const server = await serverHost.bind({ port: 4000 });
  let handled = 0;
  server.onMessage(() => handled++);
  // Dropped by the NAT (no mapping yet): undefined, counted as a drop.
  assert.is(server.carryNow(Uint8Array.of(1), { host: '203.0.113.1', port: 5000 }), undefined);
  assert.is(sim.stats().drops.natUnsolicited, 1);
  const payload = Uint8Array.of(2, 2);
  const dst = leaf.carryNow(payload, server.address);
  assert.is(dst, server, 'the receiving socket');
  assert.equal(sim.carriedFrom, { host: '203.0.113.1', port: sim.carriedFrom!.port }, 'the NAT-mapped source');
  assert.is(handled, 0, 'its handlers did not run');
  assert.is(serverHost.stats().receivedPackets, 1, 'counted at the host');
  assert.is(sim.stats().deliveredPackets, 1);
  assert.is(server.stats().receivedPackets, 0, 'the socket count is the carrier\'s');
  dst!.countCarried(payload.byteLength);
  assert.is(server.stats().receivedBytes, 2);
  // The mapping it made lets the answer in, as sendNow's would.
  assert.is(server.carryNow(Uint8Array.of(3), sim.carriedFrom!), leaf);
  // To the sender's own LAN: not instant; sent as usual and delivered later through the handlers.
  let lanGot = 0;
  lanPeer.onMessage(() => lanGot++);
  assert.is(leaf.carryNow(Uint8Array.of(4), lanPeer.address), undefined);
  await clock.advance(50);
  assert.is(lanGot, 1);
  assert.is(clock.pending, 0);
  sim.close();
});

s('a route memo spares the lookup while its host lives, and follows the address to a new owner or a new LAN peer', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10 });
  const nat = sim.addNat('203.0.113.1', { kind: 'port-restricted' });
  const leaf = await sim.addHost('10.0.0.2', { nat }).bind({ port: 5000 });
  const serverHost = sim.addHost('192.0.2.2');
  const server = await serverHost.bind({ port: 4000 });
  const to = { host: '192.0.2.2', port: 4000 };
  const memo: RouteMemo = { routeTo: undefined, routeEdge: undefined, routeLan: -1 };
  assert.is(leaf.carryNow(Uint8Array.of(1), to, memo), server);
  assert.is(memo.routeTo, to);
  assert.is(memo.routeEdge, serverHost, 'remembered');
  assert.is(memo.routeLan, nat.lanVersion);
  assert.is(leaf.carryNow(Uint8Array.of(2), to, memo), server, 'through the memo');
  // The host leaves and its address goes to a new one: the memo is not trusted, the table is asked.
  serverHost.close();
  assert.is(leaf.carryNow(Uint8Array.of(3), to, memo), undefined, 'nobody there: dropped');
  const newHost = sim.addHost('192.0.2.2');
  const newServer = await newHost.bind({ port: 4000 });
  assert.is(leaf.carryNow(Uint8Array.of(4), to, memo), newServer, 'the new owner');
  assert.is(memo.routeEdge, newHost);
  // A host on the sender's own LAN with that address (private and public ranges may meet) takes it from then on.
  const lanTwin = await sim.addHost('192.0.2.2', { nat }).bind({ port: 4000 });
  let lanGot = 0;
  lanTwin.onMessage(() => lanGot++);
  assert.is(leaf.carryNow(Uint8Array.of(5), to, memo), undefined, 'a LAN datagram is not instant');
  await clock.advance(50);
  assert.is(lanGot, 1, 'delivered on the LAN, not to the remembered public host');
  assert.is(newServer.stats().receivedPackets, 0);
  sim.close();
});

s('sendNow to a host with a slow downlink arrives within the call and takes its place in the queue', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10 });
  const a = await sim.addHost('192.0.2.1').bind();
  // 8 kbit/s: one byte per ms; a queue of 300 bytes.
  const slow = sim.addHost('192.0.2.2', { downlinkKbps: 8, queueBytes: 300 });
  const b = await slow.bind();
  const got: number[] = [];
  b.onMessage((d) => got.push(d[0]!));
  a.sendNow(new Uint8Array(100).fill(1), b.address);
  assert.equal(got, [1], 'delivered before sendNow returned');
  assert.is(clock.pending, 0, 'no clock event');
  // It occupies the downlink: what is sent next waits behind it, and a burst overflows the queue.
  a.sendNow(new Uint8Array(100).fill(2), b.address);
  a.sendNow(new Uint8Array(100).fill(3), b.address);
  assert.equal(got, [1, 2]);
  assert.is(slow.stats().drops.downlinkQueue, 1);
  a.send(new Uint8Array(10).fill(4), b.address);
  await clock.advance(11);
  assert.equal(got, [1, 2], 'a normal datagram waits for the queue to drain');
  await clock.advance(400);
  assert.equal(got, [1, 2, 4]);
  sim.close();
});

s('sim.close() removes everything and leaves no timer', async () => {
  const { clock, sim } = makeSim({ latencyMs: 10 });
  const a = await sim.addHost('192.0.2.1').bind();
  const b = await sim.addHost('192.0.2.2').bind();
  a.send(Uint8Array.of(1), b.address);
  assert.is(clock.pending, 1);
  sim.close();
  sim.close();
  assert.is(clock.pending, 0);
  assert.is(a.closed && b.closed, true);
  assert.throws(() => sim.addHost('192.0.2.3'), /closed/);
});

s.run();
