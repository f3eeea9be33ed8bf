import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Type } from '@sinclair/typebox';
import { assertBounded, compileSchema } from '../../src/wire/schema.ts';
import { MessageEncodeError, MessageRegistry, createRegistry, decodeMessage, defineMessage, encodeMessage, type MessageOf } from '../../src/wire/messages.ts';

const s = suite('wire/messages');

const Ping = defineMessage('test.ping', {
  nonce: Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 }),
  note: Type.Optional(Type.String({ maxLength: 8 })),
  tags: Type.Optional(Type.Array(Type.String({ maxLength: 4 }), { maxItems: 3 })),
  kind: Type.Optional(Type.Union([Type.Literal('a'), Type.Literal('b')])),
});
const registry = createRegistry(Ping);
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

s('encode/decode round trip, typed', () => {
  const msg: MessageOf<typeof Ping> = { type: 'test.ping', nonce: 7, note: 'hi', tags: ['x'] };
  const bytes = encodeMessage(msg, registry);
  const r = decodeMessage(bytes, registry);
  assert.ok(r.ok);
  if (r.ok && Ping.is(r.message)) assert.is(r.message.nonce, 7);
  assert.equal(registry.types().sort(), ['err', 'req', 'res', 'test.ping']);
});

s('rejections have a reason and a clear error with the path', () => {
  const cases: [unknown, string, RegExp][] = [
    [new Uint8Array([0x7b, 0xff, 0x7d]), 'utf8', /not valid UTF-8/],
    [new Uint8Array([0xed, 0xa0, 0x80]), 'utf8', /UTF-8/], // encoded surrogate
    ['{"type":', 'json', /not valid JSON/],
    ['', 'json', /JSON/],
    ['[1,2]', 'shape', /JSON object/],
    ['null', 'shape', /JSON object/],
    ['"test.ping"', 'shape', /JSON object/],
    ['{"nonce":1}', 'shape', /no string "type"/],
    ['{"type":5}', 'shape', /no string "type"/],
    [{ type: 'nope' }, 'unknown-type', /unknown message type "nope"/],
    [{ type: '__proto__' }, 'unknown-type', /unknown/],
    [{ type: 'constructor' }, 'unknown-type', /unknown/],
    [{ type: 'test.ping' }, 'schema', /^test\.ping: \/ is missing property "nonce"$/],
    [{ type: 'test.ping', nonce: -1 }, 'schema', /\/nonce must be >= 0/],
    [{ type: 'test.ping', nonce: 1.5 }, 'schema', /\/nonce must be integer/],
    [{ type: 'test.ping', nonce: '1' }, 'schema', /\/nonce must be integer/],
    [{ type: 'test.ping', nonce: 1, note: 'way too long' }, 'schema', /\/note must NOT have more than 8 characters/],
    [{ type: 'test.ping', nonce: 1, tags: ['a', 'b', 'c', 'd'] }, 'schema', /\/tags must NOT have more than 3 items/],
    [{ type: 'test.ping', nonce: 1, tags: ['toolong'] }, 'schema', /\/tags\/0 must NOT have more than 4/],
    [{ type: 'test.ping', nonce: 1, extra: true }, 'schema', /unexpected property "extra"/],
    [{ type: 'test.ping', nonce: 1, kind: 'c' }, 'schema', /\/kind/],
    ['{"type":"test.ping","nonce":1,"__proto__":{"x":1}}', 'schema', /unexpected property "__proto__"/],
    [{ type: 'req', id: 1, method: 'BAD', params: null }, 'schema', /\/method must match pattern/],
    [{ type: 'req', id: -1, method: 'a', params: null }, 'schema', /\/id/],
    [{ type: 'err', id: 1, code: 'x', message: 'y'.repeat(1025) }, 'schema', /\/message must NOT have more than 1024/],
    [new Uint8Array(65537).fill(0x20), 'size', /exceeds 65536/],
  ];
  for (const [input, reason, error] of cases) {
    const r = registry.decode(input instanceof Uint8Array ? input : enc(input));
    assert.not.ok(r.ok, `accepted ${String(input).slice(0, 40)}`);
    if (!r.ok) {
      assert.is(r.reason, reason, `reason for ${JSON.stringify(input)?.slice(0, 60)}: ${r.error}`);
      assert.match(r.error, error);
    }
  }
});

s('deeply nested JSON is an error, not a crash', () => {
  const deep = '{"type":"test.ping","nonce":1,"note":' + '['.repeat(30000) + ']'.repeat(30000) + '}';
  const r = registry.decode(enc(deep));
  assert.not.ok(r.ok);
});

s('encode refuses invalid, unknown and oversize messages', () => {
  assert.throws(() => registry.encode({ type: 'test.ping', nonce: -1 }), (e: unknown) => e instanceof MessageEncodeError && e.reason === 'schema');
  assert.throws(() => registry.encode({ type: 'zzz' }), (e: unknown) => e instanceof MessageEncodeError && e.reason === 'unknown-type');
  const Blob = defineMessage('test.blob', { data: Type.String({ maxLength: 100_000 }) });
  const reg = new MessageRegistry([Blob]);
  assert.throws(() => reg.encode({ type: 'test.blob', data: 'x'.repeat(70_000) }), (e: unknown) => e instanceof MessageEncodeError && e.reason === 'size');
});

s('definitions must be bounded and well named', () => {
  assert.throws(() => defineMessage('test.a', { s: Type.String() }), /string needs maxLength/);
  assert.throws(() => defineMessage('test.a', { a: Type.Array(Type.Integer()) }), /array needs maxItems/);
  assert.throws(() => defineMessage('test.a', { o: Type.Object({}) }), /additionalProperties/);
  assert.throws(() => defineMessage('test.a', { u: Type.Unknown() }), /no type/);
  assert.throws(() => defineMessage('test.a', { n: Type.Array(Type.Object({ s: Type.String() }, { additionalProperties: false }), { maxItems: 2 }) }), /items\/properties\/s/);
  assert.throws(() => defineMessage('Test', {}), /invalid message type name/);
  assert.throws(() => defineMessage('test.a', { type: Type.String({ maxLength: 3 }) }), /implicit/);
  assert.throws(() => defineMessage('a'.repeat(65), {}), /invalid/);
  // bounded by const/enum/maxProperties is fine
  defineMessage('test.ok', {
    k: Type.Union([Type.Literal('x'), Type.Literal('y')]),
    m: Type.Record(Type.String({ maxLength: 8 }), Type.Integer(), { maxProperties: 4 }),
  });
  assert.throws(() => assertBounded(Type.Record(Type.String(), Type.Integer())), /object/);
});

s('registry refuses a second, different definition of a type', () => {
  const A = defineMessage('test.dup', {});
  const B = defineMessage('test.dup', {});
  const reg = createRegistry(A);
  reg.add(A);
  assert.throws(() => reg.add(B), /already registered/);
});

s('ipv4/ipv6 formats are available; unknown formats are refused', () => {
  const Addr = compileSchema(Type.Object({ ip: Type.String({ format: 'ipv4', maxLength: 15 }), ip6: Type.Optional(Type.String({ format: 'ipv6', maxLength: 45 })) }, { additionalProperties: false }));
  assert.ok(Addr.check({ ip: '192.0.2.1', ip6: '2001:db8::1' }));
  assert.equal(Addr.validate({ ip: '300.1.1.1' }), { ok: false, error: '/ip must match format "ipv4"' });
  assert.not.ok(Addr.check({ ip: '192.0.2.1', ip6: '192.0.2.1' }));
  assert.throws(() => compileSchema(Type.String({ format: 'email', maxLength: 50 })), /unknown format/);
});

s('compileSchema validates standalone values', () => {
  const V = compileSchema(Type.Object({ name: Type.String({ maxLength: 3 }) }, { additionalProperties: false }));
  assert.equal(V.validate({ name: 'ada' }), { ok: true, value: { name: 'ada' } });
  assert.equal(V.validate({ name: 42 }), { ok: false, error: '/name must be string' });
  assert.ok(V.check({ name: 'x' }));
  assert.not.ok(V.check(null));
});

s.run();
