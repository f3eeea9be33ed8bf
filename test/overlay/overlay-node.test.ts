/**
 * OverlayNode on SimNet: supernodes form the DHT, leaves attach, publish, look up and
 * search, signal envelopes cross supernodes.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayWorld, PORT } from './overlay-world.ts';

const s = suite('overlay node: small world on SimNet');

s('3 supernodes + 4 leaves: attach, publish, lookup, search', async () => {
  const w = new OverlayWorld(3);
  const first = w.add({ role: 'always' });
  const seeds = [{ host: first.ip, port: PORT }];
  const sn = [first, w.add({ role: 'always', seeds }), w.add({ role: 'always', seeds })];
  await w.run(first.node.start());
  await w.run(Promise.all(sn.slice(1).map((x) => x.node.start())).then(() => undefined), 60_000);
  const leaves = [0, 1, 2, 3].map((i) => w.add({ name: `user${i}`, seeds, nat: i % 2 ? w.nat('port-restricted') : undefined }));
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
  const found = await w.run(leaves[1]!.node.searchNames('user'));
  assert.is(new Set(found.map((r) => r.name)).size, 4, JSON.stringify(found));
  await w.closeAll();
});

s('TURN hook: an attached leaf gets credentials and the TURN address from its supernode; snapshot shows role and reason', async () => {
  const w = new OverlayWorld(5);
  const asked: string[] = [];
  const sn = w.add({
    role: 'always',
    issueTurnCredentials: (leaf) => {
      asked.push(leaf);
      return { username: `1800000000:${leaf.slice(0, 8)}`, password: 'secret-hmac', ttlSec: 3600, urls: [{ host: sn.ip, port: PORT }] };
    },
  });
  const plain = w.add({ role: 'always', seeds: [{ host: sn.ip, port: PORT }] });
  await w.run(sn.node.start());
  await w.run(plain.node.start());
  const leaf = w.add({ name: 'turner', seeds: [{ host: sn.ip, port: PORT }], nat: w.nat('symmetric'), attachments: 1 });
  await w.run(leaf.node.start());
  const cred = await w.run(leaf.node.turnCredentials());
  assert.equal(asked, [leaf.identity.publicKeyHex]);
  assert.equal(cred, { username: `1800000000:${leaf.identity.publicKeyHex.slice(0, 8)}`, password: 'secret-hmac', ttlSec: 3600, urls: [{ host: sn.ip, port: PORT }] });
  const snap = sn.node.snapshot();
  assert.is(snap.role, 'supernode');
  assert.match(snap.roleReason, /always/);
  assert.is(snap.leaves, 1);
  assert.is(leaf.node.snapshot().role, 'leaf');
  await w.closeAll();
});

s.run();
