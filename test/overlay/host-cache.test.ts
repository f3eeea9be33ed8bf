import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { toHex } from '../../src/overlay/node-id.ts';
import { HostCache, loadHostCacheFile, MAX_HOST_CACHE_FILE, saveHostCacheFile } from '../../src/overlay/host-cache.ts';

const random = new SeededRandom(41);
const id = () => toHex(random.bytes(32));
let n = 0;
const addr = () => ({ host: `10.${(n >> 8) & 255}.${n++ & 255}.1`, port: 4000 });

const s = suite('overlay/host-cache');

s('keeps at most 200 entries, best score first, drops after repeated failures', async () => {
  const clock = new VirtualClock();
  const c = new HostCache({ clock });
  const ids: string[] = [];
  for (let i = 0; i < 300; i++) {
    const x = id();
    ids.push(x);
    c.recordSuccess(x, addr(), 20);
    await clock.advance(1000);
  }
  assert.is(c.size, 200);
  const list = c.list();
  for (let i = 1; i < list.length; i++) assert.ok(c.score(list[i - 1]!) >= c.score(list[i]!));
  assert.ok(c.get(ids[299]!), 'the freshest is kept');
  const victim = list[0]!.id;
  for (let i = 0; i < 5; i++) c.recordFailure(victim);
  assert.is(c.get(victim), undefined);
  assert.not.ok(c.recordSuccess('nothex', addr()), 'invalid IDs refused');
  const all = [...c.all()];
  assert.is(all.length, c.size, 'all() yields every entry');
  assert.equal(all.map((e) => e.id).sort(), c.list().map((e) => e.id).sort(), 'the same entries as list()');
  for (const e of all) assert.is(e.failures, c.get(e.id)!.failures);
});

s('peer exchange is bounded, validated, and cannot displace verified entries', () => {
  const clock = new VirtualClock();
  const c = new HostCache({ clock, maxEntries: 20, maxExchange: 50 });
  for (let i = 0; i < 20; i++) c.recordSuccess(id(), addr(), 20);
  const offer = Array.from({ length: 80 }, () => ({ id: id(), address: addr(), lastSeen: clock.now(), rtt: 1, failures: 0 }));
  const r = c.mergeExchange([{ id: 'bad' }, null, 5, ...offer]);
  assert.is(r.added, 0, 'a full cache of verified entries takes no hearsay');
  assert.is(r.invalid, 3);
  // 50 considered (3 invalid + 47 refused), the other 33 are past the per-message cap.
  assert.is(r.skipped, 47 + 33);
  const empty = new HostCache({ clock, maxEntries: 20 });
  const r2 = empty.mergeExchange(offer);
  assert.is(r2.added, 10, 'hearsay fills at most half');
  assert.ok(empty.list().every((e) => e.lastSeen === 0 && e.rtt === null), 'claims of freshness are not believed');
  assert.equal(empty.mergeExchange('not an array'), { added: 0, invalid: 1, skipped: 0 });
  fc.assert(fc.property(fc.anything(), (x) => {
    empty.mergeExchange(x);
    return empty.size <= 20;
  }));
});

s('per-/24 cap; best() spreads over distinct prefixes; forExchange shares only verified', () => {
  const clock = new VirtualClock();
  const c = new HostCache({ clock, maxPerPrefix: 2 });
  for (let i = 0; i < 5; i++) c.recordSuccess(id(), { host: `192.0.2.${i + 1}`, port: 1 }, 5);
  assert.is(c.size, 2);
  c.recordSuccess(id(), { host: '198.51.100.1', port: 1 }, 50);
  c.recordSuccess(id(), { host: '203.0.113.1', port: 1 }, 80);
  const best = c.best(3).map((e) => e.address.host.split('.').slice(0, 3).join('.'));
  assert.is(new Set(best).size, 3);
  c.mergeExchange([{ id: id(), address: { host: '100.64.0.1', port: 9 } }]);
  assert.is(c.forExchange(10).length, 4);
});

s('matches a model under any mix of contacts, failures, removals and exchanges (caps counted incrementally)', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('ok' as const), who: fc.nat(11), net: fc.nat(4), rtt: fc.nat(500) }),
    fc.record({ kind: fc.constant('fail' as const), who: fc.nat(11) }),
    fc.record({ kind: fc.constant('remove' as const), who: fc.nat(11) }),
    fc.record({ kind: fc.constant('exchange' as const), who: fc.array(fc.tuple(fc.nat(11), fc.nat(4)), { maxLength: 8 }) }),
  );
  const ids = Array.from({ length: 12 }, () => id());
  const at = (net: number, who: number) => ({ host: `10.0.${net}.${who + 1}`, port: 4000 });
  // 13 places for 12 IDs: nothing is evicted, so the model needs no scores; hearsay may fill 6.
  fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
    const c = new HostCache({ clock: new VirtualClock(), maxEntries: 13, maxPerPrefix: 2 });
    const model = new Map<number, { net: number; hearsay: boolean; failures: number }>();
    const onNet = (net: number) => [...model.values()].filter((m) => m.net === net).length;
    for (const o of ops) {
      if (o.kind === 'ok') {
        const m = model.get(o.who);
        const fits = (m && m.net === o.net) || onNet(o.net) < 2;
        assert.is(c.recordSuccess(ids[o.who]!, at(o.net, o.who), o.rtt), fits);
        if (fits) model.set(o.who, { net: o.net, hearsay: false, failures: 0 });
      } else if (o.kind === 'fail') {
        c.recordFailure(ids[o.who]!);
        const m = model.get(o.who);
        if (m && ++m.failures >= 5) model.delete(o.who);
      } else if (o.kind === 'remove') {
        assert.is(c.remove(ids[o.who]!), model.delete(o.who));
      } else {
        const report = c.mergeExchange(o.who.map(([w, net]) => ({ id: ids[w]!, address: at(net, w) })));
        let added = 0;
        for (const [w, net] of o.who) {
          const hearsay = [...model.values()].filter((m) => m.hearsay).length;
          if (model.has(w) || hearsay >= 6 || onNet(net) >= 2) continue;
          model.set(w, { net, hearsay: true, failures: 0 });
          added++;
        }
        assert.is(report.added, added);
      }
      assert.is(c.size, model.size);
      for (const [w, m] of model) {
        const e = c.get(ids[w]!);
        assert.ok(e, 'entry kept');
        assert.is(e.address.host, at(m.net, w).host);
        assert.is(e.lastSeen === 0, m.hearsay);
      }
    }
  }));
});

s('atomic save and load round trip; a crash mid-write leaves the old file intact', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tincan-hostcache-'));
  try {
    const clock = new VirtualClock();
    const path = join(dir, 'hosts.json');
    const c = new HostCache({ clock });
    for (let i = 0; i < 50; i++) c.recordSuccess(id(), addr(), i);
    await saveHostCacheFile(path, c, random);
    const loaded = await loadHostCacheFile(path, { clock });
    assert.is(loaded.warning, undefined);
    assert.equal(loaded.cache.list(), c.list());
    assert.equal(await readdir(dir), ['hosts.json'], 'no temp files left');
    // Simulated crash: a torn temp file next to the good one is simply ignored.
    await writeFile(join(dir, '.hosts.json.deadbeef0000.tmp'), '{"version":1,"entries":[{"id":');
    const again = await loadHostCacheFile(path, { clock });
    assert.is(again.cache.size, 50);
    assert.equal(await readdir(dir), ['hosts.json'], 'the torn temp file was cleaned up');
    // Overwrite works and stays parseable.
    c.recordSuccess(id(), addr(), 1);
    await saveHostCacheFile(path, c, random);
    assert.is((await loadHostCacheFile(path, { clock })).cache.size, 51);
    assert.ok(JSON.parse(await readFile(path, 'utf8')).version === 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

s('corrupt, truncated, oversized, unreadable or missing files are reported and ignored', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tincan-hostcache-'));
  try {
    const clock = new VirtualClock();
    const path = join(dir, 'hosts.json');
    const missing = await loadHostCacheFile(path, { clock });
    assert.is(missing.warning, undefined);
    assert.is(missing.cache.size, 0);
    const good = new HostCache({ clock });
    good.recordSuccess(id(), addr(), 3);
    const text = good.serialize();
    for (const bad of [text.slice(0, text.length / 2), 'garbage', '{"version":2,"entries":[]}', '[]', 'null']) {
      await writeFile(path, bad);
      const r = await loadHostCacheFile(path, { clock });
      assert.ok(r.warning, `warning for ${bad.slice(0, 20)}`);
      assert.is(r.cache.size, 0);
    }
    await writeFile(path, JSON.stringify({ version: 1, entries: [{ id: 'x' }, JSON.parse(text).entries[0]] }));
    const partial = await loadHostCacheFile(path, { clock });
    assert.is(partial.cache.size, 1);
    assert.is(partial.skipped, 1);
    await writeFile(path, ' '.repeat(MAX_HOST_CACHE_FILE + 1));
    assert.match((await loadHostCacheFile(path, { clock })).warning ?? '', /too large/);
    await rm(path);
    await mkdir(path);
    assert.match((await loadHostCacheFile(path, { clock })).warning ?? '', /unreadable/);
    await assert.not.throws(async () => HostCache.parse('\u0000\u0001', { clock }));
    fc.assert(fc.property(fc.string(), (t) => HostCache.parse(t, { clock }).cache.size >= 0));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

s.run();
