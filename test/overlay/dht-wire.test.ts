/**
 * The DHT through the RPC method schemas: every request and answer is validated by the
 * methods' compiled schemas and JSON round-tripped, as the RPC layer would do, with
 * real Ed25519-signed presence records.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { Identity } from '../../src/identity/identity.ts';
import type { RpcPeer } from '../../src/wire/rpc.ts';
import type { RpcMethod } from '../../src/wire/rpc-method.ts';
import { type Contact, ContactVerifier } from '../../src/overlay/contact.ts';
import { RoutingTable } from '../../src/overlay/routing-table.ts';
import { RecordStore } from '../../src/overlay/record-store.ts';
import { DhtService } from '../../src/overlay/dht-service.ts';
import { Dht, dhtRpc } from '../../src/overlay/dht.ts';
import { DHT_METHODS, DhtFindNode, DhtPing, dhtSendOverRpc, registerDhtHandlers, type RpcHandlerHost, type RpcRequester } from '../../src/overlay/dht-wire.ts';
import { idKey } from '../../src/overlay/node-id.ts';
import { nameKey } from '../../src/overlay/presence-record.ts';
import { presenceVerifier, signPresence } from '../../src/overlay/presence-signing.ts';
import { makeContact } from './sim-network.ts';

// The real RpcPeer satisfies the two small interfaces the overlay asks for.
const _fits: RpcHandlerHost & RpcRequester = null as unknown as RpcPeer;
void _fits;

const HOUR = 3600_000;
const s = suite('overlay/dht over RPC schemas');

s('join, publish signed presence, find by name: all traffic schema-valid, answers report the load', async () => {
  const clock = new VirtualClock();
  const random = new SeededRandom(81);
  const verifier = new ContactVerifier({ difficulty: 4 });
  const verifyRecord = presenceVerifier({ clock, maxLifetimeMs: 2 * HOUR });
  type Handler = (params: unknown) => unknown;
  const nodes = new Map<string, { contact: Contact; service: DhtService; dht: Dht; store: RecordStore; load: number }>();
  const loadsHeard: { from: Contact; load: number }[] = [];
  let invalid = 0;
  let requests = 0;

  /** A fake session: validate like the RPC layer, run the responder's handler, validate the result. */
  const rpcFor = (from: Contact) => async (to: Contact): Promise<RpcRequester> => {
    const target = nodes.get(idKey(to.id));
    if (!target) throw new Error('unreachable');
    const handlers = new Map<string, Handler>();
    const host: RpcHandlerHost = { handle: (m, h) => void handlers.set(m.name, h as Handler) };
    registerDhtHandlers(host, target.service, from, () => target.load);
    return {
      async request<P, R>(method: RpcMethod<P, R>, params: P): Promise<R> {
        requests++;
        await clock.sleep(20);
        const wireParams = JSON.parse(JSON.stringify(params));
        if (!method.params.validate(wireParams).ok) { invalid++; throw new Error('bad params'); }
        const result = JSON.parse(JSON.stringify(await handlers.get(method.name)!(wireParams)));
        const v = method.result.validate(result);
        if (!v.ok) { invalid++; throw new Error(`bad result: ${v.error}`); }
        return result as R;
      },
    };
  };

  const add = () => {
    const contact = makeContact(random, 4);
    const verify = (c: Contact) => verifier.accepts(c);
    const rpc = dhtRpc(dhtSendOverRpc(rpcFor(contact), { onLoad: (from, load) => void loadsHeard.push({ from, load }) }));
    const table = new RoutingTable({ self: contact.id, clock, verify });
    const store = new RecordStore({ clock, self: contact.id, verify: verifyRecord });
    const service = new DhtService({ self: contact, table, store, clock });
    const dht = new Dht({ self: contact, table, store, rpc, clock, verifyContact: verify, verifyRecord, timeoutMs: 1000 });
    const node = { contact, service, dht, store, load: nodes.size * 7 % 101 };
    nodes.set(idKey(contact.id), node);
    return node;
  };
  const run = async <T>(p: Promise<T>): Promise<T> => {
    let done = false;
    p.finally(() => { done = true; }).catch(() => {});
    while (!done) await clock.advance(10);
    return p;
  };

  const seed = add();
  for (let i = 0; i < 40; i++) await run(add().dht.bootstrap([seed.contact]));
  const all = [...nodes.values()];
  const people = ['Alice', 'Bob', 'Carol'].map((name) => ({ name, id: Identity.generate(random) }));
  for (const [i, p] of people.entries()) {
    const rec = signPresence(p.id, { name: p.name, supernodes: [{ id: idKey(all[i]!.contact.id), address: all[i]!.contact.address }], addresses: [], seq: 1, lifetimeMs: HOUR }, clock);
    const res = await run(all[i]!.dht.publish(rec));
    assert.ok(res.stored.every((x) => x.accepted >= 10), JSON.stringify(res.stored.map((x) => x.accepted)));
  }
  for (const p of people) {
    const asker = all[all.length - 1 - random.int(10)]!;
    const r = await run(asker.dht.findRecords(nameKey(p.name.toLowerCase())));
    assert.is(r.records.length, 1, p.name);
    assert.is(r.records[0]!.nodeId, p.id.id);
  }
  assert.is(invalid, 0, 'every message matched its schema');
  assert.ok(requests > 100);
  assert.is(loadsHeard.length, requests, 'every answer reported the load');
  for (const { from, load } of loadsHeard) assert.is(load, nodes.get(idKey(from.id))!.load);
  assert.is(DHT_METHODS.length, 4);
  assert.not.ok(DhtFindNode.result.validate({ type: 'nodes', contacts: [], load: 101 }).ok, 'load is at most 100');
  assert.not.ok(DhtPing.result.validate({ type: 'error', error: 'invalid', load: 5 }).ok, 'errors carry no load');
});

s.run();
