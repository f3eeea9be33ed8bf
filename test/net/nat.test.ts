import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { NAT_KINDS, type NatKind } from '../../src/net/sim.ts';
import type { Address, DatagramSocket } from '../../src/net/net.ts';
import { makeSim, record } from './sim-fixture.ts';

const LAT = 10; // core one-way latency in these tests
const TIMEOUT = 30_000;

/**
 * A leaf behind a NAT of `kind`, and three public sockets: S:7000, S:7001 (same IP,
 * other port) and T:7000 (other IP).
 */
async function world(kind: NatKind, extra: { hairpin?: boolean; maxMappings?: number } = {}) {
  const { clock, sim } = makeSim({ latencyMs: LAT });
  const nat = sim.addNat('203.0.113.1', { kind, bindingTimeoutMs: TIMEOUT, ...extra });
  const leafHost = sim.addHost('10.0.0.2', { nat });
  const leaf = await leafHost.bind({ port: 5000 });
  const sHost = sim.addHost('198.51.100.1');
  const s7000 = await sHost.bind({ port: 7000 });
  const s7001 = await sHost.bind({ port: 7001 });
  const t7000 = await sim.addHost('198.51.100.2').bind({ port: 7000 });
  const seen = { leaf: record(clock, leaf), s7000: record(clock, s7000), s7001: record(clock, s7001), t7000: record(clock, t7000) };
  /** Send and let it arrive; returns whether `to` received it and from where. */
  const hop = async (from: DatagramSocket, to: DatagramSocket, toAddr: Address = to.address) => {
    const log = to === leaf ? seen.leaf : to === s7000 ? seen.s7000 : to === s7001 ? seen.s7001 : seen.t7000;
    const before = log.length;
    from.send(Uint8Array.of(1), toAddr);
    await clock.advance(LAT);
    return log.length > before ? log[log.length - 1]!.from : undefined;
  };
  return { clock, sim, nat, leafHost, leaf, s7000, s7001, t7000, hop };
}

const expected: Record<NatKind, { samePortOther: boolean; otherIp: boolean; sameMappingForOtherDest: boolean }> = {
  'full-cone': { samePortOther: true, otherIp: true, sameMappingForOtherDest: true },
  'address-restricted': { samePortOther: true, otherIp: false, sameMappingForOtherDest: true },
  'port-restricted': { samePortOther: false, otherIp: false, sameMappingForOtherDest: true },
  symmetric: { samePortOther: false, otherIp: false, sameMappingForOtherDest: false },
};

const kinds = suite('NAT kinds');

for (const kind of NAT_KINDS) {
  kinds(`${kind}: mapping and filtering`, async () => {
    const w = await world(kind);
    const want = expected[kind];
    // Unsolicited inbound is dropped: nothing is mapped yet.
    for (let port = 1024; port < 1034; port++) assert.is(await w.hop(w.s7000, w.leaf, { host: '203.0.113.1', port }), undefined);
    assert.ok(w.nat.stats().drops.natUnsolicited >= 10);
    // Outbound creates a mapping; the server sees the NAT's public address.
    const mapped = (await w.hop(w.leaf, w.s7000, { host: '198.51.100.1', port: 7000 }))!;
    assert.is(mapped.host, '203.0.113.1');
    assert.ok(mapped.port >= 1024);
    // The contacted endpoint can always answer.
    assert.equal(await w.hop(w.s7000, w.leaf, mapped), { host: '198.51.100.1', port: 7000 });
    assert.is(!!(await w.hop(w.s7001, w.leaf, mapped)), want.samePortOther, 'same IP, other port');
    assert.is(!!(await w.hop(w.t7000, w.leaf, mapped)), want.otherIp, 'other IP');
    // A second destination: same mapping (endpoint-independent) or a new port (symmetric).
    const mapped2 = (await w.hop(w.leaf, w.t7000, { host: '198.51.100.2', port: 7000 }))!;
    assert.is(mapped2.port === mapped.port, want.sameMappingForOtherDest, `ports ${mapped.port} / ${mapped2.port}`);
    if (kind !== 'full-cone') {
      // After the leaf contacted T, T may answer on the mapping T saw.
      assert.ok(await w.hop(w.t7000, w.leaf, mapped2));
    }
    const drops = w.sim.stats().drops;
    assert.is(drops.natFiltered, (want.samePortOther ? 0 : 1) + (want.otherIp ? 0 : 1));
    w.sim.close();
  });

  kinds(`${kind}: mappings expire after the binding timeout without outbound traffic`, async () => {
    const w = await world(kind);
    const mapped = (await w.hop(w.leaf, w.s7000, { host: '198.51.100.1', port: 7000 }))!;
    // Inbound traffic does not keep the mapping alive.
    for (let t = 0; t < TIMEOUT; t += 5_000) {
      assert.ok(await w.hop(w.s7000, w.leaf, mapped), `inbound at +${t} ms`);
      await w.clock.advance(5_000 - LAT);
    }
    await w.clock.advance(LAT + 1);
    assert.is(await w.hop(w.s7000, w.leaf, mapped), undefined);
    assert.is(w.nat.stats().drops.natExpired + w.nat.stats().drops.natUnsolicited, 1);
    // Outbound again: a fresh mapping that works.
    const again = (await w.hop(w.leaf, w.s7000, { host: '198.51.100.1', port: 7000 }))!;
    assert.ok(await w.hop(w.s7000, w.leaf, again));
    w.sim.close();
  });

  kinds(`${kind}: keepalives hold the mapping open indefinitely`, async () => {
    const w = await world(kind);
    const mapped = (await w.hop(w.leaf, w.s7000, { host: '198.51.100.1', port: 7000 }))!;
    for (let i = 0; i < 10; i++) {
      await w.clock.advance(TIMEOUT - 1_000);
      const m = (await w.hop(w.leaf, w.s7000, { host: '198.51.100.1', port: 7000 }))!;
      assert.equal(m, mapped);
    }
    await w.clock.advance(TIMEOUT - 1_000);
    assert.ok(await w.hop(w.s7000, w.leaf, mapped));
    w.sim.close();
  });
}

kinds('symmetric: a different public port per destination, each filtered to its destination', async () => {
  const w = await world('symmetric');
  const ports = new Set<number>();
  const targets = [w.s7000, w.s7001, w.t7000];
  const maps: Address[] = [];
  for (const t of targets) {
    const m = (await w.hop(w.leaf, t))!;
    ports.add(m.port);
    maps.push(m);
  }
  assert.is(ports.size, 3);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      assert.is(!!(await w.hop(targets[j]!, w.leaf, maps[i])), i === j, `from target ${j} to mapping ${i}`);
    }
  }
  assert.is(w.nat.stats().mappings, 3);
  w.sim.close();
});

kinds('the mapping table is bounded', async () => {
  const w = await world('symmetric', { maxMappings: 2 });
  assert.ok(await w.hop(w.leaf, w.s7000));
  assert.ok(await w.hop(w.leaf, w.s7001));
  assert.is(await w.hop(w.leaf, w.t7000), undefined);
  assert.is(w.leafHost.stats().drops.natTableFull, 1);
  // Expired mappings are reclaimed.
  await w.clock.advance(TIMEOUT + 1);
  assert.ok(await w.hop(w.leaf, w.t7000));
  w.sim.close();
});

kinds('hosts behind one NAT talk over private addresses; hairpinning is off by default', async () => {
  for (const hairpin of [false, true]) {
    const w = await world('full-cone', { hairpin });
    const peer = await w.sim.addHost('10.0.0.3', { nat: w.nat }).bind();
    // LAN: private addresses, no translation.
    const got = record(w.clock, w.leaf);
    peer.send(Uint8Array.of(1), { host: '10.0.0.2', port: 5000 });
    await w.clock.advance(1);
    assert.equal(got.map((r) => r.from), [peer.address]);
    // Through the public address.
    const mapped = (await w.hop(w.leaf, w.s7000))!;
    peer.send(Uint8Array.of(2), mapped);
    await w.clock.advance(2 * LAT);
    assert.is(got.length, hairpin ? 2 : 1);
    assert.is(w.sim.stats().drops.hairpin, hairpin ? 0 : 1);
    if (hairpin) assert.is(got[1]!.from.host, '203.0.113.1');
    w.sim.close();
  }
});

kinds('hole punching: cone NATs connect peer to peer, symmetric against port-restricted does not', async () => {
  const cases: [NatKind, NatKind, boolean][] = [
    ['port-restricted', 'port-restricted', true],
    ['address-restricted', 'full-cone', true],
    ['symmetric', 'full-cone', true],
    ['symmetric', 'port-restricted', false],
    ['symmetric', 'symmetric', false],
  ];
  for (const [ka, kb, works] of cases) {
    const { clock, sim } = makeSim({ latencyMs: LAT });
    const na = sim.addNat('203.0.113.1', { kind: ka });
    const nb = sim.addNat('203.0.113.2', { kind: kb });
    const a = await sim.addHost('10.0.0.2', { nat: na }).bind();
    const b = await sim.addHost('10.0.0.2', { nat: nb }).bind();
    const rendezvous = await sim.addHost('198.51.100.1').bind({ port: 3478 });
    const learned: Address[] = [];
    rendezvous.onMessage((_d, from) => learned.push(from));
    a.send(Uint8Array.of(0), rendezvous.address);
    b.send(Uint8Array.of(0), rendezvous.address);
    await clock.advance(2 * LAT);
    const [aPub, bPub] = learned as [Address, Address];
    const gotA = record(clock, a);
    const gotB = record(clock, b);
    // Both punch at once, a few times (the first ones may hit a closed NAT); like ICE,
    // each side switches to the address it actually hears the other from.
    for (let i = 0; i < 3; i++) {
      a.send(Uint8Array.of(1), gotA.at(-1)?.from ?? bPub);
      b.send(Uint8Array.of(2), gotB.at(-1)?.from ?? aPub);
      await clock.advance(50);
    }
    assert.is(gotA.length > 0 && gotB.length > 0, works, `${ka} <-> ${kb}`);
    sim.close();
  }
});

const model = suite('NAT model (fast-check)');

type Op = { op: 'out'; r: number } | { op: 'in'; r: number } | { op: 'wait'; ms: number };

model('every kind filters exactly like the reference model, across expiry boundaries', async () => {
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('out' as const), r: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ op: fc.constant('in' as const), r: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ op: fc.constant('wait' as const), ms: fc.oneof(fc.integer({ min: 0, max: 2 * TIMEOUT }), fc.constantFrom(TIMEOUT - LAT, TIMEOUT - 2 * LAT, TIMEOUT - 2 * LAT + 1)) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...NAT_KINDS), fc.array(opArb, { minLength: 1, maxLength: 40 }), async (kind, ops) => {
      const w = await world(kind);
      const remotes = [w.s7000, w.s7001, w.t7000];
      const ipOf = [0, 0, 1];
      // Reference model: mappings by public port.
      type M = { lastOut: number; perms: Map<number, number>; dest: number };
      const maps = new Map<number, M>();
      const view: (number | undefined)[] = [undefined, undefined, undefined]; // port each remote last saw
      let lastSeen: number | undefined;
      const live = (m: M | undefined, at: number) => m !== undefined && at - m.lastOut <= TIMEOUT;
      for (const o of ops) {
        const now = w.clock.now();
        if (o.op === 'wait') {
          await w.clock.advance(o.ms);
        } else if (o.op === 'out') {
          const from = (await w.hop(w.leaf, remotes[o.r]!))!;
          assert.ok(from, 'outbound always passes');
          const port = from.port;
          // Which existing live mapping should have been reused?
          let reuse: number | undefined;
          for (const [p, m] of maps) if (live(m, now) && (kind !== 'symmetric' || m.dest === o.r)) reuse = p;
          if (reuse !== undefined) assert.is(port, reuse, `${kind}: mapping reused`);
          else for (const [p, m] of maps) if (live(m, now)) assert.is.not(port, p, `${kind}: new mapping gets a new port`);
          const m = reuse !== undefined ? maps.get(reuse)! : { lastOut: now, perms: new Map(), dest: o.r };
          m.lastOut = now;
          m.perms.set(o.r, now);
          maps.set(port, m);
          view[o.r] = port;
          lastSeen = port;
        } else {
          const port = view[o.r] ?? lastSeen;
          if (port === undefined) continue;
          const arrival = now + LAT;
          const m = maps.get(port);
          let ok = live(m, arrival);
          if (ok && kind !== 'full-cone') {
            const allowed = (r: number) => {
              const t = m!.perms.get(r);
              return t !== undefined && arrival - t <= TIMEOUT;
            };
            if (kind === 'address-restricted') ok = [0, 1, 2].some((r) => ipOf[r] === ipOf[o.r] && allowed(r));
            else if (kind === 'port-restricted') ok = allowed(o.r);
            else ok = m!.dest === o.r;
          }
          const got = await w.hop(remotes[o.r]!, w.leaf, { host: '203.0.113.1', port });
          assert.is(!!got, ok, `${kind}: inbound from remote ${o.r} to port ${port} at +${arrival - m!?.lastOut} ms`);
        }
      }
      w.sim.close();
    }),
    { numRuns: 150, seed: 42 },
  );
});

kinds.run();
model.run();
