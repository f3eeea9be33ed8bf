import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import {
  FRAGMENT_HEADER_BYTES,
  MAX_FRAGMENTS,
  MAX_MESSAGE_BYTES,
  encodeFragment,
  fragmentCount,
  fragmentMessage,
  parseFragment,
} from '../../src/wire/fragment.ts';
import { Reassembler } from '../../src/wire/fragment-reassembler.ts';
import { FragmentedChannel } from '../../src/wire/fragment-channel.ts';
import { createLossyPipe } from '../../src/wire/lossy-pipe.ts';

const s = suite('wire/fragment');

function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

function hdr(id: number, index: number, count: number, data: number[] = [1]): Uint8Array {
  const out = new Uint8Array(FRAGMENT_HEADER_BYTES + data.length);
  const v = new DataView(out.buffer);
  out[0] = 1;
  v.setUint32(1, id);
  v.setUint16(5, index);
  v.setUint16(7, count);
  out.set(data, FRAGMENT_HEADER_BYTES);
  return out;
}

s('round trip for sizes 0..64 KiB, every fragment within 1100 bytes', () => {
  const clock = new VirtualClock();
  const r = new Reassembler({ clock });
  const room = 1100 - FRAGMENT_HEADER_BYTES;
  const sizes = new Set<number>([0, 1, 2, MAX_MESSAGE_BYTES - 1, MAX_MESSAGE_BYTES]);
  for (let k = 1; k * room <= MAX_MESSAGE_BYTES + room; k++) for (const d of [-1, 0, 1]) sizes.add(k * room + d);
  for (let n = 0; n <= MAX_MESSAGE_BYTES; n += 257) sizes.add(n);
  let id = 0;
  for (const n of [...sizes].filter((x) => x >= 0 && x <= MAX_MESSAGE_BYTES).sort((a, b) => a - b)) {
    const msg = pattern(n, n);
    const frags = fragmentMessage(id, msg);
    assert.is(frags.length, Math.max(1, Math.ceil(n / room)), `count for ${n}`);
    assert.is(frags.length, fragmentCount(n));
    for (const f of frags) assert.ok(f.length <= 1100);
    let out: Uint8Array | undefined;
    for (const [i, f] of frags.entries()) {
      out = r.push(f);
      if (i < frags.length - 1) assert.is(out, undefined);
    }
    assert.ok(out, `size ${n} delivered`);
    assert.equal(out, msg, `size ${n} intact`);
    id++;
  }
  assert.is(r.stats().delivered, id);
  assert.is(r.stats().partialMessages, 0);
  assert.is(r.stats().bufferedBytes, 0);
  assert.is(clock.pending, 0);
});

s('64 KiB is 61 fragments at 1100 bytes; limits are enforced on the sender', () => {
  assert.is(fragmentMessage(0, new Uint8Array(MAX_MESSAGE_BYTES)).length, 61);
  assert.throws(() => fragmentMessage(0, new Uint8Array(MAX_MESSAGE_BYTES + 1)), /exceeds/);
  assert.throws(() => fragmentMessage(0, new Uint8Array(10), FRAGMENT_HEADER_BYTES), /header/);
  assert.throws(() => fragmentMessage(0, new Uint8Array(MAX_MESSAGE_BYTES), 200), /at most 256/);
  assert.is(fragmentMessage(0, new Uint8Array(MAX_MESSAGE_BYTES), FRAGMENT_HEADER_BYTES + 256).length, MAX_FRAGMENTS);
  assert.throws(() => encodeFragment(0, 2, 2, new Uint8Array(0)));
});

s('parseFragment rejects every malformed header', () => {
  assert.equal(parseFragment(new Uint8Array(8)), { ok: false, error: 'short' });
  const bad = hdr(1, 0, 1);
  bad[0] = 2;
  assert.equal(parseFragment(bad), { ok: false, error: 'version' });
  assert.equal(parseFragment(hdr(1, 0, 0)), { ok: false, error: 'count' });
  assert.equal(parseFragment(hdr(1, 0, MAX_FRAGMENTS + 1)), { ok: false, error: 'count' });
  assert.equal(parseFragment(hdr(1, 3, 3)), { ok: false, error: 'index' });
  const ok = parseFragment(hdr(0xfffffffe, 2, 3, [9, 9]));
  assert.ok(ok.ok);
  if (ok.ok) assert.equal([ok.id, ok.index, ok.count, [...ok.data]], [0xfffffffe, 2, 3, [9, 9]]);
});

s('malformed, inconsistent, duplicate and oversize fragments are dropped and counted', () => {
  const clock = new VirtualClock();
  const r = new Reassembler({ clock, maxMessageBytes: 100 });
  r.push(new Uint8Array(0));
  r.push(hdr(1, 0, 0));
  r.push(hdr(1, 5, 5));
  r.push(hdr(1, 0, 999));
  r.push(hdr(2, 0, 3));
  r.push(hdr(2, 1, 4)); // count differs
  r.push(hdr(2, 0, 3)); // duplicate fragment
  r.push(hdr(3, 0, 2, new Array(60).fill(1)));
  r.push(hdr(3, 1, 2, new Array(60).fill(1))); // 120 > 100
  r.push(hdr(3, 1, 2)); // message 3 is finished (given up)
  r.push(hdr(4, 0, 1, new Array(101).fill(1))); // single oversize fragment
  const st = r.stats();
  assert.equal(st.dropped, { short: 1, version: 0, count: 2, index: 1, inconsistent: 1, oversize: 2, duplicate: 2, stale: 0 });
  assert.is(st.partialMessages, 1);
  assert.is(st.delivered, 0);
  r.close();
  assert.is(clock.pending, 0);
});

s('a delivered message is never delivered again; old ids are stale', () => {
  const clock = new VirtualClock();
  const r = new Reassembler({ clock, windowSize: 32 });
  const frags = fragmentMessage(5, pattern(3000));
  for (const f of frags) r.push(f);
  for (const f of frags) assert.is(r.push(f), undefined);
  assert.is(r.stats().delivered, 1);
  assert.is(r.stats().dropped.duplicate, 3);
  assert.is(r.stats().partialMessages, 0);
  r.push(fragmentMessage(100, new Uint8Array(1))[0]!);
  assert.is(r.push(fragmentMessage(6, new Uint8Array(1))[0]!), undefined);
  assert.is(r.stats().dropped.stale, 1);
  r.close();
});

s('incomplete messages time out on the clock and release their bytes', async () => {
  const clock = new VirtualClock();
  const r = new Reassembler({ clock, timeoutMs: 5000 });
  const frags = fragmentMessage(1, pattern(5000));
  r.push(frags[0]!);
  r.push(frags[1]!);
  assert.is(r.stats().partialMessages, 1);
  assert.ok(r.stats().bufferedBytes > 0);
  await clock.advance(4999);
  assert.is(r.stats().timedOut, 0);
  await clock.advance(1);
  assert.is(r.stats().timedOut, 1);
  assert.is(r.stats().partialMessages, 0);
  assert.is(r.stats().bufferedBytes, 0);
  // the rest arrives late: dropped, never a half message
  for (const f of frags.slice(2)) assert.is(r.push(f), undefined);
  assert.is(r.stats().dropped.duplicate, frags.length - 2);
  assert.is(clock.pending, 0);
});

s('bounded: partial message count and buffered bytes evict the oldest', () => {
  const clock = new VirtualClock();
  const r = new Reassembler({ clock, maxPartialMessages: 4, maxBufferedBytes: 70_000 });
  for (let id = 0; id < 100; id++) {
    r.push(fragmentMessage(id, pattern(20_000))[0]!);
    assert.ok(r.stats().partialMessages <= 4);
    assert.ok(r.stats().bufferedBytes <= 70_000);
  }
  assert.is(r.stats().evicted, 96);
  // A full 64 KiB message still fits by evicting everything else.
  const big = pattern(MAX_MESSAGE_BYTES, 3);
  let out: Uint8Array | undefined;
  for (const f of fragmentMessage(200, big)) out = r.push(f) ?? out;
  assert.equal(out, big);
  r.close();
  assert.is(r.stats().partialMessages, 0);
  assert.is(clock.pending, 0);
});

s('fragment streams with loss, duplication, reordering and garbage deliver exactly once and intact, or time out (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: MAX_MESSAGE_BYTES })), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 10 }),
      async (sizes, seed, loss, dup, garbage) => {
        const clock = new VirtualClock();
        const rnd = new SeededRandom(seed);
        const r = new Reassembler({ clock, timeoutMs: 1000 });
        const firstId = rnd.u32();
        const sent = sizes.map((n, i) => pattern(n, i));
        let stream: Uint8Array[] = [];
        sent.forEach((m, i) => {
          for (const f of fragmentMessage((firstId + i) >>> 0, m)) {
            if (rnd.float() < loss) continue;
            stream.push(f);
            if (rnd.float() < dup) stream.push(f);
          }
        });
        stream.push(...garbage);
        // shuffle
        for (let i = stream.length - 1; i > 0; i--) {
          const j = rnd.int(i + 1);
          [stream[i], stream[j]] = [stream[j]!, stream[i]!];
        }
        const got: Uint8Array[] = [];
        for (const f of stream) {
          const m = r.push(f);
          if (m) got.push(m);
        }
        await clock.advance(1000);
        // every delivery matches a distinct sent message
        const used = new Set<number>();
        for (const m of got) {
          const k = sent.findIndex((x, i) => !used.has(i) && x.length === m.length && x.every((b, j) => b === m[j]));
          assert.ok(k >= 0, 'delivered message was sent and not delivered before');
          used.add(k);
        }
        const st = r.stats();
        assert.is(st.delivered, got.length);
        assert.ok(st.delivered + st.timedOut + st.evicted <= sent.length);
        if (loss === 0) assert.is(got.length, sent.length);
        assert.is(st.partialMessages, 0);
        assert.is(st.bufferedBytes, 0);
        assert.is(clock.pending, 0);
      },
    ),
    { numRuns: 150 },
  );
});

s('FragmentedChannel over a lossy pipe: exactly once or nothing, then clean close (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      fc.double({ min: 0, max: 0.3, noNaN: true }),
      fc.double({ min: 0, max: 0.3, noNaN: true }),
      fc.integer({ min: 0, max: 200 }),
      async (sizes, seed, loss, duplicate, jitterMs) => {
        const clock = new VirtualClock();
        const pipe = createLossyPipe({ clock, random: new SeededRandom(seed), loss, duplicate, latencyMs: 5, jitterMs });
        const tx = new FragmentedChannel(pipe.a, { clock });
        const rx = new FragmentedChannel(pipe.b, { clock, timeoutMs: 2000, maxPartialMessages: 32, maxBufferedBytes: 1 << 20 });
        const got = new Map<number, number>();
        rx.onMessage((m) => {
          const tag = m.length >= 2 ? m[0]! | (m[1]! << 8) : -m.length - 1;
          got.set(tag, (got.get(tag) ?? 0) + 1);
          if (m.length >= 2) assert.equal(m.subarray(2), pattern(m.length, tag).subarray(2), 'intact');
        });
        sizes.forEach((n, i) => {
          const m = pattern(n, i);
          if (n >= 2) {
            m[0] = i & 0xff;
            m[1] = i >> 8;
          }
          tx.send(m);
        });
        await clock.advance(3000);
        sizes.forEach((n, i) => {
          if (n >= 2) assert.ok((got.get(i) ?? 0) <= 1, 'at most once');
          else assert.ok((got.get(-n - 1) ?? 0) <= sizes.filter((x) => x === n).length);
        });
        if (loss === 0) assert.is([...got.values()].reduce((a, b) => a + b, 0), sizes.length, 'all delivered without loss');
        const st = rx.stats().reassembly;
        assert.is(st.partialMessages, 0);
        tx.close();
        rx.close();
        assert.is(clock.pending, 0);
      },
    ),
    { numRuns: 60 },
  );
});

s.run();
