/**
 * Liveness probes in the simulator: the stand-in leaf runs OverlayNode's LivenessProbe
 * (liveness.ts) on its SimLinks, sent the instant way (`PeerConfig.instantKeepalives`,
 * SimSocket.sendNow): a probe through the leaf's NAT and the supernode's echo arrive within
 * the call, the probe keeps its 2.5 s period, a dead supernode is noticed within the
 * probes' bound, and a scenario gives the same traffic and lookup figures as with delayed
 * probes.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { SimNet } from '../../src/net/sim.ts';
import { SimLinks } from '../../src/overlay/sim/sim-links.ts';
import { DEFAULT_LIVENESS, ProbeSchedule, echoArea, echoAttached, echoLoad, encodeEcho, encodeEchoInto, isProbe, LivenessProbe, packedEcho, parseLinkProbe } from '../../src/overlay/liveness.ts';
import { runScenario } from '../../src/overlay/sim/scenario.ts';
import { DATA_HEADER_LEN } from '../../src/wire/session/packets.ts';
import { TAGLEN } from '../../src/wire/noise/crypto.ts';

const s = suite('overlay/sim probes');

/** The probe/echo wire format, read byte by byte (liveness.ts module docs), as the readers' model. */
function modelOf(d: Uint8Array): ReturnType<typeof parseLinkProbe> {
  if (d.length === 1 && d[0] === 0x50) return { type: 'probe' };
  if ((d.length === 2 || d.length === 3) && d[0] === 0x51) {
    return { type: 'echo', attached: d[1]! >= 0x80, load: Math.min(100, d[1]! % 128), area: d.length === 3 ? Math.min(100, d[2]!) : undefined };
  }
  return undefined;
}

s('the probe and echo readers decode every short payload as the wire format says', () => {
  let echoes = 0;
  for (let len = 0; len <= 3; len++) {
    const count = len === 0 ? 1 : len === 1 ? 256 : len === 2 ? 65536 : 256 * 256 * 4;
    for (let n = 0; n < count; n++) {
      const d = new Uint8Array(len);
      // Three-byte payloads: every first and second byte, with area bytes 0, 77, 100 and 255.
      if (len >= 1) d[0] = len === 3 ? [0x51, 0x50, 0x01, 0x00][n >> 16]! : n & 0xff;
      if (len === 2) d[1] = n >> 8;
      if (len === 3) (d[1] = n & 0xff), (d[2] = [0, 77, 100, 255][(n >> 8) & 3]!);
      const p = modelOf(d);
      assert.equal(parseLinkProbe(d), p);
      assert.is(isProbe(d), p?.type === 'probe');
      const e = packedEcho(d);
      if (p?.type !== 'echo') {
        assert.is(e, -1);
        continue;
      }
      echoes++;
      assert.equal([echoAttached(e), echoLoad(e), echoArea(e)], [p.attached, p.load, p.area]);
    }
  }
  assert.ok(echoes > 1000, `${echoes} echoes checked`);
  const out = new Uint8Array(3);
  for (const [a, l, area] of [[true, 0, 0], [false, 100, 100], [true, 57.4, 120], [false, -3, 33]] as const) {
    assert.equal([...encodeEchoInto(out, a, l, area)], [...encodeEcho(a, l, area)]);
  }
});

s('a closing link tells its parcel sink, then the node\'s sink, then its own handlers, once', async () => {
  const clock = new VirtualClock();
  const net = new SimNet({ clock, random: new SeededRandom(6), latencyMs: 20 });
  const ips = ['198.51.100.1', '198.51.100.2'];
  const directory = { publicIpOf: (n: number) => ips[n] };
  const nodes = ips.map((ip, i) => new SimLinks({ self: i, socket: net.addHost(ip).bindSync({ port: 4000 }), clock, directory, instantKeepalives: true }));
  const seen: string[] = [];
  nodes[1]!.onPayload({ onLinkPayload: () => {}, onLinkClosed: (link, reason) => void seen.push(`node ${link.peer} ${reason}`) });
  const link = nodes[1]!.connect(0, { host: ips[0]!, port: 4000 });
  link.attach({ onParcel: () => {}, onLinkClose: (reason) => void seen.push(`parcels ${reason}`) });
  link.onClose((reason) => void seen.push(`own ${reason}`));
  await clock.advance(200);
  assert.ok(link.established);
  link.close('done');
  link.close('again');
  assert.equal(seen, ['parcels done', 'node 0 done', 'own done']);
});

s('onPayload: one sink per node sees every link\'s probes and echoes, before each link\'s own handlers', async () => {
  const clock = new VirtualClock();
  const net = new SimNet({ clock, random: new SeededRandom(5), latencyMs: 20 });
  const ips = ['198.51.100.1', '198.51.100.2', '198.51.100.3'];
  const directory = { publicIpOf: (n: number) => ips[n] };
  const nodes = ips.map((ip, i) => new SimLinks({ self: i, socket: net.addHost(ip).bindSync({ port: 4000 }), clock, directory, instantKeepalives: true }));
  const seen: string[] = [];
  const remove = nodes[0]!.onPayload({ onLinkPayload: (link, d) => void seen.push(`sink ${link.peer}:${d[0]}`) });
  nodes[0]!.onAccept((l) => l.onMessage((d) => seen.push(`own ${l.peer}:${d[0]}`)));
  const a = nodes[1]!.connect(0, { host: ips[0]!, port: 4000 });
  const b = nodes[2]!.connect(0, { host: ips[0]!, port: 4000 });
  await clock.advance(200);
  assert.ok(a.established && b.established, 'handshakes');
  a.sendInstant(new Uint8Array([7]));
  b.sendInstant(new Uint8Array([8]));
  assert.equal(seen, ['sink 1:7', 'own 1:7', 'sink 2:8', 'own 2:8']);
  remove();
  a.sendInstant(new Uint8Array([9]));
  assert.equal(seen.slice(4), ['own 1:9']);
});

s('a link takes DATA only from its peer\'s address: another source with the right link id is dropped and counted', async () => {
  const clock = new VirtualClock();
  const net = new SimNet({ clock, random: new SeededRandom(6), latencyMs: 20 });
  const ips = ['198.51.100.1', '198.51.100.2'];
  const directory = { publicIpOf: (n: number) => ips[n] };
  const nodes = ips.map((ip, i) => new SimLinks({ self: i, socket: net.addHost(ip).bindSync({ port: 4000 }), clock, directory, instantKeepalives: true }));
  const got: number[] = [];
  nodes[0]!.onAccept((l) => l.onMessage((d) => got.push(d[0]!)));
  const link = nodes[1]!.connect(0, { host: ips[0]!, port: 4000 });
  await clock.advance(200);
  assert.ok(link.established);
  link.sendInstant(Uint8Array.of(7));
  link.sendInstant(Uint8Array.of(8));
  assert.equal(got, [7, 8], 'from the peer (the second compared by identity)');
  const accepted = nodes[0]!.get(1)!;
  const address = { ...accepted.address };
  // The same DATA packet (link id, counter, payload, tag) from a stranger's address.
  const stranger = net.addHost('198.51.100.9').bindSync({ port: 4000 });
  const packet = new Uint8Array(DATA_HEADER_LEN + 1 + TAGLEN);
  packet[0] = 0xe3;
  new DataView(packet.buffer).setUint32(1, link.remoteId, true);
  packet[DATA_HEADER_LEN] = 9;
  const dropped = nodes[0]!.stats.dropped;
  stranger.send(packet, { host: ips[0]!, port: 4000 });
  await clock.advance(100);
  assert.equal(got, [7, 8], 'not delivered');
  assert.is(nodes[0]!.stats.dropped, dropped + 1, 'counted');
  assert.equal({ ...accepted.address }, address, 'the link still answers its peer');
  link.sendInstant(Uint8Array.of(10));
  assert.equal(got, [7, 8, 10]);
});

/**
 * A leaf (node 0) behind a port-restricted NAT and a public supernode (node 1), each with
 * SimLinks sending probes the instant way.
 */
function leafBehindNatAndSupernode(seed: number) {
  const clock = new VirtualClock();
  const net = new SimNet({ clock, random: new SeededRandom(seed), latencyMs: 20 });
  const nat = net.addNat('203.0.113.9', { kind: 'port-restricted' });
  const leafHost = net.addHost('10.0.0.2', { nat });
  const snHost = net.addHost('198.51.100.1');
  const ips = ['203.0.113.9', '198.51.100.1'];
  const directory = { publicIpOf: (n: number) => ips[n] };
  const leaf = new SimLinks({ self: 0, socket: leafHost.bindSync({ port: 4000 }), clock, directory, instantKeepalives: true });
  const sn = new SimLinks({ self: 1, socket: snHost.bindSync({ port: 4000 }), clock, directory, instantKeepalives: true });
  return { clock, net, snHost, leaf, sn };
}

s('a probe through a NAT and its echo arrive within the call; the period holds; a dead supernode is noticed', async () => {
  const { clock, net, snHost, leaf, sn } = leafBehindNatAndSupernode(3);
  sn.onAccept((l) => l.onMessage((d) => {
    if (parseLinkProbe(d)?.type === 'probe') l.sendInstant(encodeEcho(true, 40, 55));
  }));
  const link = leaf.connect(1, { host: '198.51.100.1', port: 4000 });
  await clock.advance(200);
  assert.ok(link.established, 'handshake');
  const far = sn.get(0)!;
  const echoes: number[] = [];
  let dead = -1;
  const probe = new LivenessProbe(clock, new SeededRandom(1), { get isClosed() { return link.closed; }, lastReceivedAt: () => link.lastReceived, send: (p) => link.sendInstant(p) }, DEFAULT_LIVENESS, {
    echo: (_rtt, attached, load, area) => {
      assert.ok(attached);
      assert.is(load, 40);
      assert.is(area, 55);
      echoes.push(clock.now());
    },
    dead: () => void (dead = clock.now()),
  });
  link.onMessage((d) => {
    const m = parseLinkProbe(d);
    if (m?.type === 'echo') probe.onEcho(m.attached, m.load, m.area);
  });
  const before = { sn: far.lastReceived, sent: snHost.stats().sentPackets };
  probe.start();
  await clock.advance(25_000);
  // One probe per 2.5 s (+-5%) after a random first one: an echo within the send must not
  // cut the period short.
  assert.ok(probe.sent >= 9 && probe.sent <= 11, `${probe.sent} probes in 25 s`);
  assert.is(echoes.length, probe.sent, 'every probe echoed');
  assert.is(snHost.stats().sentPackets, before.sent + probe.sent, 'the echoes are counted');
  assert.ok(far.lastReceived > before.sn, 'the supernode heard the probes');
  assert.is(link.lastReceived, echoes.at(-1), 'echo heard within the probe\'s call');
  snHost.close();
  const t = clock.now();
  await clock.advance(10_000);
  assert.ok(dead > t, 'a closed supernode is declared dead');
  // Period, then three unanswered probes of at most 700 ms each.
  assert.ok(dead - t <= 2500 * 1.05 + 3 * 700 + 1, `dead after ${dead - t} ms`);
  net.close();
});

s('a SimLink is a probed link itself: probes and echoes of 3 bytes or fewer go the instant way through send, larger payloads keep their delay, and the probe keeps what the echo said', async () => {
  const { clock, net, leaf, sn } = leafBehindNatAndSupernode(4);
  const heardBySn: number[] = [];
  sn.onAccept((l) => l.onMessage((d) => {
    heardBySn.push(d.byteLength);
    if (isProbe(d)) l.send(encodeEcho(false, 61, 72));
  }));
  const link = leaf.connect(1, { host: '198.51.100.1', port: 4000 });
  // Before the handshake a probe-sized payload is dropped, not queued (a probe on an unusable link).
  link.send(new Uint8Array([0x50]));
  await clock.advance(200);
  assert.ok(link.established, 'handshake');
  assert.equal(heardBySn, [], 'nothing sent before the handshake');
  const calls: string[] = [];
  const probe = new LivenessProbe(clock, new SeededRandom(1), link, DEFAULT_LIVENESS, {
    echo: (_rtt, attached, load, area, p) => {
      assert.is(p, probe, 'the probe is handed to its events');
      calls.push(`echo ${attached} ${load} ${area}`);
    },
    dead: (_reason, p) => void calls.push(`dead ${p === probe}`),
  });
  link.onMessage((d) => {
    const m = parseLinkProbe(d);
    if (m?.type === 'echo') probe.onEcho(m.attached, m.load, m.area);
  });
  assert.is(probe.load, -1, 'no load before the first echo');
  probe.start();
  await clock.advance(2600);
  assert.is(probe.sent, 1);
  assert.equal(calls, ['echo false 61 72'], 'echo heard within the probe\'s send');
  assert.is(probe.load, 61);
  assert.is(probe.area, 72);
  // A 4-byte payload is not a probe or echo: it takes the path's delay.
  link.send(new Uint8Array([1, 2, 3, 4]));
  assert.is(heardBySn.length, 1, 'a larger payload is not delivered within the call');
  await clock.advance(200);
  assert.equal(heardBySn, [1, 4]);
  net.close();
});

s('a node\'s probes share its schedule: all go out together on one timer, once a period, and a silent supernode is still noticed in time', async () => {
  const clock = new VirtualClock();
  const random = new SeededRandom(9);
  const schedule = new ProbeSchedule(clock, random);
  const phase = schedule.phaseMs;
  assert.ok(phase >= 0 && phase < DEFAULT_LIVENESS.periodMs && Number.isInteger(phase), `phase ${phase}`);
  const sends: number[][] = [[], [], []];
  const alive = [true, true, true];
  let dead = -1;
  const probes: LivenessProbe[] = [];
  for (let i = 0; i < 3; i++) {
    // An echo within the send (as the simulator's instant path), while the supernode lives.
    const link = { isClosed: false, lastReceivedAt: () => -1, send: () => {
      sends[i]!.push(clock.now());
      if (alive[i]) probes[i]!.onEcho(true, 10, 10);
    } };
    probes[i] = new LivenessProbe(clock, random, link, DEFAULT_LIVENESS, { echo: () => {}, dead: () => void (dead = clock.now()) }, undefined, schedule);
  }
  // Started at different moments (attachments come one by one).
  probes[0]!.start();
  await clock.advance(700);
  probes[1]!.start();
  probes[1]!.start(); // a second start changes nothing
  await clock.advance(1900);
  probes[2]!.start();
  await clock.advance(30_000);
  const period = DEFAULT_LIVENESS.periodMs;
  for (let i = 0; i < 3; i++) {
    assert.ok(sends[i]!.length >= 12, `probe ${i}: ${sends[i]!.length} sent`);
    for (const t of sends[i]!) assert.is(((t - phase) % period + period) % period, 0, `probe ${i} sent off the phase at ${t}`);
    for (let k = 1; k < sends[i]!.length; k++) assert.is(sends[i]![k]! - sends[i]![k - 1]!, period, 'one probe a period');
  }
  assert.equal(sends[1]!.slice(-10), sends[0]!.slice(-10), 'together');
  assert.equal(sends[2]!.slice(-10), sends[0]!.slice(-10), 'together');
  assert.is(schedule.waiting, 3);
  assert.is(clock.pending, 1, 'one timer for the three probes');
  alive[1] = false;
  const t = clock.now();
  await clock.advance(10_000);
  assert.ok(dead > t && dead - t <= period + 3 * DEFAULT_LIVENESS.maxTimeoutMs, `dead after ${dead - t} ms`);
  assert.ok(sends[0]!.at(-1)! > dead, 'the others go on');
  assert.is(sends[1]!.filter((x) => x > t).length, 3, 'three probes to the silent one, then no more');
  // A stopped probe leaves at the next tick; clear() drops the rest and the timer.
  probes[0]!.stop();
  await clock.advance(period);
  assert.is(schedule.waiting, 1);
  schedule.clear();
  assert.is(clock.pending, 0);
  const n = sends[2]!.length;
  await clock.advance(3 * period);
  assert.is(sends[2]!.length, n, 'nothing after clear');
});

s('a probe answered late rejoins its node\'s ticks', async () => {
  const clock = new VirtualClock();
  const schedule = new ProbeSchedule(clock, new SeededRandom(4));
  const sends: number[] = [];
  let probe: LivenessProbe | undefined;
  // Echoes after 100 ms (a real path), except the 3rd probe's, lost: its retry after the timeout is answered.
  const link = { isClosed: false, lastReceivedAt: () => -1, send: () => {
    sends.push(clock.now());
    if (sends.length !== 3) clock.setTimeout(() => probe!.onEcho(true, 5, 5), 100);
  } };
  let dead = false;
  probe = new LivenessProbe(clock, new SeededRandom(5), link, DEFAULT_LIVENESS, { echo: () => {}, dead: () => void (dead = true) }, undefined, schedule);
  probe.start();
  await clock.advance(20_000);
  assert.not.ok(dead);
  const period = DEFAULT_LIVENESS.periodMs;
  const onTick = (x: number) => ((x - schedule.phaseMs) % period + period) % period === 0;
  assert.ok(onTick(sends[0]!) && onTick(sends[1]!) && onTick(sends[2]!), 'first three on the ticks');
  assert.ok(!onTick(sends[3]!) && sends[3]! - sends[2]! <= DEFAULT_LIVENESS.maxTimeoutMs, `the retry ${sends[3]! - sends[2]!} ms after the lost one`);
  assert.ok(sends.slice(4).every(onTick), 'back on the ticks');
  assert.is(sends[4]! - sends[2]!, period, 'at the next tick');
  assert.is(clock.pending, 1);
  // A probe's period must be its schedule's.
  assert.throws(() => new LivenessProbe(clock, new SeededRandom(6), link, { ...DEFAULT_LIVENESS, periodMs: 1000 }, { echo: () => {}, dead: () => {} }, undefined, schedule), /period 1000 ms on a schedule of 2500 ms/);
});

s('the carry path (payload straight to the peer link) gives exactly what delivery through the socket gives', async () => {
  // The same probing world twice: with SimSockets, SimLinks takes SimNet's carry path;
  // behind a plain wrapper it sends with sendNow and receives through the socket handler.
  const run = async (wrap: boolean) => {
    const clock = new VirtualClock();
    const net = new SimNet({ clock, random: new SeededRandom(5), latencyMs: 20, loss: 0.05 });
    const ips: string[] = [];
    const directory = { publicIpOf: (n: number) => ips[n] };
    const links: SimLinks[] = [];
    const hosts = [];
    const kinds = ['port-restricted', 'symmetric', 'address-restricted', 'full-cone'] as const;
    for (let i = 0; i < 6; i++) {
      let host;
      if (i < 2) {
        ips[i] = `198.51.100.${i + 1}`;
        host = net.addHost(ips[i]!);
      } else {
        ips[i] = `203.0.113.${i}`;
        host = net.addHost('10.0.0.2', { nat: net.addNat(ips[i]!, { kind: kinds[i - 2]! }) });
      }
      hosts.push(host);
      const sock = host.bindSync({ port: 4000 });
      const socket = wrap
        ? { get closed() { return sock.closed; }, address: sock.address, send: sock.send.bind(sock), sendNow: sock.sendNow.bind(sock), onMessage: sock.onMessage.bind(sock), close: () => sock.close(), stats: () => sock.stats() }
        : sock;
      links[i] = new SimLinks({ self: i, socket: socket as never, clock, directory, instantKeepalives: true });
    }
    for (const sn of links.slice(0, 2)) {
      sn.onAccept((l) => l.onMessage((d) => {
        if (parseLinkProbe(d)?.type === 'probe') l.sendInstant(encodeEcho(true, 40, 55));
      }));
    }
    const log: string[] = [];
    for (let i = 2; i < 6; i++) {
      for (const sn of [0, 1]) {
        const link = links[i]!.connect(sn, { host: ips[sn]!, port: 4000 });
        const probe = new LivenessProbe(clock, new SeededRandom(i * 2 + sn), { get isClosed() { return link.closed; }, lastReceivedAt: () => link.lastReceived, send: (p) => link.sendInstant(p) }, DEFAULT_LIVENESS, {
          echo: (rtt) => log.push(`${clock.now()} ${i}>${sn} echo ${rtt}`),
          dead: (why) => log.push(`${clock.now()} ${i}>${sn} dead ${why}`),
        });
        link.onMessage((d) => {
          const m = parseLinkProbe(d);
          if (m?.type === 'echo') probe.onEcho(m.attached, m.load, m.area);
        });
        probe.start();
      }
    }
    await clock.advance(30_000);
    hosts[1]!.close();
    await clock.advance(30_000);
    const figures = { net: net.stats(), hosts: hosts.map((h) => h.stats()), links: links.map((l) => l.stats), heard: links.map((l) => [...l.all()].map((x) => `${x.peer} ${x.lastReceived}`)) };
    net.close();
    return { log, figures };
  };
  const carried = await run(false);
  const delivered = await run(true);
  assert.ok(carried.log.filter((l) => l.includes('echo')).length > 50, 'probes were answered');
  assert.ok(carried.log.some((l) => l.includes('dead')), 'the closed supernode was noticed');
  assert.ok(carried.figures.net.drops.loss > 0, 'some probes were lost');
  assert.equal(carried.log, delivered.log);
  assert.equal(carried.figures, delivered.figures);
});

s('scenarios give the same traffic and lookup figures with instant and delayed probes', async () => {
  // Two seeds each way, pooled: one small run's idle-leaf bytes also hold a few re-attaches
  // and republishes (2 KB each), which the two ways' different random streams place differently.
  const runs = async (instantKeepalives: boolean) => {
    const out = [];
    for (const seed of [17, 18]) out.push(await runScenario({ nodes: 150, durationS: 240, churnPerHour: 0.69, lookups: 80, seed, seeds: 3, peer: { instantKeepalives } }));
    return out;
  };
  const pooled = (rs: Awaited<ReturnType<typeof runs>>, pick: (r: (typeof rs)[number]) => { msgsPerSec: number; bytesPerSec: number; nodeHours: number }) => {
    let h = 0, m = 0, b = 0;
    for (const r of rs) {
      const t = pick(r);
      h += t.nodeHours;
      m += t.msgsPerSec * t.nodeHours;
      b += t.bytesPerSec * t.nodeHours;
    }
    return { msgsPerSec: m / h, bytesPerSec: b / h };
  };
  const instant = await runs(true);
  const delayed = await runs(false);
  const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(a, b);
  const leafA = pooled(instant, (r) => r.traffic.leafIdle);
  const leafB = pooled(delayed, (r) => r.traffic.leafIdle);
  assert.ok(close(leafA.msgsPerSec, leafB.msgsPerSec, 0.05), `idle leaf ${leafA.msgsPerSec} vs ${leafB.msgsPerSec} datagrams/s`);
  assert.ok(close(leafA.bytesPerSec, leafB.bytesPerSec, 0.2), `idle leaf ${leafA.bytesPerSec} vs ${leafB.bytesPerSec} B/s`);
  const snA = pooled(instant, (r) => r.traffic.supernode);
  const snB = pooled(delayed, (r) => r.traffic.supernode);
  assert.ok(close(snA.bytesPerSec, snB.bytesPerSec, 0.15), `supernode ${snA.bytesPerSec} vs ${snB.bytesPerSec} B/s`);
  for (const r of [...instant, ...delayed]) assert.ok(r.lookupSuccess >= 0.97, `success ${r.lookupSuccess}`);
  // The probes are all there: a leaf probes each of its 3 supernodes every 2.5 s and hears the echoes.
  assert.ok(leafA.msgsPerSec > 2.1 && leafA.msgsPerSec < 2.7, `idle leaf ${leafA.msgsPerSec} datagrams/s`);
});

s.run();
