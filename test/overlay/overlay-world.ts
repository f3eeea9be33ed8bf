/**
 * Test helper: OverlayNodes on SimNet with a VirtualClock. Public hosts get their own
 * /24; NATed hosts sit behind NAT boxes of the four kinds.
 */
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { type NatBox, type NatKind, type SimHost, SimNet } from '../../src/net/sim.ts';
import type { Address } from '../../src/net/net.ts';
import { silentLogger } from '../../src/log.ts';
import { Identity } from '../../src/identity/identity.ts';
import { type OverlayInit, OverlayNode, type Seed } from '../../src/overlay/overlay-node.ts';

export const PORT = 4000;

export interface WorldNode {
  node: OverlayNode;
  identity: Identity;
  ip: string;
  name: string | undefined;
  host: SimHost;
}

export class OverlayWorld {
  readonly clock = new VirtualClock();
  readonly random: SeededRandom;
  readonly sim: SimNet;
  readonly nodes: WorldNode[] = [];
  private publicCount = 0;
  private nats: NatBox[] = [];

  constructor(seed = 1, latencyMs = 20) {
    this.random = new SeededRandom(seed);
    this.sim = new SimNet({ clock: this.clock, random: this.random.fork(), latencyMs, jitterMs: 2 });
  }

  nextPublicIp(): string {
    const n = ++this.publicCount;
    return `203.0.${n}.10`;
  }

  nat(kind: NatKind): NatBox {
    const n = this.nats.length + 1;
    const box = this.sim.addNat(`198.51.${n}.1`, { kind, bindingTimeoutMs: 60_000 });
    this.nats.push(box);
    return box;
  }

  /** Add (not start) a node. */
  add(init: Partial<OverlayInit> & { identity?: Identity; nat?: NatBox; ip?: string; uplinkKbps?: number }): WorldNode {
    const ip = init.ip ?? (init.nat ? `10.0.${Math.floor(this.nodes.length / 250)}.${(this.nodes.length % 250) + 2}` : this.nextPublicIp());
    const host = this.sim.addHost(ip, { ...(init.nat ? { nat: init.nat } : {}), ...(init.uplinkKbps ? { uplinkKbps: init.uplinkKbps } : {}) });
    const identity = init.identity ?? Identity.generate(this.random.fork());
    const node = new OverlayNode(
      { clock: this.clock, random: this.random.fork(), net: host, log: silentLogger(), identity },
      { listen: { host: ip, port: PORT }, powDifficulty: 4, role: 'never', ...init },
    );
    const w: WorldNode = { node, identity, ip, name: init.name, host };
    this.nodes.push(w);
    return w;
  }

  /** Add and start `n` supernodes (`always`), the others seeded by the first. */
  async supernodes(n: number): Promise<WorldNode[]> {
    const first = this.add({ role: 'always' });
    const out = [first];
    for (let i = 1; i < n; i++) out.push(this.add({ role: 'always', seeds: [{ host: first.ip, port: PORT }] }));
    await this.run(first.node.start());
    await this.run(Promise.all(out.slice(1).map((x) => x.node.start())));
    return out;
  }

  /** Run `p` while advancing virtual time in steps until it settles (or `maxMs`). */
  async run<T>(p: Promise<T>, maxMs = 120_000, stepMs = 100): Promise<T> {
    let done = false;
    let value: T | undefined;
    let error: unknown;
    p.then((v) => {
      done = true;
      value = v;
    }, (e) => {
      done = true;
      error = e;
    });
    for (let t = 0; t < maxMs && !done; t += stepMs) await this.clock.advance(stepMs);
    if (!done) throw new Error(`did not settle within ${maxMs} virtual ms`);
    if (error) throw error;
    return value as T;
  }

  async advance(ms: number, stepMs = 250): Promise<void> {
    for (let t = 0; t < ms; t += stepMs) await this.clock.advance(Math.min(stepMs, ms - t));
  }

  /** Crash: the host vanishes from the network (nobody is told), then the node's timers stop. */
  async crash(w: WorldNode): Promise<void> {
    w.host.close();
    await w.node.close();
  }

  seedOf(w: WorldNode): Seed {
    return w.node.address as Address;
  }

  async closeAll(): Promise<void> {
    await this.run(Promise.all(this.nodes.map((w) => w.node.close())));
    this.sim.close();
    await this.clock.advance(5000);
  }
}
