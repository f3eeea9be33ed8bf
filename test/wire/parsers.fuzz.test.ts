/** Random bytes into every wire parser: nothing throws, everything is counted. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Type } from '@sinclair/typebox';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { classifyDatagram, Demux } from '../../src/wire/demux.ts';
import { FRAGMENT_HEADER_BYTES, parseFragment } from '../../src/wire/fragment.ts';
import { Reassembler } from '../../src/wire/fragment-reassembler.ts';
import { createRegistry, defineMessage } from '../../src/wire/messages.ts';
import { defineMethod } from '../../src/wire/rpc-method.ts';
import { rpcPair } from './wire-helpers.ts';

const s = suite('wire/parsers fuzz');

const Note = defineMessage('fuzz.note', { text: Type.String({ maxLength: 16 }), n: Type.Optional(Type.Integer()) });
const registry = createRegistry(Note);

/** Bytes that often look like a fragment header: version 1, small counts. */
const fragmentish = fc
  .tuple(fc.constantFrom(0, 1, 1, 1, 2), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 300 }))
  .map(([v, id, index, count, data]) => {
    const b = new Uint8Array(FRAGMENT_HEADER_BYTES + data.length);
    const dv = new DataView(b.buffer);
    b[0] = v;
    dv.setUint32(1, id);
    dv.setUint16(5, index);
    dv.setUint16(7, count);
    b.set(data, FRAGMENT_HEADER_BYTES);
    return b;
  });

/** Strings that often look like messages. */
const jsonish = fc.oneof(
  fc.json().map((j) => new TextEncoder().encode(j)),
  fc.record({ type: fc.constantFrom('fuzz.note', 'req', 'res', 'err', 'x'), text: fc.string(), n: fc.anything(), id: fc.anything(), method: fc.string(), params: fc.anything(), code: fc.string(), message: fc.string(), result: fc.anything() }, { requiredKeys: ['type'] }).map((o) => new TextEncoder().encode(JSON.stringify(o) ?? '')),
  fc.uint8Array({ maxLength: 200 }),
);

s('classifyDatagram and Demux never throw', () => {
  const demux = new Demux({ onMessage: () => () => {} });
  demux.on('overlay', () => {});
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      classifyDatagram(b);
      demux.dispatch(b, { host: '::1', port: 1 });
    }),
    { numRuns: 2000 },
  );
  const st = demux.stats();
  assert.ok(st.dropped.unknown + st.dropped.noHandler + st.received.overlay > 0);
});

s('parseFragment and Reassembler.push never throw and stay within bounds', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fragmentish), { maxLength: 200 }), (frags) => {
      const clock = new VirtualClock();
      const r = new Reassembler({ clock, maxPartialMessages: 3, maxBufferedBytes: 65536 });
      for (const f of frags) {
        parseFragment(f);
        const out = r.push(f);
        if (out) assert.ok(out.length <= 65536);
        const st = r.stats();
        assert.ok(st.partialMessages <= 3);
        assert.ok(st.bufferedBytes <= 65536);
      }
      const st = r.stats();
      const dropped = Object.values(st.dropped).reduce((a, b) => a + b, 0);
      assert.is(st.fragments, frags.length);
      assert.ok(dropped <= frags.length);
      r.close();
      assert.is(clock.pending, 0);
    }),
    { numRuns: 500 },
  );
});

s('MessageRegistry.decode never throws, and what it accepts re-encodes', () => {
  fc.assert(
    fc.property(jsonish, (bytes) => {
      const r = registry.decode(bytes);
      if (r.ok) registry.encode(r.message);
      else assert.type(r.error, 'string');
    }),
    { numRuns: 3000 },
  );
});

s('random messages into an RPC peer never throw and are answered or counted', async () => {
  const Echo = defineMethod('fuzz.echo', Type.String({ maxLength: 10 }), Type.String({ maxLength: 10 }));
  const t = rpcPair({}, {}, 3, [Note]);
  t.b.rpc.handle(Echo, (x) => x);
  await fc.assert(
    fc.asyncProperty(fc.array(jsonish, { maxLength: 20 }), async (batch) => {
      for (const b of batch) (t.a.frag as { send(p: Uint8Array): void }).send(b);
      await t.clock.advance(50);
    }),
    { numRuns: 200 },
  );
  const st = t.b.endpoint.stats();
  assert.ok(st.received + Object.values(st.dropped).reduce((a, b) => a + b, 0) > 0);
  assert.ok(t.b.rpc.stats().cachedResponses <= 256);
  t.close();
  assert.is(t.clock.pending, 0);
});

s.run();
