/**
 * Liveness in the simulator: the stand-in leaf runs OverlayNode's LivenessProbe
 * (liveness.ts) on its SimLinks, heartbeats, probes and echoes sent the instant way
 * (`PeerConfig.instantKeepalives`, SimSocket.sendNow): heartbeats through the leaf's NAT
 * keep it from probing but every 15 s, a late heartbeat brings a probe, a dead supernode
 * is noticed within the bound, a node's checks share one timer, and a scenario gives the
 * same traffic and lookup figures as with delayed packets.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { SimNet } from '../../src/net/sim.ts';
import { type SimLink, SimLinks } from '../../src/overlay/sim/sim-links.ts';
import { deadWithinMs, DEFAULT_LIVENESS, echoArea, echoAttached, echoIsHeartbeat, echoLoad, encodeEcho, encodeEchoInto, encodeHeartbeat, encodeHeartbeatInto, isProbe, LivenessProbe, LivenessWatch, nextBeatInMs, packedEcho, parseLinkProbe, type ProbedLink } from '../../src/overlay/liveness.ts';
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
  if (d.length === 3 && d[0] === 0x52) return { type: 'heartbeat', attached: d[1]! >= 0x80, load: Math.min(100, d[1]! % 128), area: Math.min(100, d[2]!) };
  return undefined;
}

s('the probe, echo and heartbeat readers decode every short payload as the wire format says', () => {
  let echoes = 0;
  for (let len = 0; len <= 3; len++) {
    const count = len === 0 ? 1 : len === 1 ? 256 : len === 2 ? 65536 : 256 * 256 * 4;
    for (let n = 0; n < count; n++) {
      const d = new Uint8Array(len);
      // Three-byte payloads: every first and second byte, with area bytes 0, 77, 100 and 255.
      if (len >= 1) d[0] = len === 3 ? [0x51, 0x52, 0x50, 0x01][n >> 16]! : n & 0xff;
      if (len === 2) d[1] = n >> 8;
      if (len === 3) (d[1] = n & 0xff), (d[2] = [0, 77, 100, 255][(n >> 8) & 3]!);
      const p = modelOf(d);
      assert.equal(parseLinkProbe(d), p);
      assert.is(isProbe(d), p?.type === 'probe');
      const e = packedEcho(d);
      if (p?.type !== 'echo' && p?.type !== 'heartbeat') {
        assert.is(e, -1);
        continue;
      }
      echoes++;
      assert.equal([echoIsHeartbeat(e), echoAttached(e), echoLoad(e), echoArea(e)], [p.type === 'heartbeat', p.attached, p.load, p.area]);
    }
  }
  assert.ok(echoes > 1000, `${echoes} echoes checked`);
  const out = new Uint8Array(3);
  for (const [a, l, area] of [[true, 0, 0], [false, 100, 100], [true, 57.4, 120], [false, -3, 33]] as const) {
    assert.equal([...encodeEchoInto(out, a, l, area)], [...encodeEcho(a, l, area)]);
    assert.equal([...encodeHeartbeatInto(out, l, area)], [...encodeHeartbeat(l, area)]);
    assert.equal(parseLinkProbe(encodeHeartbeat(l, area)), { ...parseLinkProbe(encodeEcho(true, l, area))!, type: 'heartbeat' });
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

/** A supernode's side of liveness on SimLinks: echo every probe, and heartbeat every attached link on the multiples of the period. */
function serveLiveness(clock: VirtualClock, sn: SimLinks, beats = true): { stop(): void } {
  const leaves: SimLink[] = [];
  sn.onAccept((l) => {
    leaves.push(l);
    l.onMessage((d) => {
      if (isProbe(d)) l.sendInstant(encodeEcho(true, 40, 55));
    });
  });
  let timer = clock.setTimeout(() => {
    timer = clock.setInterval(() => {
      for (const l of leaves) if (!l.closed) l.sendInstant(encodeHeartbeat(40, 55));
    }, DEFAULT_LIVENESS.periodMs);
  }, nextBeatInMs(clock.now()));
  if (!beats) timer.cancel();
  return { stop: () => timer.cancel() };
}

/** A leaf's probe on `link`, fed by the link's echoes and heartbeats. */
function watchLink(clock: VirtualClock, link: SimLink, events: ConstructorParameters<typeof LivenessProbe>[4], watch?: LivenessWatch, seed = 1): LivenessProbe {
  const probed: ProbedLink = { get isClosed() { return link.closed; }, lastReceivedAt: () => link.lastReceived, send: (p) => link.sendInstant(p) };
  const probe = new LivenessProbe(clock, new SeededRandom(seed), probed, DEFAULT_LIVENESS, events, undefined, watch);
  link.onMessage((d) => {
    const m = parseLinkProbe(d);
    if (m?.type === 'echo') probe.onEcho(m.attached, m.load, m.area);
    if (m?.type === 'heartbeat') probe.onHeartbeat(m.load, m.area);
  });
  return probe;
}

s('heartbeats through a NAT keep a leaf from probing but every 15 s; a dead supernode is noticed within the bound', async () => {
  const { clock, net, snHost, leaf, sn } = leafBehindNatAndSupernode(3);
  serveLiveness(clock, sn);
  const link = leaf.connect(1, { host: '198.51.100.1', port: 4000 });
  await clock.advance(200);
  assert.ok(link.established, 'handshake');
  const far = sn.get(0)!;
  const said: number[] = [];
  let dead = -1;
  const probe = watchLink(clock, link, {
    echo: (_rtt, attached, load, area) => {
      assert.ok(attached);
      assert.equal([load, area], [40, 55]);
      said.push(clock.now());
    },
    dead: () => void (dead = clock.now()),
  });
  probe.start();
  await clock.advance(5_000);
  const before = { sent: probe.sent, beats: probe.heartbeats, snSent: snHost.stats().sentPackets, heard: far.lastReceived };
  await clock.advance(60_000);
  // 24 heartbeats a minute; a refresh probe every 15 s (+-5%), answered: 4, or 3 or 5 at the edges.
  const beats = probe.heartbeats - before.beats;
  const probes = probe.sent - before.sent;
  assert.ok(beats >= 23 && beats <= 25, `${beats} heartbeats in 60 s`);
  assert.ok(probes >= 3 && probes <= 5, `${probes} probes in 60 s`);
  assert.is(snHost.stats().sentPackets - before.snSent, beats + probes, 'heartbeats and echoes are all the supernode sent');
  assert.ok(far.lastReceived > before.heard, 'the supernode heard the refresh probes (the NAT binding stays open)');
  assert.is(said.length, probe.heartbeats + probe.sent, 'every heartbeat and echo reported');
  const lastBeat = link.lastReceived;
  snHost.close();
  await clock.advance(10_000);
  assert.ok(dead > lastBeat, 'a closed supernode is declared dead');
  assert.ok(dead - lastBeat <= deadWithinMs(), `dead ${dead - lastBeat} ms after the last heartbeat (bound ${deadWithinMs()} ms)`);
  assert.is(deadWithinMs(), 2500 + 250 + 2 * 700);
  net.close();
});

s('a late heartbeat brings a probe; an answer keeps the supernode; one that sends no heartbeats is probed every period', async () => {
  const { clock, net, leaf, sn } = leafBehindNatAndSupernode(8);
  const served = serveLiveness(clock, sn);
  const link = leaf.connect(1, { host: '198.51.100.1', port: 4000 });
  await clock.advance(200);
  const sends: number[] = [];
  let dead = false;
  const probe = watchLink(clock, link, { echo: () => {}, dead: () => void (dead = true) });
  const send = link.sendInstant.bind(link);
  link.sendInstant = (p: Uint8Array) => {
    if (isProbe(p)) sends.push(clock.now());
    send(p);
  };
  probe.start();
  await clock.advance(20_000);
  const routine = sends.length;
  // The supernode stops its heartbeats (an older one, or one that lost track of us) but still echoes.
  served.stop();
  const t = clock.now();
  await clock.advance(30_000);
  assert.not.ok(dead, 'an answering supernode is kept');
  const late = sends.slice(routine).filter((x) => x > t);
  const span = DEFAULT_LIVENESS.periodMs + DEFAULT_LIVENESS.graceMs;
  // A probe whenever the link has been silent for a period and the grace.
  assert.ok(late.length >= 30_000 / span - 1 && late.length <= 30_000 / span + 1, `${late.length} probes in 30 s`);
  for (let i = 1; i < late.length; i++) assert.ok(late[i]! - late[i - 1]! <= span + 1, `probes ${late[i]! - late[i - 1]!} ms apart`);
  assert.ok(routine <= 3, `${routine} probes while the heartbeats came`);
  net.close();
});

s('a SimLink is a probed link itself: payloads of 3 bytes or fewer go the instant way through send, larger ones keep their delay, and the probe keeps what the echo said', async () => {
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
  // The first probe goes within the first period.
  await clock.advance(DEFAULT_LIVENESS.periodMs);
  assert.is(probe.sent, 1);
  assert.equal(calls, ['echo false 61 72'], 'echo heard within the probe\'s send');
  assert.is(probe.load, 61);
  assert.is(probe.area, 72);
  // A 4-byte payload is not a probe, echo or heartbeat: it takes the path's delay.
  link.send(new Uint8Array([1, 2, 3, 4]));
  assert.is(heardBySn.length, 1, 'a larger payload is not delivered within the call');
  await clock.advance(200);
  assert.equal(heardBySn, [1, 4]);
  net.close();
});

s('a node\'s checks share one timer: with its supernodes beating together, one wake-up a period; a silent one is still noticed in time', async () => {
  const clock = new VirtualClock();
  const watch = new LivenessWatch(clock);
  const period = DEFAULT_LIVENESS.periodMs;
  const alive = [true, true, true];
  const heard = [-Infinity, -Infinity, -Infinity];
  const sends: number[][] = [[], [], []];
  const checks: number[] = [];
  let dead = -1;
  const probes: LivenessProbe[] = [];
  for (let i = 0; i < 3; i++) {
    // Echoes within the send while the supernode lives (the simulator's instant path).
    const link: ProbedLink = { isClosed: false, lastReceivedAt: () => heard[i]!, send: () => {
      sends[i]!.push(clock.now());
      if (alive[i]) (heard[i] = clock.now()), probes[i]!.onEcho(true, 10, 10);
    } };
    probes[i] = new LivenessProbe(clock, new SeededRandom(i + 1), link, DEFAULT_LIVENESS, { echo: () => {}, dead: () => void (dead = clock.now()) }, undefined, watch);
  }
  // Heartbeats on the multiples of the period, while each supernode lives.
  clock.setTimeout(() => {
    clock.setInterval(() => {
      for (let i = 0; i < 3; i++) if (alive[i]) (heard[i] = clock.now()), probes[i]!.onHeartbeat(10, 10);
    }, period);
  }, nextBeatInMs(clock.now()));
  // The watch's timer fires are counted through the clock: wrap its callback.
  const setTimeoutReusing = clock.setTimeoutReusing.bind(clock);
  clock.setTimeoutReusing = (spent, fn, ms) => setTimeoutReusing(spent, () => (checks.push(clock.now()), fn()), ms);
  // Started at different moments (attachments come one by one).
  probes[0]!.start();
  await clock.advance(700);
  probes[1]!.start();
  probes[1]!.start(); // a second start changes nothing
  await clock.advance(1900);
  probes[2]!.start();
  assert.is(watch.size, 3);
  await clock.advance(10_000);
  const from = clock.now();
  await clock.advance(60_000);
  const wakes = checks.filter((x) => x > from);
  // One wake-up a period (24 a minute), each a grace after the beat; the refresh probes go on those wake-ups.
  assert.ok(wakes.length >= 24 && wakes.length <= 25, `${wakes.length} wake-ups in 60 s`);
  for (const x of wakes) assert.is(((x - DEFAULT_LIVENESS.graceMs) % period + period) % period, 0, `a wake-up off the beat at ${x}`);
  for (let i = 0; i < 3; i++) {
    const n = sends[i]!.filter((x) => x > from).length;
    assert.ok(n >= 3 && n <= 5, `supernode ${i}: ${n} probes in 60 s`);
  }
  alive[1] = false;
  const t = clock.now();
  await clock.advance(10_000);
  assert.ok(dead > t && dead - heard[1]! <= deadWithinMs(), `dead ${dead - heard[1]!} ms after the last heartbeat`);
  assert.is(sends[1]!.filter((x) => x > t).length, DEFAULT_LIVENESS.misses - 1, 'probes to the silent one after its late heartbeat, then no more');
  assert.is(watch.size, 2, 'the dead one left the watch');
  const n0 = sends[0]!.length;
  await clock.advance(20_000);
  assert.ok(sends[0]!.length > n0, 'the others go on');
  // stop() leaves; clear() stops the timer.
  probes[0]!.stop();
  assert.is(watch.size, 1);
  watch.clear();
  const n2 = sends[2]!.length;
  await clock.advance(30_000);
  assert.is(sends[2]!.length, n2, 'nothing after clear');
});

s('one watch serves many nodes\' probes: a heartbeat spares the next check, members leave in any order, a silent supernode is still noticed in time', async () => {
  const clock = new VirtualClock();
  const watch = new LivenessWatch(clock);
  const period = DEFAULT_LIVENESS.periodMs;
  const n = 60;
  const alive: boolean[] = [];
  const heard: number[] = [];
  const reads: number[] = []; // checks made of each probe (a check reads lastReceivedAt)
  const dead: number[] = [];
  const probes: LivenessProbe[] = [];
  for (let i = 0; i < n; i++) {
    alive[i] = true;
    heard[i] = -Infinity;
    reads[i] = 0;
    dead[i] = -1;
    const link: ProbedLink = {
      isClosed: false,
      lastReceivedAt: () => (reads[i]!++, heard[i]!),
      send: () => {
        if (alive[i]) (heard[i] = clock.now()), probes[i]!.onEcho(true, 10, 10);
      },
    };
    probes[i] = new LivenessProbe(clock, new SeededRandom(100 + i), link, DEFAULT_LIVENESS, { echo: () => {}, dead: () => void (dead[i] = clock.now()) }, undefined, watch);
  }
  clock.setTimeout(() => {
    clock.setInterval(() => {
      for (let i = 0; i < n; i++) if (alive[i] && dead[i] < 0) (heard[i] = clock.now()), probes[i]!.onHeartbeat(10, 10);
    }, period);
  }, nextBeatInMs(clock.now()));
  for (let i = 0; i < n; i++) {
    probes[i]!.start();
    await clock.advance(37);
  }
  assert.is(watch.size, n);
  await clock.advance(10_000);
  // A minute of heartbeats: each probe is checked for its refresh probes (about 4 a minute),
  // not at every one of the 24 wake-ups.
  const before = reads.slice();
  await clock.advance(60_000);
  for (let i = 0; i < n; i++) {
    const checks = reads[i]! - before[i]!;
    assert.ok(checks >= 3 && checks <= 10, `probe ${i}: ${checks} checks in 60 s`);
  }
  // Stop every third probe (slots are reused as members leave), silence a few of the others.
  for (let i = 0; i < n; i += 3) probes[i]!.stop();
  assert.is(watch.size, n - n / 3);
  const silent = [1, 2, 29, 58, 59];
  for (const i of silent) alive[i] = false;
  const t = clock.now();
  const stoppedReads = reads.filter((_, i) => i % 3 === 0);
  await clock.advance(10_000);
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) assert.is(dead[i], -1, `stopped probe ${i} reported nothing`);
    else if (silent.includes(i)) assert.ok(dead[i]! > t && dead[i]! - heard[i]! <= deadWithinMs(), `probe ${i}: dead ${dead[i]! - heard[i]!} ms after its last heartbeat`);
    else assert.is(dead[i], -1, `probe ${i} of a live supernode stays`);
  }
  assert.equal(reads.filter((_, i) => i % 3 === 0), stoppedReads, 'stopped probes are not checked');
  assert.is(watch.size, n - n / 3 - silent.length, 'the dead left the watch');
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
    for (const sn of links.slice(0, 2)) serveLiveness(clock, sn);
    const log: string[] = [];
    for (let i = 2; i < 6; i++) {
      const watch = new LivenessWatch(clock);
      for (const sn of [0, 1]) {
        const link = links[i]!.connect(sn, { host: ips[sn]!, port: 4000 });
        watchLink(clock, link, {
          echo: (rtt) => log.push(`${clock.now()} ${i}>${sn} echo ${rtt}`),
          dead: (why) => log.push(`${clock.now()} ${i}>${sn} dead ${why}`),
        }, watch, i * 2 + sn).start();
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
  assert.ok(carried.log.filter((l) => l.includes('echo')).length > 50, 'heartbeats and echoes were heard');
  assert.ok(carried.log.some((l) => l.includes('dead')), 'the closed supernode was noticed');
  assert.ok(carried.figures.net.drops.loss > 0, 'some probes were lost');
  assert.equal(carried.log, delivered.log);
  assert.equal(carried.figures, delivered.figures);
});

s('scenarios give the same traffic and lookup figures with instant and delayed heartbeats and probes', async () => {
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
  // It is all there: a leaf hears a heartbeat from each of its 3 supernodes every 2.5 s
  // (1.2 a second) and probes each every 15 s, echoes included (0.4 a second).
  assert.ok(leafA.msgsPerSec > 1.45 && leafA.msgsPerSec < 1.8, `idle leaf ${leafA.msgsPerSec} datagrams/s`);
});

s.run();
