/**
 * The whole DHT in memory: every node runs a real RoutingTable, RecordStore, DhtService
 * and Dht; requests travel through a fake transport (structured-cloned like a wire,
 * 20-120 ms RTT on a VirtualClock). Nodes join one after another from a seed, publish
 * records, find each other's records by name, and keep finding them after 20% die.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { type Contact, ContactVerifier } from '../../src/overlay/contact.ts';
import { RoutingTable } from '../../src/overlay/routing-table.ts';
import { RecordStore } from '../../src/overlay/record-store.ts';
import { type DhtAnswer, type DhtRequest, DhtService } from '../../src/overlay/dht-service.ts';
import { Dht, dhtRpc, newestPerPublisher } from '../../src/overlay/dht.ts';
import { idKey } from '../../src/overlay/node-id.ts';
import { nameKey, type PresenceRecord } from '../../src/overlay/presence-record.ts';
import { makeContact } from './sim-network.ts';
import { fakeVerify, makeRecord } from './fake-records.ts';

const DIFFICULTY = 4;

interface Peer {
  contact: Contact;
  table: RoutingTable;
  store: RecordStore;
  service: DhtService;
  dht: Dht;
  alive: boolean;
}

class World {
  readonly clock = new VirtualClock();
  readonly random = new SeededRandom(61);
  readonly verifier = new ContactVerifier({ difficulty: DIFFICULTY });
  readonly peers = new Map<string, Peer>();
  messages = 0;

  add(): Peer {
    const contact = makeContact(this.random, DIFFICULTY);
    const verify = (c: Contact) => this.verifier.accepts(c);
    const send = (to: Contact, request: DhtRequest, signal: AbortSignal) => this.deliver(contact, to, request, signal);
    const rpc = dhtRpc(send);
    const table = new RoutingTable({ self: contact.id, clock: this.clock, verify, ping: (c, sig) => rpc.ping(c, sig) });
    const store = new RecordStore({ clock: this.clock, self: contact.id, verify: fakeVerify });
    const service = new DhtService({ self: contact, table, store, clock: this.clock });
    const dht = new Dht({ self: contact, table, store, rpc, clock: this.clock, verifyContact: verify, verifyRecord: fakeVerify, timeoutMs: 1000 });
    const peer = { contact, table, store, service, dht, alive: true };
    this.peers.set(idKey(contact.id), peer);
    return peer;
  }

  private deliver(from: Contact, to: Contact, request: DhtRequest, signal: AbortSignal): Promise<DhtAnswer> {
    this.messages++;
    const peer = this.peers.get(idKey(to.id));
    return new Promise<DhtAnswer>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      let timer: { cancel(): void } | undefined;
      const onAbort = () => { timer?.cancel(); reject(signal.reason); };
      signal.addEventListener('abort', onAbort, { once: true });
      if (!peer?.alive) return; // silence: the caller's timeout decides
      const wireRequest = structuredClone(request);
      timer = this.clock.setTimeout(() => {
        if (!peer.alive) return;
        signal.removeEventListener('abort', onAbort);
        resolve(structuredClone(peer.service.handle(structuredClone(from), wireRequest)));
      }, 20 + this.random.int(100));
    });
  }

  async run<T>(p: Promise<T>): Promise<T> {
    let done = false;
    let value: T | undefined;
    let error: unknown;
    p.then((v) => { done = true; value = v; }, (e) => { done = true; error = e; });
    while (!done) await this.clock.advance(20);
    if (error) throw error;
    return value!;
  }
}

const s = suite('overlay/dht');

s('nodes join from one seed, publish, and find each other by name; records survive 20% churn', async () => {
  const w = new World();
  const seed = w.add();
  const all: Peer[] = [seed];
  for (let i = 1; i < 150; i++) {
    const p = w.add();
    // Seeds: the first node, plus a random earlier one (as a host cache would provide).
    await w.run(p.dht.bootstrap([seed.contact, all[w.random.int(all.length)]!.contact]));
    all.push(p);
  }
  const sizes = all.map((p) => p.table.size);
  assert.ok(Math.min(...sizes) >= 15, `every table knows peers (min ${Math.min(...sizes)})`);

  const published: PresenceRecord[] = [];
  for (let i = 0; i < 25; i++) {
    const owner = all[w.random.int(all.length)]!;
    const rec = makeRecord(w.clock, w.random, { name: `user ${i}` });
    const res = await w.run(owner.dht.publish(rec));
    for (const st of res.stored) assert.ok(st.accepted >= 15, `stored on ${st.accepted} nodes`);
    published.push(rec);
  }

  const findAll = async () => {
    let found = 0;
    for (const rec of published) {
      const asker = [...w.peers.values()].filter((p) => p.alive)[w.random.int(100)]!;
      const r = await w.run(asker.dht.findRecords(nameKey(rec.name.toUpperCase())));
      if (r.records.length === 1 && r.records[0]!.signature === rec.signature) found++;
    }
    return found;
  };
  assert.is(await findAll(), published.length);

  for (const p of all) if (p !== seed && w.random.float() < 0.2) p.alive = false;
  assert.is(await findAll(), published.length, 'records are on k nodes: a 20% loss keeps them findable');
  await w.clock.advance(10_000);
  assert.is(w.clock.pending, 0, 'no timers left behind');
});

s('replication re-stores held records on the current closest nodes; refresh looks up idle buckets', async () => {
  const w = new World();
  const seed = w.add();
  const all: Peer[] = [seed];
  for (let i = 1; i < 60; i++) {
    const p = w.add();
    await w.run(p.dht.bootstrap([seed.contact]));
    all.push(p);
  }
  const rec = makeRecord(w.clock, w.random, { name: 'carol', expiresAt: w.clock.now() + 2 * 3600_000 });
  await w.run(all[5]!.dht.publish(rec));
  const holders = () => all.filter((p) => p.store.get(nameKey('carol')).length > 0);
  const before = holders();
  assert.ok(before.length >= 15);
  // Newcomers join after the publish; replication an hour later reaches the ones now closest.
  for (let i = 0; i < 40; i++) {
    const p = w.add();
    await w.run(p.dht.bootstrap([seed.contact]));
    all.push(p);
  }
  await w.clock.advance(3600_000);
  let replicated = 0;
  for (const h of before) replicated += await w.run(h.dht.replicate());
  assert.ok(replicated >= before.length / 2, `holders replicated their records (${replicated} of ${before.length})`);
  const after = holders();
  assert.ok(after.length > before.length, `more holders after replication (${before.length} -> ${after.length})`);
  const refreshed = await w.run(all[0]!.dht.refresh(3600_000, w.random));
  assert.ok(refreshed > 0, 'idle buckets were refreshed');
  await w.clock.advance(10_000);
  assert.is(w.clock.pending, 0);
});

s('DhtService: per-type rate limits, invalid requests, refusals, and learning senders', () => {
  const w = new World();
  const a = w.add();
  const b = w.add();
  const answers: string[] = [];
  for (let i = 0; i < 15; i++) answers.push(a.service.handle(b.contact, { type: 'ping' }).type);
  assert.is(answers.filter((x) => x === 'pong').length, 10);
  assert.equal(a.service.handle(b.contact, { type: 'ping' }), { type: 'error', error: 'rate-limited' });
  assert.is(a.service.handle(b.contact, { type: 'find_node', target: w.random.bytes(32) }).type, 'nodes', 'other types have their own budget');
  assert.ok(a.table.has(b.contact.id), 'an authenticated sender with a valid ID is learned');
  for (const bad of [null, 'x', { type: 'nope' }, { type: 'find_node', target: new Uint8Array(3) }, { type: 'store', key: 'k' }]) {
    assert.equal(a.service.handle(b.contact, bad), { type: 'error', error: 'invalid' });
  }
  const rec = makeRecord(w.clock, w.random);
  assert.equal(a.service.handle(b.contact, { type: 'store', key: nameKey(rec.name), record: rec }), { type: 'stored', status: 'stored' });
  assert.equal(a.service.handle(b.contact, { type: 'store', key: w.random.bytes(32), record: rec }), { type: 'refused', error: 'wrong-key' });
  const v = a.service.handle(b.contact, { type: 'find_value', key: nameKey('alice') });
  assert.ok(v.type === 'value' && v.records.length === 1 && v.contacts.length === 0);
  const leaf = { ...makeContact(w.random, 0), pow: new Uint8Array(8).fill(255) };
  a.service.handle(leaf, { type: 'ping' });
  assert.not.ok(a.table.has(leaf.id), 'a sender without valid proof of work is answered but not learned');
});

s('newestPerPublisher keeps the highest seq per key holder, newest first', () => {
  const w = new World();
  const pk = w.random.bytes(32);
  const r1 = makeRecord(w.clock, w.random, { pk, seq: 1 });
  const r2 = makeRecord(w.clock, w.random, { pk, seq: 2 });
  const other = makeRecord({ now: () => w.clock.now() + 5 }, w.random);
  assert.equal(newestPerPublisher([r1, other, r2, r1]), [other, r2]);
});

s.run();
