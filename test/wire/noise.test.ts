import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { HandshakeState } from '../../src/wire/noise/handshake-state.ts';
import { CipherState } from '../../src/wire/noise/cipher-state.ts';
import { dhKeyPairFromSecret } from '../../src/wire/noise/crypto.ts';
import { NoiseError } from '../../src/wire/noise/errors.ts';
import { PATTERNS, XX } from '../../src/wire/noise/patterns.ts';
import { SeededRandom } from '../../src/random.ts';

interface VectorMessage {
  payload: string;
  ciphertext: string;
  sender: 'init' | 'resp';
}
interface Vector {
  source: string;
  protocol_name: string;
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  init_remote_static?: string;
  init_remote_static_from_resp_static?: boolean;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash?: string;
  messages: VectorMessage[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/noise/vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] };

const vectors = suite('noise: published test vectors');

vectors('the fixture holds XX cases from several implementations', () => {
  const xx = fixture.vectors.filter((v) => v.protocol_name === 'Noise_XX_25519_ChaChaPoly_SHA256');
  assert.ok(xx.length >= 5, `${xx.length} XX vectors`);
  assert.ok(new Set(xx.map((v) => v.source.split('@')[0])).size >= 2);
});

for (const [n, v] of fixture.vectors.entries()) {
  vectors(`${v.protocol_name} #${n} (${v.source.replace(/^github\.com\//, '').replace(/@.*:/, ':')})`, () => {
    const pattern = PATTERNS[/^Noise_([A-Z]+)_/.exec(v.protocol_name)![1]!]!;
    const rStatic = dhKeyPairFromSecret(hexToBytes(v.resp_static));
    const rs = v.init_remote_static ? hexToBytes(v.init_remote_static) : v.init_remote_static_from_resp_static ? rStatic.publicKey : undefined;
    const init = new HandshakeState({
      pattern,
      initiator: true,
      prologue: hexToBytes(v.init_prologue),
      s: dhKeyPairFromSecret(hexToBytes(v.init_static)),
      e: dhKeyPairFromSecret(hexToBytes(v.init_ephemeral)),
      ...(rs ? { rs } : {}),
    });
    const resp = new HandshakeState({
      pattern,
      initiator: false,
      prologue: hexToBytes(v.resp_prologue),
      s: rStatic,
      e: dhKeyPairFromSecret(hexToBytes(v.resp_ephemeral)),
    });
    assert.is(init.protocolName, v.protocol_name);
    let transport: { init: [CipherState, CipherState]; resp: [CipherState, CipherState] } | undefined;
    for (const [i, m] of v.messages.entries()) {
      const payload = hexToBytes(m.payload);
      const [writer, reader] = m.sender === 'init' ? [init, resp] : [resp, init];
      if (!transport) {
        assert.ok(writer.myTurn, `message ${i}: sender's turn`);
        const ct = writer.writeMessage(payload);
        assert.is(bytesToHex(ct), m.ciphertext, `handshake message ${i}`);
        assert.is(bytesToHex(reader.readMessage(ct)), m.payload);
        if (init.complete && resp.complete) {
          if (v.handshake_hash) {
            assert.is(bytesToHex(init.handshakeHash()), v.handshake_hash);
            assert.is(bytesToHex(resp.handshakeHash()), v.handshake_hash);
          }
          transport = { init: init.split(), resp: resp.split() };
        }
      } else {
        const [send, recv] = m.sender === 'init' ? [transport.init[0], transport.resp[1]] : [transport.resp[0], transport.init[1]];
        const ct = send.encryptWithAd(new Uint8Array(0), payload);
        assert.is(bytesToHex(ct), m.ciphertext, `transport message ${i}`);
        assert.is(bytesToHex(recv.decryptWithAd(new Uint8Array(0), ct)), m.payload);
      }
    }
    assert.ok(transport, 'handshake completed');
  });
}
vectors.run();

const hs = suite('noise: handshake state');

function pair(seed: number) {
  const random = new SeededRandom(seed);
  const prologue = new TextEncoder().encode('test');
  const is = dhKeyPairFromSecret(random.bytes(32));
  const rs = dhKeyPairFromSecret(random.bytes(32));
  const i = new HandshakeState({ pattern: XX, initiator: true, prologue, s: is, random });
  const r = new HandshakeState({ pattern: XX, initiator: false, prologue, s: rs, random });
  return { i, r, is, rs };
}

hs('a tampered message is refused and leaves the state usable', () => {
  const { i, r, is, rs } = pair(1);
  r.readMessage(i.writeMessage(new Uint8Array(0)));
  const m2 = r.writeMessage(new TextEncoder().encode('hello'));
  for (const pos of [0, 31, 40, m2.length - 1]) {
    const bad = m2.slice();
    bad[pos]! ^= 1;
    assert.throws(() => i.readMessage(bad), (e: Error) => e instanceof NoiseError);
  }
  assert.throws(() => i.readMessage(m2.subarray(0, 60)), (e: Error) => e instanceof NoiseError);
  assert.is(new TextDecoder().decode(i.readMessage(m2)), 'hello');
  r.readMessage(i.writeMessage(new Uint8Array(0)));
  assert.ok(i.complete && r.complete);
  assert.equal(i.handshakeHash(), r.handshakeHash());
  assert.equal(i.remoteStatic, rs.publicKey);
  assert.equal(r.remoteStatic, is.publicKey);
});

hs('a low-order ephemeral key is refused', () => {
  // An all-zero `e` passes the first message (no DH yet) but the responder's DH must fail.
  const { r } = pair(2);
  r.readMessage(new Uint8Array(32));
  assert.throws(() => r.writeMessage(new Uint8Array(0)));
});

hs('wrong turn and incomplete split are errors', () => {
  const { i, r } = pair(4);
  assert.throws(() => r.writeMessage(new Uint8Array(0)), /turn/);
  assert.throws(() => i.readMessage(new Uint8Array(48)), /expecting/);
  assert.throws(() => i.split(), /not complete/);
});

hs('cipher state rekey changes the key deterministically', () => {
  const a = new CipherState(new Uint8Array(32).fill(7));
  const b = new CipherState(new Uint8Array(32).fill(7));
  a.rekey();
  b.rekey();
  const pt = new Uint8Array([1, 2, 3]);
  const ct = a.encryptWithNonce(5, new Uint8Array(0), pt);
  assert.equal(b.decryptWithNonce(5, new Uint8Array(0), ct), pt);
  const c = new CipherState(new Uint8Array(32).fill(7));
  assert.is(c.decryptWithNonce(5, new Uint8Array(0), ct), undefined);
  c.destroy();
  assert.not.ok(c.hasKey());
});
hs.run();
