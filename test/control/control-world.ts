/**
 * A small real network for the control and metrics tests, in this process on 127.0.0.1
 * (UDP, Noise sessions, real clock): a supernode TincanNode (with its TURN server) and
 * two leaves, "alice" and "bob", attached and published.
 */
import { RealClock } from '../../src/clock.ts';
import { SecureRandom } from '../../src/random.ts';
import { silentLogger } from '../../src/log.ts';
import { UdpNet } from '../../src/net/udp.ts';
import { Identity } from '../../src/identity/identity.ts';
import { TincanNode } from '../../src/node/tincan-node.ts';

export const clock = new RealClock();
const random = new SecureRandom();

/** The nodes; `close()` stops them all. */
export interface World {
  supernode: TincanNode;
  alice: TincanNode;
  bob: TincanNode;
  bobKey: string;
  close(): Promise<void>;
}

/** Poll `cond` every 50 ms for up to `ms`. */
export async function waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await clock.sleep(50);
  }
}

/** Start the world (about a second on loopback). */
export async function startWorld(): Promise<World> {
  const nodes: TincanNode[] = [];
  const make = (init: ConstructorParameters<typeof TincanNode>[1], identity = Identity.generate(random)) => {
    const n = new TincanNode({ clock, random, net: new UdpNet(), log: silentLogger(), identity }, init);
    nodes.push(n);
    return n;
  };
  const overlay = (o: Record<string, unknown>) => ({ listen: { host: '127.0.0.1', port: 0 }, powDifficulty: 6, maxPerPrefix: 1000, hostCachePerPrefix: 200, ...o });
  const close = async () => {
    await Promise.all(nodes.map((n) => n.close().catch(() => {})));
  };
  try {
    const supernode = make({ overlay: overlay({ seeds: [], role: 'always' }), turn: { allowPrivatePeers: true }, additionalHostAddresses: ['127.0.0.1'] });
    await supernode.start();
    const seeds = [supernode.overlay.address!];
    const bobId = Identity.generate(random);
    const alice = make({ overlay: overlay({ seeds, role: 'never', name: 'alice' }), additionalHostAddresses: ['127.0.0.1'] });
    const bob = make({ overlay: overlay({ seeds, role: 'never', name: 'bob' }), additionalHostAddresses: ['127.0.0.1'] }, bobId);
    await Promise.all([alice.start(), bob.start()]);
    await waitFor('alice and bob published', () => [alice, bob].every((n) => n.overlay.snapshot().published !== undefined && n.overlay.snapshot().supernodes.length === 1));
    return { supernode, alice, bob, bobKey: bobId.publicKeyHex, close };
  } catch (err) {
    await close();
    throw err;
  }
}
