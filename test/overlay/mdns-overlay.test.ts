/**
 * mDNS discovery feeding a real OverlayNode on SimNet, over a fake multicast link: a leaf
 * with no seeds finds the supernode and attaches; a rogue on the link flooding hints for
 * addresses where no supernode runs (and spoofed A records) gets nowhere: its hints are
 * rate-limited by mdns.ts, hailed by the overlay and never enter the host cache.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import { silentLogger } from '../../src/log.ts';
import { MDNS_LIMITS, MDNS_SERVICE, multicastDnsDiscovery, type MdnsDiscovery, type MdnsSocket } from '../../src/overlay/mdns.ts';
import { OverlayWorld, PORT } from './overlay-world.ts';

const t = suite('overlay/mdns + OverlayNode');

/** A multicast link: every packet sent by one socket reaches all (itself too, as with loopback). */
class FakeLink {
  sockets: LinkSocket[] = [];
  socket(ip: string): LinkSocket {
    const s = new LinkSocket(this, ip);
    this.sockets.push(s);
    return s;
  }
  deliver(from: LinkSocket, kind: 'query' | 'response', packet: unknown): void {
    const copy = JSON.parse(JSON.stringify(packet)) as unknown;
    for (const s of this.sockets) if (!s.destroyed) queueMicrotask(() => s.emit(kind, copy, { address: from.ip, family: 'IPv4', port: 5353, size: JSON.stringify(packet).length }));
  }
}

class LinkSocket extends EventEmitter {
  destroyed = false;
  constructor(private readonly link: FakeLink, readonly ip: string) {
    super();
  }
  query(q: unknown, cb?: (err: unknown) => void): void {
    this.link.deliver(this, 'query', q);
    cb?.(undefined);
  }
  respond(r: unknown, cb?: (err: unknown) => void): void {
    this.link.deliver(this, 'response', r);
    cb?.(undefined);
  }
  destroy(): void {
    this.destroyed = true;
  }
}

t('a seedless leaf attaches to the supernode found on the link; a rogue\'s flood never reaches the host cache', async () => {
  const w = new OverlayWorld(11);
  const link = new FakeLink();
  const lanNets = () => [{ address: '203.0.0.1', netmask: '255.255.0.0' }];
  const discovery = (ip: string): MdnsDiscovery => multicastDnsDiscovery({ log: silentLogger(), clock: w.clock, socket: () => link.socket(ip) as unknown as MdnsSocket, localNets: lanNets });
  const snLan = discovery('203.0.1.10');
  const sn = w.add({ role: 'always', ip: '203.0.1.10', lan: snLan });
  await w.run(sn.node.start());
  // The rogue: on every query, 40 hints over 10 packets (its own address, ports where
  // nothing listens), plus A records naming the supernode's address on other ports.
  const rogue = link.socket('203.0.9.10');
  let rogueAnswers = 0;
  let port = 10_000;
  rogue.on('query', () => {
    for (let i = 0; i < 10; i++) {
      rogueAnswers++;
      rogue.respond({
        answers: [0, 1, 2, 3].map(() => ({ name: MDNS_SERVICE, type: 'SRV', ttl: 120, data: { port: port++, target: `r${port}.local` } }))
          .concat([{ name: MDNS_SERVICE, type: 'SRV', ttl: 120, data: { port: 4001, target: 'spoof.local' } }]),
        additionals: [{ name: 'spoof.local', type: 'A', ttl: 120, data: '203.0.1.10' }],
      });
    }
  });
  const leafLan = discovery('203.0.2.10');
  const leaf = w.add({ name: 'alice', ip: '203.0.2.10', lan: leafLan, seeds: [] });
  const t0 = w.clock.now();
  await w.run(leaf.node.start());
  let attachedAt = 0;
  for (let i = 0; i < 100 && !leaf.node.snapshot().published; i++) {
    await w.advance(100, 100);
    if (!attachedAt && leaf.node.snapshot().supernodes.length > 0) attachedAt = w.clock.now() - t0;
  }
  const snap = leaf.node.snapshot();
  assert.equal(snap.supernodes.map((s) => s.address), [{ host: sn.ip, port: PORT }]);
  assert.is(snap.supernodes[0]!.id, sn.node.id);
  assert.ok(snap.published, 'published through the supernode found on the link');
  assert.ok(attachedAt <= 3000, `attached ${attachedAt} ms after start (virtual)`);
  // Keep the rogue going: leaves and the supernode re-query every 5 minutes; force more queries.
  for (let m = 0; m < 10; m++) {
    link.deliver(link.socket('203.0.3.10'), 'query', { questions: [{ name: MDNS_SERVICE, type: 'SRV' }] });
    await w.advance(60_000, 1000);
  }
  const st = leafLan.stats();
  assert.ok(rogueAnswers >= 100, `the rogue answered ${rogueAnswers} times`);
  // Per minute: the supernode again (repeatMs) and at most perHost of the rogue's ports.
  assert.ok(st.found <= (MDNS_LIMITS.perHost + 1) * 12, `hints handed to the overlay: ${st.found}`);
  assert.ok(st.dropped['address-mismatch'] >= 1, JSON.stringify(st.dropped));
  assert.ok(st.dropped['rate-limited'] + st.dropped['too-many'] > 100, JSON.stringify(st.dropped));
  const after = leaf.node.snapshot();
  assert.is(after.hostCache, 1, `only the real supernode is in the host cache (${after.hostCache})`);
  assert.equal(after.supernodes.map((s) => s.id), [sn.node.id]);
  // The node's status carries LAN discovery's counters.
  assert.equal(after.lan, st);
  assert.is(sn.node.snapshot().hostCache <= 1, true, 'the supernode did not cache the rogue either');
  await w.closeAll();
});

t.run();
