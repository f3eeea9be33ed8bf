/**
 * OverlayNode on the simulator's cheap links (src/overlay/sim/overlay-links.ts): the same
 * small world as the OverlayNode smoke test, with Noise sessions replaced by links of the
 * same packet sizes authenticated by simulated addressing.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayWorld, PORT, type WorldNode } from './overlay-world.ts';
import { SimKeyDirectory, simOverlayLinks } from '../../src/overlay/sim/overlay-links.ts';
import type { OverlayInit } from '../../src/overlay/overlay-node.ts';
import type { NatBox } from '../../src/net/sim.ts';

const s = suite('overlay/sim links under OverlayNode');

s('3 supernodes + 4 leaves on sim links: attach, publish, lookup', async () => {
  const w = new OverlayWorld(5);
  const keys = new SimKeyDirectory();
  let n = 0;
  const add = (init: Partial<OverlayInit> & { nat?: NatBox }): WorldNode => {
    const ip = init.nat ? `10.9.0.${++n}` : w.nextPublicIp();
    return w.add({ ...init, ip, links: simOverlayLinks(keys, () => w.nodes.find((x) => x.ip === ip)?.host) });
  };
  const first = add({ role: 'always' });
  const seeds = [{ host: first.ip, port: PORT }];
  const sn = [first, add({ role: 'always', seeds }), add({ role: 'always', seeds })];
  await w.run(first.node.start());
  await w.run(Promise.all(sn.slice(1).map((x) => x.node.start())).then(() => undefined), 60_000);
  const leaves = [0, 1, 2, 3].map((i) => add({ name: `user${i}`, seeds, nat: i % 2 ? w.nat('port-restricted') : undefined }));
  for (const l of leaves) await w.run(l.node.start());
  await w.advance(5000);
  for (const l of leaves) {
    const snap = l.node.snapshot();
    assert.is(snap.supernodes.length, 3, `leaf attached to ${snap.supernodes.length}`);
    assert.ok(snap.published, 'published');
  }
  const recs = await w.run(leaves[0]!.node.lookup('user3'));
  assert.is(recs.length, 1);
  assert.is(recs[0]!.publicKey, leaves[3]!.identity.publicKeyHex);
  assert.ok(keys.size >= 7);
  await w.closeAll();
});

s.run();
