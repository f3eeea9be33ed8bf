/**
 * OverlayNodes on real UDP (127.0.0.1, in-process, real clock, Noise sessions): 3
 * supernodes + 10 leaves attach, find each other by name and by search, relay a signal;
 * a supernode crash (its socket vanishes) loses no record and leaves re-attach; the host
 * cache file is written atomically and lets a node join with its seeds gone.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealClock } from '../../src/clock.ts';
import { SecureRandom } from '../../src/random.ts';
import { UdpNet } from '../../src/net/udp.ts';
import type { DatagramSocket, Net } from '../../src/net/net.ts';
import { silentLogger } from '../../src/log.ts';
import { Identity } from '../../src/identity/identity.ts';
import { type OverlayInit, OverlayNode } from '../../src/overlay/overlay-node.ts';
import { nameKey } from '../../src/overlay/presence-record.ts';

const s = suite('overlay on UDP loopback');

/** A Net whose sockets can all be dropped at once (a crash, from the network's view). */
class CrashableNet implements Net {
  readonly sockets: DatagramSocket[] = [];
  private readonly inner = new UdpNet();
  async bind(o?: { host?: string; port?: number }): Promise<DatagramSocket> {
    const sock = await this.inner.bind(o);
    this.sockets.push(sock);
    return sock;
  }
  crash(): void {
    for (const x of this.sockets) x.close();
  }
}

const clock = new RealClock();
const random = new SecureRandom();
const LOOPBACK: Partial<OverlayInit> = { powDifficulty: 6, maxPerPrefix: 1000, hostCachePerPrefix: 200, keepaliveMs: [1500, 2500] };

function make(init: Partial<OverlayInit> & { identity?: Identity }) {
  const net = new CrashableNet();
  const identity = init.identity ?? Identity.generate(random);
  const node = new OverlayNode({ clock, random, net, log: silentLogger(), identity }, { listen: { host: '127.0.0.1', port: 0 }, role: 'never', ...LOOPBACK, ...init });
  return { node, net, identity, name: init.name };
}

async function waitFor(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await clock.sleep(50);
  }
}

s('3 supernodes + 10 leaves: lookups, search, signal relay, crash and re-attach, host cache file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tincan-overlay-'));
  const all: ReturnType<typeof make>[] = [];
  try {
    const s0 = make({ role: 'always' });
    all.push(s0);
    await s0.node.start();
    const seed = s0.node.address!;
    const sns = [s0, make({ role: 'always', seeds: [seed] }), make({ role: 'always', seeds: [seed] })];
    all.push(sns[1]!, sns[2]!);
    await Promise.all(sns.slice(1).map((x) => x.node.start()));
    const leaves = Array.from({ length: 10 }, (_, i) => make({ name: `udp-leaf-${i}`, seeds: [seed], ...(i === 0 ? { hostCachePath: join(dir, 'hosts.json') } : {}) }));
    all.push(...leaves);
    await Promise.all(leaves.map((l) => l.node.start()));
    await waitFor('attachments', () => leaves.every((l) => l.node.snapshot().supernodes.length === 3 && l.node.snapshot().published));

    let ok = 0;
    for (const a of leaves) {
      const rs = await Promise.all(leaves.filter((b) => b !== a).map((b) => a.node.lookup(b.name!).then((r) => r[0]?.publicKey === b.identity.publicKeyHex)));
      ok += rs.filter(Boolean).length;
    }
    assert.is(ok, 90);
    const found = await leaves[3]!.node.searchNames('leaf-');
    assert.is(new Set(found.map((r) => r.name)).size, 10);

    const got: string[] = [];
    leaves[9]!.node.signalTransport().onEnvelope((e) => got.push(e.callId));
    await leaves[0]!.node.signalTransport().send({ from: leaves[0]!.identity.publicKeyHex, to: leaves[9]!.identity.publicKeyHex, callId: 'udp-call', sealed: new Uint8Array(2000) });
    await waitFor('envelope', () => got.includes('udp-call'), 5000);

    // Crash supernode 1; keepalives (1.5-2.5 s here) notice, leaves re-attach elsewhere.
    const dead = sns[1]!;
    const deadId = dead.node.id;
    dead.net.crash();
    await dead.node.close();
    await waitFor('re-attachment', () => leaves.every((l) => {
      const sn = l.node.snapshot().supernodes;
      return sn.length === 2 && !sn.some((x) => x.id === deadId);
    }), 20_000);
    for (const l of leaves) {
      for (const h of [sns[0]!, sns[2]!]) {
        assert.ok(h.node.storedRecords(nameKey(l.name!)).some((r) => r.publicKey === l.identity.publicKeyHex), `lost ${l.name}`);
      }
    }

    // The host cache file is valid JSON with the supernodes; a restart with a dead seed joins from it.
    await leaves[0]!.node.close();
    const file = JSON.parse(await readFile(join(dir, 'hosts.json'), 'utf8')) as { entries?: unknown[] };
    assert.ok(Array.isArray(file.entries) && file.entries.length >= 2, JSON.stringify(file).slice(0, 300));
    const again = make({ name: 'udp-leaf-0', identity: leaves[0]!.identity, seeds: [dead.node.address!], hostCachePath: join(dir, 'hosts.json') });
    all.push(again);
    await again.node.start();
    await waitFor('join from cache', () => again.node.snapshot().supernodes.length >= 1);
  } finally {
    await Promise.all(all.map((x) => x.node.close()));
    await rm(dir, { recursive: true, force: true });
  }
});

s.run();
