/**
 * The simulator's message path (src/overlay/sim/sim-endpoint.ts) against the real one:
 * sample messages give the same datagrams (count and sizes) as MessageEndpoint over
 * FragmentedChannel over a session, and arrive equal to what the real decoder returns;
 * a scenario run with objects handed across gives the same figures as the checked run
 * (real encoding, schema validation and decoded copies; frozen messages).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import type { Address, DatagramSocket } from '../../src/net/net.ts';
import { FragmentedChannel } from '../../src/wire/fragment-channel.ts';
import { MessageEndpoint } from '../../src/wire/message-endpoint.ts';
import { MessageRegistry, type WireMessage } from '../../src/wire/messages.ts';
import { DATA_HEADER_LEN } from '../../src/wire/session/packets.ts';
import { TAGLEN } from '../../src/wire/noise/crypto.ts';
import { contactToWire } from '../../src/overlay/contact.ts';
import { toHex } from '../../src/overlay/node-id.ts';
import { SimLinks, SimPostOffice } from '../../src/overlay/sim/sim-links.ts';
import { encodedSize, SimEndpoint, SimWireCheck } from '../../src/overlay/sim/sim-endpoint.ts';
import { runScenario, type ScenarioReport } from '../../src/overlay/sim/scenario.ts';
import { makeRecord } from './fake-records.ts';

const s = suite('overlay/sim message path');

/** Two SimLinks joined by a synchronous fake wire that records datagram sizes. */
function linkPair(clock: VirtualClock, post: SimPostOffice) {
  const ips = ['198.51.100.1', '198.51.100.2'];
  const handlers: ((data: Uint8Array, from: Address) => void)[] = [];
  const sizes: number[][] = [[], []];
  const inFlight: (() => void)[] = [];
  const socket = (i: number): DatagramSocket => ({
    address: { host: ips[i]!, port: 4000 },
    closed: false,
    send(data: Uint8Array, to: Address) {
      sizes[i]!.push(data.byteLength);
      const j = ips.indexOf(to.host);
      const copy = data.slice();
      inFlight.push(() => handlers[j]!(copy, { host: ips[i]!, port: 4000 }));
    },
    onMessage(h) {
      handlers[i] = h;
      return () => {};
    },
    close() {},
    stats: () => ({}) as ReturnType<DatagramSocket['stats']>,
  });
  const directory = { publicIpOf: (n: number) => ips[n] };
  const a = new SimLinks({ self: 0, socket: socket(0), clock, directory, post });
  const b = new SimLinks({ self: 1, socket: socket(1), clock, directory, post });
  const flush = () => {
    while (inFlight.length > 0) inFlight.shift()!();
  };
  return { a, b, sizes, flush };
}

function sampleMessages(): WireMessage[] {
  const clock = new VirtualClock();
  const random = new SeededRandom(5);
  const contact = () => ({ id: random.bytes(32), publicKey: random.bytes(32), pow: random.bytes(8), address: { host: `203.0.${random.int(256)}.${random.int(256)}`, port: 1 + random.int(65535) } });
  const contacts = Array.from({ length: 20 }, () => contactToWire(contact()));
  const record = makeRecord(clock, random, { name: 'Zoë Ångström 🎧' });
  const records = Array.from({ length: 16 }, (_, i) => makeRecord(clock, random, { name: `node-${i}` }));
  return [
    { type: 'req', id: 0, method: 'dht.ping', params: null },
    { type: 'req', id: 4_294_967_295, method: 'dht.find-node', params: { target: toHex(random.bytes(32)) } },
    { type: 'res', id: 17, result: { type: 'nodes', contacts } },
    { type: 'res', id: 18, result: { type: 'value', records, contacts } },
    { type: 'req', id: 19, method: 'dht.store', params: { key: toHex(random.bytes(32)), record } },
    { type: 'err', id: 20, code: 'rate-limited', message: 'slow down "please" \\ \u0001 ü' },
    { type: 'res', id: 21, result: { type: 'stored', status: 'replaced' } },
  ];
}

s('sample messages: the same datagrams as the real path, and equal messages delivered', async () => {
  const registry = new MessageRegistry();
  const clock = new VirtualClock();
  for (const m of sampleMessages()) {
    // Real path: MessageEndpoint -> FragmentedChannel -> session DATA packets.
    const bytes = registry.encode(m);
    const real: number[] = [];
    const lower = { send: (p: Uint8Array) => void real.push(DATA_HEADER_LEN + p.byteLength + TAGLEN), onMessage: () => () => {}, close() {} };
    new MessageEndpoint(new FragmentedChannel(lower, { clock }), registry).send(m);
    assert.is(encodedSize(m), bytes.length, `${m.type} size`);

    // Simulator path, fast and checked.
    for (const check of [undefined, new SimWireCheck()]) {
      const post = new SimPostOffice();
      const { a, b, sizes, flush } = linkPair(clock, post);
      const got: WireMessage[] = [];
      const link = a.connect(1, { host: '198.51.100.2', port: 4000 });
      flush();
      const inbound = b.get(0)!;
      const recv = new SimEndpoint(inbound, registry, check);
      for (const t of ['req', 'res', 'err']) recv.on(registry.get(t)!, (x) => void got.push(x));
      const sent = sizes[0]!.length;
      const ep = new SimEndpoint(link, registry, check);
      ep.sendEncoded(ep.registry.encode(m));
      flush();
      assert.equal(sizes[0]!.slice(sent), real, `${m.type} datagrams (${check ? 'checked' : 'fast'})`);
      assert.is(got.length, 1);
      assert.equal(got[0], registry.decode(bytes).ok ? (registry.decode(bytes) as { message: WireMessage }).message : undefined);
      assert.is(post.size, 0);
      if (check) assert.is(check.mismatches, 0);
    }
  }
});

s('a lost fragment loses the message; partial parcels are bounded', () => {
  const registry = new MessageRegistry();
  const clock = new VirtualClock();
  const post = new SimPostOffice();
  const { a, b, flush } = linkPair(clock, post);
  const link = a.connect(1, { host: '198.51.100.2', port: 4000 });
  flush();
  const got: WireMessage[] = [];
  const recv = new SimEndpoint(b.get(0)!, registry);
  recv.on(registry.get('res')!, (x) => void got.push(x));
  const big = sampleMessages()[3]!; // several fragments
  const ep = new SimEndpoint(link, registry);
  // Drop the first fragment of each of 12 messages: none is delivered, at most 8 partials are kept.
  const lossy = a as unknown as { socket: DatagramSocket };
  const send = lossy.socket.send.bind(lossy.socket);
  let n = 0;
  lossy.socket.send = (d, to) => {
    if (n++ % 3 !== 0) send(d, to);
  };
  for (let i = 0; i < 12; i++) ep.sendEncoded(ep.registry.encode(big));
  flush();
  assert.is(got.length, 0);
  assert.ok(b.get(0)!.partials!.size <= 8);
  lossy.socket.send = send;
  ep.sendEncoded(ep.registry.encode(big));
  flush();
  assert.is(got.length, 1);
});

function figures(r: ScenarioReport): Omit<ScenarioReport, 'wallSeconds' | 'heapMB' | 'wireCheck'> {
  const { wallSeconds: _w, heapMB: _h, wireCheck: _c, ...rest } = r;
  return rest;
}

s('a scenario gives the same figures with objects handed across as with the real encoding checked', async () => {
  const opts = { nodes: 150, durationS: 180, churnPerHour: 2, lookups: 100, seed: 13, seeds: 4 };
  const fast = await runScenario(opts);
  const checked = await runScenario({ ...opts, peer: { wireCheck: true } });
  assert.ok(checked.wireCheck!.checked > 1000, `checked ${checked.wireCheck!.checked}`);
  assert.is(checked.wireCheck!.mismatches, 0, checked.wireCheck!.firstMismatch);
  assert.equal(figures(fast), figures(checked));
  assert.ok(fast.lookupSuccess >= 0.95);
});

s.run();
