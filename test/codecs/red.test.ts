import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { RED_MAX_BLOCK_BYTES, RED_MAX_TIMESTAMP_OFFSET, RedEncoder, RedError, expandRed, packRed, parseRed, redDistanceForLoss, type RedPayload } from '../../codecs/red.ts';

const s = suite('codecs/red');
const bytes = (...v: number[]) => new Uint8Array(v);

s('packs the RFC 2198 layout: 4-byte redundant headers, 1-byte primary header, data in order', () => {
  const p = packRed({
    redundant: [{ payloadType: 111, timestampOffset: 960, data: bytes(1, 2, 3) }],
    primary: { payloadType: 111, data: bytes(9, 8) },
  });
  // F=1|PT=111, offset 960 = 0b00001111000000 -> 14 bits, length 3 -> 10 bits.
  assert.equal(Array.from(p), [0x80 | 111, 960 >> 6, ((960 & 0x3f) << 2) | 0, 3, 111, 1, 2, 3, 9, 8]);
});

s('round trip with 0..4 redundant blocks, extreme offsets and lengths', () => {
  const cases: RedPayload[] = [
    { redundant: [], primary: { payloadType: 0, data: bytes() } },
    { redundant: [], primary: { payloadType: 127, data: bytes(1) } },
    {
      redundant: [
        { payloadType: 111, timestampOffset: RED_MAX_TIMESTAMP_OFFSET, data: new Uint8Array(RED_MAX_BLOCK_BYTES).fill(7) },
        { payloadType: 0, timestampOffset: 1920, data: bytes() },
        { payloadType: 8, timestampOffset: 960, data: bytes(5, 6) },
        { payloadType: 127, timestampOffset: 0, data: bytes(1) },
      ],
      primary: { payloadType: 111, data: new Uint8Array(1500).fill(3) },
    },
  ];
  for (const c of cases) {
    const back = parseRed(packRed(c));
    assert.is(back.primary.payloadType, c.primary.payloadType);
    assert.equal(Array.from(back.primary.data), Array.from(c.primary.data));
    assert.is(back.redundant.length, c.redundant.length);
    back.redundant.forEach((b, i) => {
      assert.is(b.payloadType, c.redundant[i]!.payloadType);
      assert.is(b.timestampOffset, c.redundant[i]!.timestampOffset);
      assert.equal(Array.from(b.data), Array.from(c.redundant[i]!.data));
    });
  }
});

s('property: pack then parse is the identity', () => {
  const block = fc.record({
    payloadType: fc.integer({ min: 0, max: 127 }),
    timestampOffset: fc.integer({ min: 0, max: RED_MAX_TIMESTAMP_OFFSET }),
    data: fc.uint8Array({ maxLength: RED_MAX_BLOCK_BYTES }),
  });
  fc.assert(
    fc.property(fc.array(block, { maxLength: 8 }), fc.integer({ min: 0, max: 127 }), fc.uint8Array({ maxLength: 2000 }), (redundant, pt, data) => {
      const back = parseRed(packRed({ redundant, primary: { payloadType: pt, data } }));
      assert.equal(
        back.redundant.map((b) => [b.payloadType, b.timestampOffset, Array.from(b.data)]),
        redundant.map((b) => [b.payloadType, b.timestampOffset, Array.from(b.data)]),
      );
      assert.equal(Array.from(back.primary.data), Array.from(data));
    }),
    { numRuns: 300 },
  );
});

s('rejects malformed payloads with clear RedErrors', () => {
  const err = (p: Uint8Array, re: RegExp, opts?: { maxBlocks?: number }) =>
    assert.throws(() => parseRed(p, opts), (e: unknown) => e instanceof RedError && re.test((e as Error).message));
  err(bytes(), /truncated in block header 1/);
  err(bytes(0x80 | 111, 0, 0), /needs 4 bytes/);
  err(bytes(0x80 | 111, 0, 4, 5), /truncated in block header 2/);
  err(bytes(0x80 | 111, 0, 4, 5, 111, 1, 2), /block 1 claims 5 bytes but only 2 remain/);
  const many = new Uint8Array(4 * 9 + 1).fill(0x80);
  many[36] = 0;
  err(many, /more than 8 redundant blocks/);
  err(bytes(0x80, 0, 0, 0, 0x80, 0, 0, 0, 0), /more than 1 redundant blocks/, { maxBlocks: 1 });
  assert.throws(() => packRed({ redundant: [{ payloadType: 1, timestampOffset: 16384, data: bytes() }], primary: { payloadType: 1, data: bytes() } }), /timestamp offset must be 0..16383/);
  assert.throws(() => packRed({ redundant: [{ payloadType: 1, timestampOffset: 1, data: new Uint8Array(1024) }], primary: { payloadType: 1, data: bytes() } }), /exceeds 1023/);
  assert.throws(() => packRed({ redundant: [], primary: { payloadType: 128, data: bytes() } }), /payload type must be 0..127/);
});

s('fuzz: random bytes either parse within bounds or throw RedError, nothing else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (p) => {
      try {
        const r = parseRed(p);
        const total = r.redundant.reduce((a, b) => a + 4 + b.data.length, 1 + r.primary.data.length);
        assert.is(total, p.length);
      } catch (e) {
        if (!(e instanceof RedError)) throw e;
      }
    }),
    { numRuns: 2000 },
  );
});

s('RedEncoder repeats the previous frame(s); expandRed restores timestamps across 32-bit wrap', () => {
  const enc = new RedEncoder({ payloadType: 111, distance: 2 });
  const t0 = 0xffffffff - 960 * 1 + 1; // wraps after the second frame
  const f = [bytes(1, 1, 1), bytes(2, 2, 2), bytes(3, 3, 3)];
  enc.encode(f[0]!, t0);
  enc.encode(f[1]!, (t0 + 960) >>> 0);
  const third = enc.encode(f[2]!, (t0 + 1920) >>> 0);
  const frames = expandRed(third, (t0 + 1920) >>> 0);
  assert.equal(
    frames.map((x) => [x.timestamp, x.data[0], x.redundant]),
    [
      [t0, 1, true],
      [(t0 + 960) >>> 0, 2, true],
      [(t0 + 1920) >>> 0, 3, false],
    ],
  );
  // DTX frames are not repeated, and offsets beyond 14 bits are dropped.
  const e2 = new RedEncoder({ payloadType: 111, distance: 1 });
  e2.encode(bytes(9), 0);
  assert.is(parseRed(e2.encode(bytes(1, 2, 3), 960)).redundant.length, 0);
  e2.encode(bytes(4, 5, 6), 1000);
  assert.is(parseRed(e2.encode(bytes(7, 8, 9), 1000 + 16384)).redundant.length, 0);
  assert.throws(() => new RedEncoder({ payloadType: 111, distance: 9 }), /distance must be 0..8/);
});

s('redDistanceForLoss: 0 below 2%, 1 up to 15%, 2 above', () => {
  assert.equal([0, 1.9, 2, 10, 15, 15.1, 60, NaN].map(redDistanceForLoss), [0, 0, 1, 1, 1, 2, 2, 0]);
});

s.run();
