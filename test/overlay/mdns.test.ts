/**
 * mDNS discovery against hostile input, on a fake mDNS socket (no network): malformed,
 * oversized, spoofed and flooding answers are dropped and counted, never crash the node
 * nor report more than the bounds allow; the responder answers at most once a second.
 * The real multicast path is proven in test/netns/mdns-discovery.test.ts.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { EventEmitter } from 'node:events';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import type { Address } from '../../src/net/net.ts';
import { MDNS_LIMITS, MDNS_SERVICE, multicastDnsDiscovery, type MdnsDiscovery, type MdnsSocket } from '../../src/overlay/mdns.ts';

const t = suite('overlay/mdns');

/** A fake multicast-dns instance: records what is sent; tests emit packets into it. */
class FakeSocket extends EventEmitter {
  queries: unknown[] = [];
  responses: { answers: { name: string; type: string; data: unknown }[]; additionals: { name: string; type: string; data: unknown }[] }[] = [];
  destroyed = false;
  sendError: unknown = undefined;
  query(q: unknown, cb?: (err: unknown) => void): void {
    this.queries.push(q);
    cb?.(this.sendError);
  }
  respond(r: unknown, cb?: (err: unknown) => void): void {
    this.responses.push(r as FakeSocket['responses'][number]);
    cb?.(this.sendError);
  }
  destroy(): void {
    this.destroyed = true;
  }
}

const LAN = [{ address: '192.168.1.10', netmask: '255.255.255.0' }];

interface Rig {
  clock: VirtualClock;
  sock: FakeSocket;
  mdns: MdnsDiscovery;
  found: Address[];
  warnings: string[];
}

function recordingLogger(warnings: string[]): Logger {
  const base = silentLogger();
  const l: Logger = { ...base, warn: ((o: unknown, msg?: string) => void warnings.push(`${msg ?? ''} ${JSON.stringify(o)}`)) as Logger['warn'], child: () => l };
  return l;
}

async function rig(limits = {}): Promise<Rig> {
  const clock = new VirtualClock();
  const sock = new FakeSocket();
  const warnings: string[] = [];
  const mdns = multicastDnsDiscovery({
    log: recordingLogger(warnings),
    clock,
    socket: () => sock as unknown as MdnsSocket,
    localNets: () => LAN,
    randomBytes: (n) => new Uint8Array(n).fill(7),
    limits,
  });
  const found: Address[] = [];
  mdns.start((a) => found.push(a));
  await clock.advance(0);
  await new Promise((r) => setTimeout(r, 0));
  return { clock, sock, mdns, found, warnings };
}

function srv(port: unknown, target: unknown = 'tincan-x.local', ttl = 120) {
  return { name: MDNS_SERVICE, type: 'SRV', ttl, class: 'IN', data: { port, target, priority: 0, weight: 0 } };
}
function a(name: string, ip: unknown) {
  return { name, type: 'A', ttl: 120, class: 'IN', data: ip };
}
function respond(r: Rig, from: string, packet: unknown, size = 100): void {
  r.sock.emit('response', packet, { address: from, family: 'IPv4', port: 5353, size });
}

t('a well-formed answer is reported once with the sender\'s address; again after the repeat interval', async () => {
  const r = await rig();
  assert.is(r.sock.queries.length, 1, 'asks at start');
  respond(r, '192.168.1.20', { answers: [srv(4000, 'tincan-a.local')], additionals: [a('tincan-a.local', '192.168.1.20')] });
  respond(r, '192.168.1.20', { answers: [srv(4000, 'tincan-a.local')], additionals: [a('tincan-a.local', '192.168.1.20')] });
  assert.equal(r.found, [{ host: '192.168.1.20', port: 4000 }]);
  assert.is(r.mdns.stats().dropped.repeat, 1);
  // A supernode on 0.0.0.0 sends no A record: the sender's address is the one.
  respond(r, '192.168.1.21', { answers: [srv(4001, 'tincan-b.local')] });
  assert.equal(r.found[1], { host: '192.168.1.21', port: 4001 });
  await r.clock.advance(MDNS_LIMITS.repeatMs);
  respond(r, '192.168.1.20', { answers: [srv(4000, 'tincan-a.local')] });
  assert.is(r.found.length, 3);
  // Queries at 0, 1 and 3 s, then every 5 minutes.
  assert.is(r.sock.queries.length, 3);
  await r.clock.advance(300_000);
  assert.is(r.sock.queries.length, 4);
  assert.equal(r.sock.queries[0], { questions: [{ name: MDNS_SERVICE, type: 'SRV' }] });
  r.mdns.close();
  assert.ok(r.sock.destroyed);
  await r.clock.advance(600_000);
  assert.is(r.sock.queries.length, 4, 'no queries after close');
});

t('spoofed, off-link and non-LAN sources are dropped and counted', async () => {
  const r = await rig();
  // An A record pointing elsewhere (e.g. to make LAN nodes hail a victim) is refused.
  respond(r, '192.168.1.20', { answers: [srv(4000, 'tincan-a.local')], additionals: [a('tincan-a.local', '203.0.113.9')] });
  respond(r, '192.168.1.20', { answers: [srv(4000, 'tincan-a.local')], additionals: [a('TINCAN-A.local', '192.168.1.99')] });
  respond(r, '192.168.1.20', { answers: [srv(4000, 'tincan-a.local')], additionals: [a('tincan-a.local', { evil: true })] });
  assert.is(r.mdns.stats().dropped['address-mismatch'], 3);
  respond(r, '10.9.9.9', { answers: [srv(4000)] });
  respond(r, '192.168.2.20', { answers: [srv(4000)] });
  assert.is(r.mdns.stats().dropped['off-link'], 2);
  for (const from of ['127.0.0.1', '0.0.0.0', '224.0.0.251', '255.255.255.255', 'fe80::1', '', '1.2.3', '300.1.1.1', 'x'.repeat(100)]) {
    respond(r, from, { answers: [srv(4000)] });
  }
  assert.is(r.mdns.stats().dropped['bad-source'], 9);
  assert.is(r.found.length, 0);
  r.mdns.close();
});

t('malformed answers, wrong types, huge packets and too many records are dropped, never thrown', async () => {
  const r = await rig();
  const from = '192.168.1.30';
  for (const port of [0, -1, 65536, 1.5, '4000', null, undefined, Number.NaN, {}]) respond(r, from, { answers: [srv(port)] });
  respond(r, from, { answers: [srv(4000, 42)] });
  respond(r, from, { answers: [srv(4000, 'x'.repeat(300))] });
  respond(r, from, { answers: [{ name: MDNS_SERVICE, type: 'SRV', data: null }] });
  respond(r, from, { answers: [{ name: MDNS_SERVICE, type: 'SRV', data: 'nope' }] });
  assert.is(r.mdns.stats().dropped.malformed, 13);
  // Shapes multicast-dns would never produce, still no throw.
  for (const p of [null, undefined, 7, 'str', { answers: 'x' }, { answers: [null, 1, 'a', []] }, { answers: { length: 1e9 } }, { answers: [{ name: 5, type: 'SRV' }] }]) {
    respond(r, from, p);
  }
  r.sock.emit('response', { answers: [srv(4000)] }, undefined);
  r.sock.emit('response', { answers: [srv(4000)] }, null);
  // Other services and types (printers, TXT, PTR) are ordinary LAN chatter: ignored.
  respond(r, from, { answers: [{ name: '_ipp._tcp.local', type: 'SRV', data: { port: 631, target: 'p.local' } }, { name: MDNS_SERVICE, type: 'TXT', data: ['a=b'] }, { name: MDNS_SERVICE, type: 'PTR', data: 'x' }] });
  // A huge TXT makes the packet bigger than mDNS allows.
  const huge = { name: MDNS_SERVICE, type: 'TXT', data: ['x'.repeat(60_000)] };
  respond(r, from, { answers: [srv(4000), huge] }, 60_100);
  assert.is(r.mdns.stats().dropped.oversize, 1);
  // Too many records in one packet.
  respond(r, from, { answers: Array.from({ length: 500 }, (_, i) => srv(1000 + i)) });
  assert.is(r.mdns.stats().dropped['too-many-records'], 1);
  // A goodbye (TTL 0) is not a supernode to hail.
  respond(r, from, { answers: [srv(4000, 'tincan-x.local', 0)] });
  assert.is(r.mdns.stats().dropped.goodbye, 1);
  assert.is(r.found.length, 0);
  // The handlers survived all of it.
  respond(r, from, { answers: [srv(4000)] });
  assert.equal(r.found, [{ host: from, port: 4000 }]);
  r.mdns.close();
});

t('a flood is bounded: per packet, per host, per minute, and the table', async () => {
  const r = await rig();
  // One packet with 20 ports: 4 reported.
  respond(r, '192.168.1.40', { answers: Array.from({ length: 20 }, (_, i) => srv(5000 + i)) });
  assert.is(r.found.length, MDNS_LIMITS.perPacket);
  // More packets from the same host: still 4 ports for it.
  for (let i = 0; i < 20; i++) respond(r, '192.168.1.40', { answers: [srv(6000 + i)] });
  assert.is(r.found.length, MDNS_LIMITS.perHost);
  // A minute later the host may show new ports (a supernode restarted on another port).
  await r.clock.advance(MDNS_LIMITS.repeatMs);
  respond(r, '192.168.1.40', { answers: [srv(7000)] });
  assert.equal(r.found.at(-1), { host: '192.168.1.40', port: 7000 });
  r.found.length = 0;
  const base = r.mdns.stats().found;
  await r.clock.advance(60_000);
  // 250 hosts on the LAN, each announcing: at most foundPerMinute new addresses a minute.
  for (let h = 1; h < 251; h++) if (h !== 40 && h !== 10) respond(r, `192.168.1.${h}`, { answers: [srv(4000)] });
  assert.is(r.found.length, MDNS_LIMITS.foundPerMinute, 'the burst');
  const limited = r.mdns.stats().dropped['rate-limited'];
  assert.ok(limited >= 200, `rate-limited ${limited}`);
  // Keep flooding for 10 minutes, a packet per host every second: about 20 a minute get through.
  for (let s = 0; s < 600; s++) {
    await r.clock.advance(1000);
    for (let h = 1; h < 251; h += 7) respond(r, `192.168.1.${h}`, { answers: [srv(4000 + (s % 3))] });
  }
  const n = r.found.length;
  assert.ok(n <= MDNS_LIMITS.foundPerMinute * 11 + 1, `reported ${n} over 10 minutes`);
  assert.ok(n >= MDNS_LIMITS.foundPerMinute * 9, `still reports new ones at the allowed rate (${n})`);
  const st = r.mdns.stats();
  assert.is(st.found, base + n);
  assert.ok(st.dropped['too-many'] > 0 && st.dropped.repeat > 0 && st.dropped['rate-limited'] > 0, JSON.stringify(st.dropped));
  r.mdns.close();
});

t('the table of reported addresses is bounded; the oldest go once stale', async () => {
  const r = await rig({ known: 8, foundPerMinute: 1000 });
  for (let h = 100; h < 120; h++) respond(r, `192.168.1.${h}`, { answers: [srv(4000)] });
  assert.is(r.found.length, 8);
  assert.is(r.mdns.stats().dropped['too-many'], 12);
  await r.clock.advance(MDNS_LIMITS.repeatMs);
  for (let h = 120; h < 140; h++) respond(r, `192.168.1.${h}`, { answers: [srv(4000)] });
  assert.is(r.found.length, 16, 'stale entries make room, fresh ones do not');
  assert.equal(r.found.at(-1), { host: '192.168.1.127', port: 4000 });
  r.mdns.close();
});

t('random packets never throw and never exceed the bounds (property)', async () => {
  const r = await rig({ foundPerMinute: 5 });
  const value = fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.constant(null), fc.constant(undefined), fc.double());
  const record = fc.record({
    name: fc.oneof(fc.constant(MDNS_SERVICE), fc.constant('tincan-a.local'), fc.string({ maxLength: 20 }), value),
    type: fc.oneof(fc.constantFrom('SRV', 'A', 'TXT', 'PTR', 'AAAA'), value),
    ttl: fc.oneof(fc.constant(120), fc.constant(0), value),
    data: fc.oneof(value, fc.record({ port: fc.oneof(fc.integer({ min: -5, max: 70000 }), value), target: fc.oneof(fc.constant('tincan-a.local'), value) }), fc.ipV4()),
  });
  const packet = fc.record({ answers: fc.oneof(fc.array(record, { maxLength: 40 }), value), additionals: fc.oneof(fc.array(record, { maxLength: 5 }), value) });
  const source = fc.oneof(fc.ipV4(), fc.integer({ min: 1, max: 254 }).map((h) => `192.168.1.${h}`), fc.ipV6());
  fc.assert(fc.property(packet, source, fc.integer({ min: 0, max: 20_000 }), (p, from, size) => {
    respond(r, from, p, size);
  }), { numRuns: 2000 });
  assert.ok(r.found.length <= 5, `at most the burst: ${r.found.length}`);
  for (const f of r.found) assert.match(f.host, /^192\.168\.1\.\d+$/);
  r.mdns.close();
});

t('the responder answers only when announcing, only our service, at most once a second', async () => {
  const r = await rig();
  const query = (q: unknown) => r.sock.emit('query', q, { address: '192.168.1.50', size: 40 });
  query({ questions: [{ name: MDNS_SERVICE, type: 'SRV' }] });
  assert.is(r.sock.responses.length, 0, 'a leaf does not answer');
  r.mdns.announce({ host: '0.0.0.0', port: 4000 });
  assert.is(r.sock.responses.length, 1, 'announces at once');
  const first = r.sock.responses[0]!;
  assert.is(first.answers[0]!.type, 'SRV');
  assert.equal((first.answers[0]!.data as { port: number }).port, 4000);
  assert.is(first.additionals.length, 0, 'no A record for 0.0.0.0: queriers use the sender address');
  // 100 queries within the same second: one more answer, at the end of the window.
  for (let i = 0; i < 100; i++) query({ questions: [{ name: MDNS_SERVICE, type: 'SRV' }] });
  assert.is(r.sock.responses.length, 1);
  await r.clock.advance(1000);
  assert.is(r.sock.responses.length, 2);
  // A query every 10 ms for 10 s: at most one answer a second.
  for (let i = 0; i < 1000; i++) {
    query({ questions: [{ name: MDNS_SERVICE, type: 'ANY' }] });
    await r.clock.advance(10);
  }
  await r.clock.advance(1000);
  const answers = r.sock.responses.length - 2;
  assert.ok(answers >= 9 && answers <= 11, `answers in 10 s: ${answers}`);
  assert.ok(r.mdns.stats().queriesCoalesced >= 1000, JSON.stringify(r.mdns.stats()));
  // Other names, other shapes: no answer, no throw.
  const before = r.sock.responses.length;
  await r.clock.advance(5000);
  for (const q of [{ questions: [{ name: '_ipp._tcp.local', type: 'SRV' }] }, { questions: 'x' }, null, {}, { questions: [null, 5] },
    { questions: Array.from({ length: 100 }, () => ({ name: 'other.local', type: 'A' })).concat([{ name: MDNS_SERVICE, type: 'SRV' }]) }]) query(q);
  assert.is(r.sock.responses.length, before, 'only the first 16 questions are looked at');
  // A specific address is announced with an A record the querier can check.
  r.mdns.announce({ host: '192.168.1.10', port: 4100 });
  const last = r.sock.responses.at(-1)!;
  assert.equal(last.additionals[0]!.data, '192.168.1.10');
  assert.is(last.additionals[0]!.name, (last.answers[0]!.data as { target: string }).target);
  // Our own answer, heard back through multicast loopback, is not reported.
  respond(r, '192.168.1.10', last);
  assert.is(r.found.length, 0);
  assert.is(r.mdns.stats().dropped.own, 1);
  r.mdns.announce(undefined);
  await r.clock.advance(2000);
  const n = r.sock.responses.length;
  query({ questions: [{ name: MDNS_SERVICE, type: 'SRV' }] });
  await r.clock.advance(2000);
  assert.is(r.sock.responses.length, n, 'stops answering when no longer a supernode');
  r.mdns.close();
});

t('socket errors and unsendable queries are logged, not thrown', async () => {
  const r = await rig();
  r.sock.emit('warning', new Error('addMembership EINVAL'));
  r.sock.emit('error', Object.assign(new Error('bind EACCES'), { code: 'EACCES' }));
  assert.ok(r.sock.destroyed);
  assert.ok(r.warnings.some((w) => w.includes('mDNS unavailable')));
  const r2 = await rig();
  r2.sock.sendError = new Error('send ENETUNREACH 224.0.0.251:5353');
  await r2.clock.advance(3000);
  assert.is(r2.warnings.filter((w) => w.includes('could not be sent')).length, 1, 'warned once');
  r2.mdns.close();
  // A socket that fails to open: a warning, nothing else.
  const warnings: string[] = [];
  const m = multicastDnsDiscovery({ log: recordingLogger(warnings), clock: new VirtualClock(), socket: () => Promise.reject(new Error('no multicast here')), localNets: () => LAN });
  m.start(() => {});
  await new Promise((res) => setTimeout(res, 0));
  assert.ok(warnings.some((w) => w.includes('mDNS unavailable')));
  m.close();
});

t.run();
