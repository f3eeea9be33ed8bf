import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { Identity } from '../../src/identity/identity.ts';
import { decodeRecord, encodeRecord } from '../../src/identity/record.ts';
import { presenceFromSigned, presenceToSigned, presenceVerifier, signPresence } from '../../src/overlay/presence-signing.ts';
import { nameKey } from '../../src/overlay/presence-record.ts';
import { toHex } from '../../src/overlay/node-id.ts';
import { RecordStore } from '../../src/overlay/record-store.ts';

const HOUR = 3600_000;
const s = suite('overlay/presence-signing');

s('signed presence records verify, survive the binary encoding, and feed the store', () => {
  const clock = new VirtualClock();
  const random = new SeededRandom(71);
  const alice = Identity.generate(random);
  const sn = { id: Identity.generate(random).id, address: { host: '192.0.2.10', port: 4000 } };
  const rec = signPresence(alice, { name: 'Alice', supernodes: [sn], addresses: [], seq: 3, lifetimeMs: HOUR }, clock);
  assert.is(rec.nodeId, alice.id);
  const verify = presenceVerifier({ clock, maxLifetimeMs: 2 * HOUR });
  assert.equal(verify(rec), { ok: true });
  const back = presenceFromSigned(decodeRecord(encodeRecord(presenceToSigned(rec))));
  assert.equal(back, rec);
  const store = new RecordStore({ clock, self: random.bytes(32), verify });
  assert.equal(store.put(nameKey('alice'), rec), { ok: true, status: 'stored' });
});

s('tampering, key swaps, expiry and too-long lifetimes are refused', async () => {
  const clock = new VirtualClock();
  const random = new SeededRandom(72);
  const alice = Identity.generate(random);
  const mallory = Identity.generate(random);
  const verify = presenceVerifier({ clock, maxLifetimeMs: 2 * HOUR });
  const rec = signPresence(alice, { name: 'Alice', supernodes: [], addresses: [{ host: '198.51.100.1', port: 5000 }], seq: 1, lifetimeMs: HOUR }, clock);
  const bad = (r: typeof rec) => { const v = verify(r); return v.ok ? 'ok' : v.error; };
  assert.match(bad({ ...rec, name: 'Alicia' }), /bad-signature/);
  assert.match(bad({ ...rec, addresses: [{ host: '203.0.113.66', port: 5000 }] }), /bad-signature/);
  assert.match(bad({ ...rec, seq: 2 }), /bad-signature/);
  assert.match(bad({ ...rec, publicKey: toHex(mallory.publicKey), nodeId: mallory.id }), /bad-signature/);
  assert.match(bad({ ...rec, nodeId: mallory.id }), /nodeId/);
  const long = signPresence(alice, { name: 'Alice', supernodes: [], addresses: [], seq: 2, lifetimeMs: 10 * HOUR }, clock);
  assert.match(bad(long), /expiry-too-far/);
  await clock.advance(HOUR);
  assert.match(bad(rec), /expired/);
});

s.run();
