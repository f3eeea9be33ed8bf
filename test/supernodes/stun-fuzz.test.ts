import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Attr, Method, StunClass } from '../../supernodes/stun/constants.ts';
import * as A from '../../supernodes/stun/attributes.ts';
import { fingerprintOk, verifyIntegrity } from '../../supernodes/stun/integrity.ts';
import { StunError, StunWriter, parseStun } from '../../supernodes/stun/message.ts';
import { decodeChannelData } from '../../supernodes/turn/channel-data.ts';
import { parseRestUsername } from '../../supernodes/turn/credentials.ts';
import { isRestrictedPeer } from '../../supernodes/turn/peer-policy.ts';

const tid = new Uint8Array(12).fill(9);
const key = new TextEncoder().encode('k');
const valid = new StunWriter(Method.Allocate, StunClass.Request, tid)
  .add(Attr.RequestedTransport, A.encodeRequestedTransport(17))
  .add(Attr.Username, A.encodeText('1700000000:alice'))
  .add(Attr.XorPeerAddress, A.encodeAddress({ host: '2001:db8::7', port: 4 }, true, tid))
  .add(Attr.Lifetime, A.encodeU32(600))
  .encode({ integrityKey: key, fingerprint: true });

/** Run `fn`; it may return or throw StunError, nothing else. */
function onlyStunErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof StunError)) throw err;
  }
}

const decoders = [
  (v: Uint8Array) => A.decodeAddress(v, true, tid),
  (v: Uint8Array) => A.decodeAddress(v, false, tid),
  (v: Uint8Array) => A.decodeU32(v),
  (v: Uint8Array) => A.decodeText(v, 513),
  (v: Uint8Array) => A.decodeErrorCode(v),
  (v: Uint8Array) => A.decodeUnknownAttributes(v),
  (v: Uint8Array) => A.decodeChannelNumber(v),
  (v: Uint8Array) => A.decodeRequestedTransport(v),
  (v: Uint8Array) => A.decodeRequestedFamily(v),
  (v: Uint8Array) => A.decodeEvenPort(v),
  (v: Uint8Array) => A.decodeReservationToken(v),
];

const f = suite('stun fuzz');

f('random bytes: parseStun returns or throws StunError, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2100 }), (bytes) => {
      onlyStunErrors(() => {
        const m = parseStun(bytes);
        fingerprintOk(m);
        verifyIntegrity(m, key);
        for (const a of m.attributes) for (const d of decoders) onlyStunErrors(() => d(a.value));
      });
    }),
    { numRuns: 3000 },
  );
});

f('random bytes with a valid header: attribute walking is bounded and safe', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 3 }), (body, pad) => {
      const len = body.length - (body.length % 4) + (pad === 0 ? 0 : 0);
      const b = new Uint8Array(20 + len);
      b.set(valid.subarray(0, 20));
      b[2] = len >> 8;
      b[3] = len & 0xff;
      b.set(body.subarray(0, len), 20);
      onlyStunErrors(() => {
        const m = parseStun(b);
        assert.ok(m.attributes.length <= 64);
        fingerprintOk(m);
      });
    }),
    { numRuns: 3000 },
  );
});

f('mutated valid messages: flips, truncations, insertions', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(valid.length + 8), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.nat(valid.length),
      (edits, cut) => {
        const b = valid.slice();
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        onlyStunErrors(() => parseStun(b));
        onlyStunErrors(() => parseStun(b.subarray(0, cut)));
        const ins = new Uint8Array(b.length + 4);
        ins.set(b.subarray(0, cut));
        ins.set(b.subarray(cut), cut + 4);
        onlyStunErrors(() => parseStun(ins));
      },
    ),
    { numRuns: 3000 },
  );
});

f('attribute decoders, ChannelData, REST usernames, peer policy never throw unexpectedly', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.string({ maxLength: 60 }), (v, s) => {
      for (const d of decoders) onlyStunErrors(() => d(v));
      decodeChannelData(v);
      parseRestUsername(s);
      assert.type(isRestrictedPeer(s), 'boolean');
    }),
    { numRuns: 3000 },
  );
});

f.run();
