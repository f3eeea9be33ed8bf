/**
 * A scenario peer backed by the real {@link OverlayNode} (instead of the stand-in
 * {@link SimPeer}): the node runs on its SimNet host with the simulator's links
 * (overlay-links.ts), the shared contact verifier and memoized record verifier, no mDNS
 * and no host-cache file (the cache object survives across its sessions instead).
 *
 * Roles come from the scenario (`always` for supernodes, `never` for leaves), so the
 * supernode ratio stays the scenario's; OverlayNode's own `auto` election is not used yet.
 * OverlayNode does not report a lookup's hop count (its OvLookup answers carry `hops`,
 * but `lookup()` returns records only), so hops are reported as -1.
 * @module
 */
import type { Random } from '../../random.ts';
import type { SimHost } from '../../net/sim.ts';
import type { Address } from '../../net/net.ts';
import { silentLogger } from '../../log.ts';
import { Identity } from '../../identity/identity.ts';
import type { Contact } from '../contact.ts';
import { HostCache } from '../host-cache.ts';
import { OverlayNode } from '../overlay-node.ts';
import type { PresenceRecord } from '../presence-record.ts';
import type { SimKeyDirectory } from './overlay-links.ts';
import { simOverlayLinks } from './overlay-links.ts';
import type { PeerEvents, SimLookupResult, SimRole } from './sim-peer.ts';
import { type NodeSpec, SIM_PORT, type SimWorld } from './sim-world.ts';

/** See module docs. */
export class OverlayPeer {
  readonly node: OverlayNode;
  readonly hostCache: HostCache;
  readonly startedAt: number;
  lookups = 0;
  publishedAt: number | undefined;
  private closed = false;

  constructor(
    readonly world: SimWorld,
    readonly spec: NodeSpec,
    readonly role: SimRole,
    readonly host: SimHost,
    random: Random,
    events: PeerEvents,
    hostCache: HostCache | undefined,
    keys: SimKeyDirectory,
    /** The seeds' addresses; read when needed, so it may still be filled in after construction. */
    seeds: readonly Address[],
  ) {
    const { clock, config } = world;
    this.startedAt = clock.now();
    this.hostCache = hostCache ?? new HostCache({ clock });
    this.node = new OverlayNode(
      // The node's own Identity (pure-JS keys) from the spec's seed: the same key pair.
      { clock, random, net: host, log: silentLogger(), identity: identityOf(spec) },
      {
        listen: { host: host.ip, port: SIM_PORT },
        role: role === 'supernode' ? 'always' : 'never',
        name: spec.name,
        seeds,
        hostCache: this.hostCache,
        powDifficulty: config.powDifficulty,
        links: simOverlayLinks(keys, () => host, { idleTimeoutMs: config.linkIdleMs }),
        contactVerifier: world.contacts,
        verifyRecord: world.records.verify,
        recordLifetimeMs: config.recordLifetimeMs / 2,
        maxSessions: config.maxLeaves,
      },
    );
    this.node.on('published', () => {
      if (this.closed) return;
      this.publishedAt ??= clock.now();
      events.published(this);
    });
  }

  get isSupernode(): boolean {
    return this.node.currentRole === 'supernode';
  }

  get ready(): boolean {
    const s = this.node.snapshot();
    return s.role === 'supernode' ? s.tableSize > 0 : s.supernodes.length > 0;
  }

  get supernodes(): readonly string[] {
    return this.node.snapshot().supernodes.map((s) => s.id.slice(0, 8));
  }

  /** Start (the seeds were given at construction; their link keys are learned by a hail). */
  start(_seeds: readonly Contact[]): void {
    void this.node.start().catch(() => {});
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.close();
    void this.node.close();
  }

  async lookup(name: string): Promise<SimLookupResult> {
    this.lookups++;
    const t0 = this.world.clock.now();
    let records: PresenceRecord[] = [];
    try {
      records = await this.node.lookup(name);
    } catch {
      // a miss
    }
    return { records, hops: -1, latencyMs: this.world.clock.now() - t0 };
  }

  held(key: Uint8Array): number {
    return this.node.storedRecords(key).length;
  }

  get serviceStats(): undefined {
    return undefined;
  }
}

const identities = new WeakMap<NodeSpec, Identity>();

/** The node's `Identity` from its spec's seed (made once per node). */
function identityOf(spec: NodeSpec): Identity {
  let id = identities.get(spec);
  if (!id) identities.set(spec, (id = Identity.fromSecretKey(spec.identity.secretKey)));
  return id;
}
