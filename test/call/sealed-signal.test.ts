import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Identity } from '../../src/identity/identity.ts';
import { SeededRandom } from '../../src/random.ts';
import { openSignal, sealSignal, type SignalBody } from '../../src/call/sealed-signal.ts';

const s = suite('sealed signaling');
const random = new SeededRandom(5);
const alice = Identity.generate(random);
const bob = Identity.generate(random);
const mallory = Identity.generate(random);
const body: SignalBody = {
  kind: 'offer',
  callId: '00112233445566778899aabbccddeeff',
  sdp: 'v=0\r\na=fingerprint:sha-256 AA:BB\r\n',
  sentAt: 1_700_000_000_000,
  seq: 1,
};

s('round trip: the recipient reads the body and learns the sender key', () => {
  const sealed = sealSignal(alice, bob.publicKey, body, random);
  const r = openSignal(bob, sealed, { expectedSender: alice.publicKey });
  assert.ok(r.ok);
  if (r.ok) {
    assert.equal(r.body, body);
    assert.equal(r.senderPublicKey, alice.publicKey);
  }
});

s('a supernode cannot read it: the SDP is not in the clear', () => {
  const sealed = sealSignal(alice, bob.publicKey, body, random);
  const text = new TextDecoder('latin1').decode(sealed);
  assert.not.ok(text.includes('fingerprint'));
  assert.not.ok(text.includes('v=0'));
});

s('any altered byte is detected as tampering', () => {
  const sealed = sealSignal(alice, bob.publicKey, body, random);
  for (let i = 41; i < sealed.length; i += 7) {
    const copy = sealed.slice();
    copy[i]! ^= 0x01;
    const r = openSignal(bob, copy);
    assert.not.ok(r.ok);
    if (!r.ok) assert.is(r.reason, 'tampered', `byte ${i}`);
  }
  const badEph = sealed.slice();
  badEph[5]! ^= 0x80;
  const r = openSignal(bob, badEph);
  assert.ok(!r.ok && r.reason === 'tampered');
});

s('a man in the middle who re-seals his own offer is refused as the wrong sender', () => {
  const forged = sealSignal(mallory, bob.publicKey, { ...body, sdp: 'v=0\r\na=fingerprint:sha-256 EE:FF\r\n' }, random);
  const r = openSignal(bob, forged, { expectedSender: alice.publicKey });
  assert.ok(!r.ok && r.reason === 'unexpected-sender');
});

s('sealed to someone else is refused; garbage is malformed', () => {
  const sealed = sealSignal(alice, mallory.publicKey, body, random);
  const r = openSignal(bob, sealed);
  assert.ok(!r.ok && r.reason === 'wrong-recipient');
  const g = openSignal(bob, new Uint8Array(10));
  assert.ok(!g.ok && g.reason === 'malformed');
});

s('property: random bytes never throw and never open', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const r = openSignal(bob, bytes);
      assert.not.ok(r.ok);
    }),
  );
});

s('oversized bodies are refused at sealing', () => {
  assert.throws(() => sealSignal(alice, bob.publicKey, { ...body, sdp: 'x'.repeat(20000) }, random), /too large/);
});

s.run();
