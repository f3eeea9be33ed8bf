import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { bytesToHex } from '@noble/hashes/utils.js';
import { makePair, settle, utf8 } from './session-harness.ts';
import {
  DATA_MIN_LEN,
  FINISH_LEN,
  INIT_LEN,
  PACKET_DATA,
  RESP_LEN,
  SESSION_PACKET_RANGE,
  encodeCookie,
  encodeFinish,
  encodeInit,
  encodeResp,
  isSessionPacket,
  parseCookie,
  parseData,
  parseFinish,
  parseInit,
  parseResp,
  writeDataHeader,
} from '../../src/wire/session/packets.ts';
import { REPLAY_WINDOW, ReplayWindow } from '../../src/wire/session/replay-window.ts';
import { HandshakeTimeoutError } from '../../src/wire/session/errors.ts';
import { MAX_DATAGRAM } from '../../src/net/net.ts';
import { OVERLAY_FIRST_BYTE_MAX, OVERLAY_FIRST_BYTE_MIN } from '../../src/wire/demux.ts';

const parsers = suite('session: packet parsers (fast-check)');

parsers('arbitrary bytes never throw; anything accepted has the exact expected shape', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1400 }), fc.integer({ min: 0xe0, max: 0xe4 }), (bytes, type) => {
      const b = bytes.length ? bytes : new Uint8Array([type]);
      b[0] = type;
      const i = parseInit(b);
      const r = parseResp(b);
      const f = parseFinish(b);
      const d = parseData(b);
      const k = parseCookie(b);
      if (k) assert.is(k.cookie.length, 16);
      if (i) assert.is(b.length, INIT_LEN);
      if (r) assert.is(b.length, RESP_LEN);
      if (f) assert.is(b.length, FINISH_LEN);
      if (d) assert.ok(b.length >= DATA_MIN_LEN && b.length <= MAX_DATAGRAM && Number.isSafeInteger(d.counter));
    }),
    { numRuns: 2000 },
  );
});

parsers('encode/parse round trips', () => {
  const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
  fc.assert(
    fc.property(u32, u32, fc.integer({ min: 0, max: 2 ** 53 - 1 }), (s, r, counter) => {
      const init = parseInit(encodeInit(s, new Uint8Array(INIT_LEN - 5 - 16)))!;
      assert.is(init.sender, s);
      const resp = parseResp(encodeResp(s, r, new Uint8Array(RESP_LEN - 9)))!;
      assert.equal([resp.sender, resp.receiver], [s, r]);
      assert.is(parseFinish(encodeFinish(r, new Uint8Array(FINISH_LEN - 5)))!.receiver, r);
      assert.is(parseCookie(encodeCookie(r, new Uint8Array(16).fill(7)))!.receiver, r);
      const data = new Uint8Array(DATA_MIN_LEN);
      writeDataHeader(data, r, counter);
      const d = parseData(data)!;
      assert.equal([d.receiver, d.counter], [r, counter]);
      assert.ok(isSessionPacket(data));
    }),
  );
  assert.is(OVERLAY_FIRST_BYTE_MIN, SESSION_PACKET_RANGE.first, 'the demux routes exactly our range');
  assert.is(OVERLAY_FIRST_BYTE_MAX, SESSION_PACKET_RANGE.last);
  assert.not.ok(isSessionPacket(new Uint8Array(0)));
  assert.not.ok(isSessionPacket(new Uint8Array([0x00])));
  assert.not.ok(isSessionPacket(new Uint8Array([0xf0])));
});
parsers.run();

const replay = suite('session: replay window (fast-check against a model)');

replay('accepts each counter once, refuses what is too old, never refuses a fresh in-window counter', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 2 ** 40 })), { maxLength: 400 }),
      (counters) => {
        const w = new ReplayWindow();
        const seen = new Set<number>();
        let top = -1;
        for (const n of counters) {
          const v = w.accept(n);
          if (seen.has(n)) assert.ok(v !== 'ok', `duplicate ${n} accepted`);
          else if (n > top || top - n < REPLAY_WINDOW) assert.is(v, 'ok', `fresh ${n} (top ${top}) refused`);
          else assert.is(v, 'too-old');
          if (v === 'ok') {
            seen.add(n);
            top = Math.max(top, n);
          }
        }
      },
    ),
    { numRuns: 500 },
  );
});
replay.run();

const garbage = suite('session: hostile datagrams (fast-check)');

garbage('random, truncated, oversized and mutated datagrams are dropped and counted, never a crash', async () => {
  const { clock, pipe, a, b, close } = makePair(31);
  const captured: Uint8Array[] = [];
  pipe.onDeliver = (d) => captured.push(d.slice());
  const r = await settle(clock, a.manager.connect(b.address, b.nodeId));
  assert.ok(r.ok);
  const sa = r.ok ? r.value : undefined!;
  sa.send(utf8('genuine'));
  await clock.advance(50);
  pipe.onDeliver = undefined;
  const inboxBefore = b.inbox.length;
  const sessionsBefore = b.manager.sessions().length;
  const from = { host: '192.0.2.7', port: 7 };
  const datagram = fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 1500 }),
    fc.tuple(fc.integer({ min: 0xe0, max: 0xef }), fc.uint8Array({ maxLength: 1300 })).map(([t, rest]) => Uint8Array.of(t, ...rest)),
    fc.tuple(fc.constantFrom(...captured), fc.nat(), fc.nat(255)).map(([pkt, pos, x]) => {
      const m = pkt.slice();
      m[1 + (pos % (m.length - 1))]! ^= x || 1;
      return m;
    }),
    fc.tuple(fc.constantFrom(...captured), fc.nat()).map(([pkt, n]) => pkt.slice(0, n % pkt.length)),
    fc.tuple(fc.constantFrom(...captured), fc.uint8Array({ minLength: 1, maxLength: 200 })).map(([pkt, tail]) => Uint8Array.of(...pkt, ...tail)),
  );
  let ours = 0;
  fc.assert(
    fc.property(datagram, (d) => {
      const mine = b.manager.receive(d, from);
      assert.is(mine, d.length > 0 && d[0]! >= 0xe0 && d[0]! <= 0xef);
      if (mine) ours++;
    }),
    { numRuns: 3000 },
  );
  const s = b.manager.stats();
  const dropped = Object.values(s.dropped).reduce((x, y) => x + y, 0);
  assert.is(b.inbox.length, inboxBefore, 'nothing forged was delivered');
  assert.is(b.manager.sessions().length, sessionsBefore, 'no session was created');
  // Every datagram of ours was either dropped (counted) or a well-formed INIT answered
  // with a RESP (anyone may start a handshake), or a duplicate of the genuine FINISH.
  assert.ok(dropped > 0 && dropped <= ours);
  assert.ok(s.datagramsIn >= ours);
  // the genuine session still works
  sa.send(utf8('still fine'));
  await clock.advance(50);
  assert.is(b.inbox.at(-1)!.text, 'still fine');
  close();
  await clock.advance(0);
});
garbage.run();

const prop = suite('session: loss, duplication and reordering (fast-check property)');

prop('every message arrives at most once, exactly when a copy got through; the handshake succeeds or reports failure', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.integer({ min: 1, max: 1_000_000 }),
        loss: fc.double({ min: 0, max: 0.6, noNaN: true }),
        duplicate: fc.double({ min: 0, max: 0.5, noNaN: true }),
        jitterMs: fc.integer({ min: 0, max: 300 }),
        messages: fc.integer({ min: 1, max: 60 }),
        rekeyAfterMessages: fc.integer({ min: 5, max: 1000 }),
      }),
      async (c) => {
        const { clock, pipe, a, b, close } = makePair(c.seed, { loss: c.loss, duplicate: c.duplicate, jitterMs: c.jitterMs }, { handshakeTimeoutMs: 5000, rekeyAfterMessages: c.rekeyAfterMessages });
        // Which DATA packet carries which message, and which got through at least once.
        const carrying = new Map<string, string>();
        const arrived = new Set<string>();
        let sending: string | undefined;
        pipe.onDeliver = (d, _f, to) => {
          if (to.port !== 2000 || d[0] !== PACKET_DATA) return;
          const id = carrying.get(key(d));
          if (id) arrived.add(id);
        };
        const origSend = pipe.send.bind(pipe);
        pipe.send = (d, from, to) => {
          if (sending && from.port === 1000 && d[0] === PACKET_DATA && d.length > DATA_MIN_LEN) carrying.set(key(d), sending);
          origSend(d, from, to);
        };
        const r = await settle(clock, a.manager.connect(b.address, b.nodeId), 30_000);
        if (!r.ok) {
          assert.instance(r.error, HandshakeTimeoutError, 'failure is reported as a timeout');
          assert.is(a.manager.sessions().length, 0);
        } else {
          const session = r.value;
          for (let i = 0; i < c.messages; i++) {
            sending = `m${i}`;
            if (session.isClosed) break;
            session.send(utf8(sending));
            sending = undefined;
            await clock.advance(c.jitterMs % 7);
          }
          await clock.advance(2000);
          const got = b.inbox.map((m) => m.text);
          assert.is(new Set(got).size, got.length, 'no message delivered twice');
          assert.equal([...got].sort(), [...arrived].sort(), 'delivered exactly the messages that got through');
          for (const m of b.inbox) assert.is(m.from, a.nodeId);
        }
        close();
        // Datagrams still in flight (at most latency + jitter, 10 + 300 ms) are delivered
        // to closed sessions and dropped; after that, a closed manager leaves no timer.
        await clock.advance(400);
        assert.is(clock.pending, 0, 'no timers left after close');
      },
    ),
    { numRuns: 60, examples: [[{ seed: 987714, loss: 0.5611886519674857, duplicate: 0, jitterMs: 179, messages: 1, rekeyAfterMessages: 5 }]] },
  );
});
prop.run();

function key(d: Uint8Array): string {
  return bytesToHex(d);
}
