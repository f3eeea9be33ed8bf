import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { SeededRandom } from '../../src/random.ts';
import {
  bucketIndex, commonPrefixLength, compareDistance, compareIds, idEquals, idKey, leadingZeroBits,
  nodeIdFromHex, randomIdInBucket, sortByDistance, toHex, xorDistance,
} from '../../src/overlay/node-id.ts';
import { networkPrefix } from '../../src/overlay/ip-prefix.ts';
import { parseIPv6 } from '../../src/net/ip.ts';

const id = fc.uint8Array({ minLength: 32, maxLength: 32 });
const big = (b: Uint8Array) => BigInt('0x' + toHex(b));
const dist = (a: Uint8Array, b: Uint8Array) => big(a) ^ big(b);

const s = suite('overlay/node-id');

s('hex round trip and validation', () => {
  fc.assert(fc.property(id, (a) => idEquals(nodeIdFromHex(toHex(a)), a) && idKey(a) === toHex(a)));
  assert.throws(() => nodeIdFromHex('zz'.repeat(32)), /64 hex/);
  assert.throws(() => nodeIdFromHex('ab'), /64 hex/);
  assert.throws(() => nodeIdFromHex('0'.repeat(63) + 'g'), /64 hex/);
  assert.throws(() => nodeIdFromHex('0'.repeat(63) + '\u0161'), /64 hex/);
  assert.throws(() => nodeIdFromHex('@'.repeat(64)), /64 hex/);
  assert.equal(nodeIdFromHex('AB'.repeat(32)), nodeIdFromHex('ab'.repeat(32)));
});

s('XOR is a metric: identity, symmetry, triangle inequality', () => {
  fc.assert(fc.property(id, id, id, (a, b, c) => {
    if (dist(a, a) !== 0n) return false;
    if (dist(a, b) !== dist(b, a)) return false;
    if ((dist(a, b) === 0n) !== idEquals(a, b)) return false;
    return dist(a, c) <= dist(a, b) + dist(b, c);
  }));
});

s('XOR is unidirectional: one point at each distance', () => {
  fc.assert(fc.property(id, id, (a, d) => {
    const b = xorDistance(a, d); // the unique b with a ^ b = d
    return idEquals(xorDistance(a, b), d);
  }));
});

s('compareDistance agrees with big-integer distances', () => {
  fc.assert(fc.property(id, id, id, (t, a, b) => {
    const c = compareDistance(t, a, b);
    const x = dist(t, a), y = dist(t, b);
    return Math.sign(c) === (x < y ? -1 : x > y ? 1 : 0);
  }));
  fc.assert(fc.property(id, id, (a, b) => Math.sign(compareIds(a, b)) === Math.sign(Number(big(a) - big(b)))));
});

s('common prefix length and bucket index', () => {
  fc.assert(fc.property(id, id, (a, b) => {
    const cpl = commonPrefixLength(a, b);
    const d = dist(a, b);
    if (d === 0n) return cpl === 256 && bucketIndex(a, b) === -1;
    // bucket i  <=>  2^i <= d < 2^(i+1)
    const i = bucketIndex(a, b);
    return i === 255 - cpl && d >= 1n << BigInt(i) && d < 1n << BigInt(i + 1);
  }));
  assert.is(leadingZeroBits(new Uint8Array([0, 0x10])), 11);
  assert.is(leadingZeroBits(new Uint8Array(4)), 32);
});

s('randomIdInBucket lands in the asked bucket', () => {
  const r = new SeededRandom(3);
  fc.assert(fc.property(id, fc.integer({ min: 0, max: 255 }), (self, i) => bucketIndex(self, randomIdInBucket(self, i, r)) === i));
  assert.throws(() => randomIdInBucket(new Uint8Array(32), 256, r), RangeError);
});

s('sortByDistance orders closest first', () => {
  fc.assert(fc.property(id, fc.array(id, { maxLength: 30 }), (t, xs) => {
    const sorted = sortByDistance(t, xs.slice(), (x) => x);
    for (let i = 1; i < sorted.length; i++) if (dist(t, sorted[i - 1]!) > dist(t, sorted[i]!)) return false;
    return true;
  }));
});

const p = suite('overlay/ip-prefix');

p('IPv4 /24 and IPv6 /48 prefixes', () => {
  assert.is(networkPrefix('192.0.2.77'), '4:192.0.2');
  assert.is(networkPrefix('192.0.2.1'), networkPrefix('192.0.2.254'));
  assert.is.not(networkPrefix('192.0.2.1'), networkPrefix('192.0.3.1'));
  assert.is(networkPrefix('2001:db8:1:2::5'), '6:2001:db8:1');
  assert.is(networkPrefix('2001:DB8:1:ffff:1:2:3:4'), '6:2001:db8:1');
  assert.is(networkPrefix('::1'), '6:0:0:0');
  assert.is(networkPrefix('::ffff:192.0.2.1'), '4:192.0.2');
  assert.equal([...parseIPv6('64:ff9b::192.0.2.33')!], [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0x00, 0x02, 0x21]);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.4a', 'example.com', '1::2::3', ':::', '1:2:3:4:5:6:7:8:9', '12345::', 'fe80::1%eth0']) {
    assert.is(networkPrefix(bad), undefined, bad);
  }
});

p('never throws on arbitrary strings', () => {
  fc.assert(fc.property(fc.string({ maxLength: 60 }), (x) => {
    const r = networkPrefix(x);
    return r === undefined || /^[46]:/.test(r);
  }));
});

s.run();
p.run();
