/**
 * The "Show" for sessions: two nodes on real UDP (127.0.0.1) and on SimNet (10%
 * loss with reordering, and a NAT that rebinds) complete a handshake and exchange 10,000
 * messages with none lost or duplicated.
 *
 * What each test asserts, honestly: sessions are a datagram service (at most once, no
 * retransmission). On loopback a simple ack window keeps the socket buffers from
 * overflowing and nothing is retransmitted, so "none lost" is the session layer's own
 * result. On SimNet with 10% loss the sessions lose ~10% of packets by construction; the
 * test runs a minimal selective-repeat ARQ above them (what the wire/RPC layer does) and
 * asserts that the session layer never delivered any packet twice and that the
 * application got every message exactly once.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UdpNet } from '../../src/net/udp.ts';
import { SimNet } from '../../src/net/sim.ts';
import { RealClock, type Clock } from '../../src/clock.ts';
import { SecureRandom, SeededRandom } from '../../src/random.ts';
import { VirtualClock } from '../../src/virtual-clock.ts';
import type { DatagramSocket } from '../../src/net/net.ts';
import type { Random } from '../../src/random.ts';
import { SessionManager } from '../../src/wire/session-manager.ts';
import type { SessionOptions } from '../../src/wire/session/options.ts';
import { nodeIdOf } from '../../src/wire/session/identity-binding.ts';
import { testIdentity } from './session-harness.ts';
import { Demux } from '../../src/wire/demux.ts';

const N = 10_000;

/** A node as the overlay will wire it: socket -> Demux ('overlay' class) -> SessionManager. */
function node(socket: DatagramSocket, seed: number, clock: Clock, random: Random, options: Partial<SessionOptions> = {}) {
  const identity = testIdentity(seed);
  const manager = new SessionManager({ identity, clock, random, send: (d, to) => socket.send(d, to), options });
  const demux = new Demux(socket);
  demux.on('overlay', (d, from) => manager.receive(d, from));
  return { manager, nodeId: nodeIdOf(identity.publicKey), socket, demux };
}

const u32 = (b: Uint8Array, off = 0) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off);

const udp = suite('session: two UdpNet nodes on 127.0.0.1');

udp('handshake, then 10,000 messages of 1000 bytes, none lost or duplicated (ack window, no retransmission)', async () => {
  const net = new UdpNet();
  const clock = new RealClock();
  const sa = await net.bind({ host: '127.0.0.1', port: 0 });
  const sb = await net.bind({ host: '127.0.0.1', port: 0 });
  const a = node(sa, 101, clock, new SecureRandom());
  const b = node(sb, 102, clock, new SecureRandom());
  try {
    const session = await a.manager.connect(sb.address, b.nodeId, AbortSignal.timeout(10_000));
    assert.is(session.nodeId, b.nodeId);
    const seen = new Uint8Array(N);
    let received = 0;
    let duplicates = 0;
    let acked = 0;
    let sent = 0;
    const WINDOW = 32;
    const done = new Promise<void>((resolve) => {
      b.manager.onMessage((payload, s) => {
        const i = u32(payload);
        if (seen[i]) duplicates++;
        seen[i] = 1;
        received++;
        if (received % 8 === 0 || received === N) {
          const ack = new Uint8Array(4);
          new DataView(ack.buffer).setUint32(0, received);
          s.send(ack);
        }
        if (received === N) resolve();
      });
    });
    const payload = new Uint8Array(1000);
    const pump = () => {
      while (sent < N && sent - acked < WINDOW) {
        new DataView(payload.buffer).setUint32(0, sent++);
        session.send(payload);
      }
    };
    a.manager.onMessage((p) => {
      acked = Math.max(acked, u32(p));
      pump();
    });
    pump();
    const stalled = clock.sleep(30_000).then(() => 'stalled');
    const outcome = await Promise.race([done.then(() => 'done'), stalled]);
    assert.is(outcome, 'done', `stalled: ${received} of ${N} received (a datagram was lost; session drops ${JSON.stringify(b.manager.stats().dropped)}, socket ${JSON.stringify(sb.stats())})`);
    assert.is(received, N);
    assert.is(duplicates, 0);
    assert.is(seen.reduce((x, y) => x + y, 0), N);
    const drops = Object.values(b.manager.stats().dropped).reduce((x, y) => x + y, 0);
    assert.is(drops, 0, 'no packet dropped by the session layer');
  } finally {
    a.manager.close();
    b.manager.close();
    a.demux.close();
    b.demux.close();
    sa.close();
    sb.close();
  }
});
udp.run();

/** Selective-repeat ARQ over a session, on a virtual clock (what the layer above sessions does). */
async function exchangeWithArq(clock: VirtualClock, a: ReturnType<typeof node>, b: ReturnType<typeof node>, count: number) {
  const session = (await (async () => {
    const p = a.manager.connect(b.socket.address.host === '10.0.0.2' ? b.socket.address : b.socket.address, b.nodeId);
    let s: Awaited<typeof p> | undefined;
    let err: unknown;
    p.then((x) => (s = x), (e) => (err = e));
    while (!s && !err) await clock.advance(10);
    if (err) throw err;
    return s!;
  })());
  const delivered = new Uint8Array(count);
  let appDeliveries = 0;
  const sessionSeen = new Set<number>(); // (id, attempt) pairs seen by the session layer
  let sessionDuplicates = 0;
  b.manager.onMessage((p, s) => {
    const id = u32(p);
    const attempt = u32(p, 4);
    const k = id * 64 + attempt;
    if (sessionSeen.has(k)) sessionDuplicates++;
    sessionSeen.add(k);
    if (!delivered[id]) {
      delivered[id] = 1;
      appDeliveries++;
    }
    s.send(p.subarray(0, 4)); // ack (lost acks lead to retransmission; the app dedups by id)
  });
  const inflight = new Map<number, { at: number; attempt: number }>();
  let next = 0;
  let retransmits = 0;
  const payload = new Uint8Array(200);
  const transmit = (id: number, attempt: number) => {
    const v = new DataView(payload.buffer);
    v.setUint32(0, id);
    v.setUint32(4, attempt);
    session.send(payload);
    inflight.set(id, { at: clock.now(), attempt });
  };
  const pump = () => {
    while (next < count && inflight.size < 256) transmit(next++, 0);
  };
  a.manager.onMessage((p) => {
    inflight.delete(u32(p));
    pump();
  });
  const rto = clock.setInterval(() => {
    for (const [id, f] of inflight) {
      if (clock.now() - f.at >= 250) {
        retransmits++;
        transmit(id, f.attempt + 1);
      }
    }
  }, 50);
  pump();
  const deadline = clock.now() + 600_000;
  while (appDeliveries < count && clock.now() < deadline) await clock.advance(100);
  rto.cancel();
  return { appDeliveries, sessionDuplicates, retransmits, delivered };
}

const sim = suite('session: SimNet');

sim('10% loss with reordering: handshake, 10,000 messages, exactly once to the app, never duplicated by the session', async () => {
  const clock = new VirtualClock();
  const net = new SimNet({ clock, random: new SeededRandom(7), latencyMs: 20, jitterMs: 15, loss: 0.1 });
  const ha = net.addHost('10.0.0.1');
  const hb = net.addHost('10.0.0.2');
  const sa = await ha.bind({ port: 4000 });
  const sb = await hb.bind({ port: 4000 });
  const a = node(sa, 201, clock, new SeededRandom(1), { rekeyAfterMessages: 3000 });
  const b = node(sb, 202, clock, new SeededRandom(2), { rekeyAfterMessages: 3000 });
  // Reordering really happens on this path: count DATA packets arriving out of counter order.
  let reordered = 0;
  let lastCounter = -1;
  sb.onMessage((d) => {
    if (d[0] !== 0xe3) return;
    const c = new DataView(d.buffer, d.byteOffset).getUint32(5, true);
    if (c < lastCounter) reordered++;
    lastCounter = Math.max(lastCounter, c);
  });
  const r = await exchangeWithArq(clock, a, b, N);
  assert.is(r.appDeliveries, N, `${r.appDeliveries} of ${N} delivered`);
  assert.is(r.sessionDuplicates, 0, 'the session layer never delivered a packet twice');
  assert.ok(r.retransmits > 500, `losses were real and recovered above the session (${r.retransmits} retransmits)`);
  assert.ok(reordered > 100, `reordering was real (${reordered} packets)`);
  const st = b.manager.stats();
  assert.is(st.dropped.authFailed, 0);
  assert.ok(a.manager.stats().rekeys + st.rekeys >= 2, 'keys rotated during the exchange');
  a.manager.close();
  b.manager.close();
  net.close();
});

sim('NAT rebinding: the leaf gets a new public port after its mapping expires; the session follows without a new handshake', async () => {
  const clock = new VirtualClock();
  const net = new SimNet({ clock, random: new SeededRandom(8), latencyMs: 10 });
  const server = net.addHost('198.51.100.1');
  const nat = net.addNat('203.0.113.9', { kind: 'port-restricted', bindingTimeoutMs: 20_000 });
  const leafHost = net.addHost('10.0.0.5', { nat });
  const ss = await server.bind({ port: 7000 });
  const sl = await leafHost.bind({ port: 5000 });
  const s = node(ss, 301, clock, new SeededRandom(3), { idleTimeoutMs: 120_000 });
  const l = node(sl, 302, clock, new SeededRandom(4), { idleTimeoutMs: 120_000 });
  const got: string[] = [];
  l.manager.onMessage((p) => got.push(new TextDecoder().decode(p)));
  const p = l.manager.connect(ss.address, s.nodeId);
  let session: Awaited<typeof p> | undefined;
  p.then((x) => (session = x));
  while (!session) await clock.advance(10);
  const serverSide = s.manager.get(l.nodeId)!;
  const before = serverSide.address;
  assert.is(before.host, '203.0.113.9');
  await clock.advance(30_000); // the NAT forgets the idle mapping
  serverSide.send(new TextEncoder().encode('lost: mapping expired'));
  await clock.advance(100);
  assert.equal(got, [], 'the NAT drops traffic to the expired mapping');
  session!.keepalive(); // the leaf speaks: a new mapping, a new public port
  await clock.advance(100);
  assert.is(serverSide.address.host, '203.0.113.9');
  assert.is.not(serverSide.address.port, before.port, 'new public port');
  serverSide.send(new TextEncoder().encode('found you'));
  await clock.advance(100);
  assert.equal(got, ['found you']);
  assert.is(s.manager.stats().roams, 1);
  assert.is(s.manager.stats().handshakesCompleted, 1, 'no new handshake');
  s.manager.close();
  l.manager.close();
  net.close();
});
sim.run();
