/**
 * What every simulated node shares: the clock, the SimNet, the message registry, the
 * memoized verifiers (pure functions: see memo-verifier.ts and ContactVerifier), and the
 * directory of who is where (the simulator's authentication oracle for {@link SimLinks},
 * and the "address book" that maps a key to the node that holds it).
 *
 * @module
 */
import type { VirtualClock } from '../../virtual-clock.ts';
import type { SimHost, SimNet } from '../../net/sim.ts';
import type { Address } from '../../net/net.ts';
import type { Signer } from '../../identity/identity.ts';
import { MessageRegistry } from '../../wire/messages.ts';
import { type Contact, ContactVerifier } from '../contact.ts';
import { idKey } from '../node-id.ts';
import { type LinkDirectory, SimPostOffice } from './sim-links.ts';
import { SimWireCheck } from './sim-endpoint.ts';
import { MemoVerifier } from './memo-verifier.ts';
import { DEFAULT_LIVENESS, type LivenessOptions } from '../liveness.ts';
import { nativeSigner, type SimIdentity } from './native-ed25519.ts';

/** UDP port every simulated node listens on. */
export const SIM_PORT = 4000;

/** Tunables of the stand-in node shared by all nodes of a run. */
export interface PeerConfig {
  /** Kademlia k (default 20). */
  k: number;
  /** Proof-of-work difficulty required of supernode IDs (sim default 8: cheap, still verified). */
  powDifficulty: number;
  /** Presence record lifetime (default 2 h; republished at half-life). */
  recordLifetimeMs: number;
  /** Supernodes a leaf keeps (3). */
  attachments: number;
  /** Supernodes a leaf publishes its record through (default 1; the Sybil scenario uses 2). */
  publishVia: number;
  /**
   * Period of a leaf's attachment round (re-attach if short, republish when due): uniform
   * in [min, max] ms (15-25 s, as OverlayNode's keepalive round).
   */
  keepaliveMs: [number, number];
  /** A leaf's liveness probes to each supernode (liveness.ts; OverlayNode's defaults). */
  liveness: LivenessOptions;
  /** Supernode maintenance period (link sweep, store sweep, replication; default 60 s). */
  maintenanceMs: number;
  /**
   * Records a supernode re-stores per maintenance round (default 0: leaves republish at
   * half-life, and hourly replication by every holder re-stores each record k times).
   */
  replicatePerRound: number;
  /** Leaves a supernode serves at most (default 200). */
  maxLeaves: number;
  /** Link idle timeout (default 180 s, as sessions). */
  linkIdleMs: number;
  /** Per-request timeout of DHT RPCs (default 2 s). */
  dhtTimeoutMs: number;
  /**
   * RoutingTable `pingQuietMs`: a full bucket pings its oldest entry only if it was silent
   * this long (default 15 min, BEP 5's "questionable", as OverlayNode; 0 is the Kademlia
   * paper's rule: see routing-table.ts).
   */
  pingQuietMs: number;
  /**
   * Check the simulator's message path (sim-endpoint.ts): encode, validate and decode every
   * message with the real registry and hand the receiver the decoded copy, validate RPC
   * parameters and results (default false: objects handed across, same datagrams).
   */
  wireCheck: boolean;
  /**
   * Liveness probes and their echoes arrive at once (SimSocket.sendNow: same NAT, loss and
   * byte effects, no clock event; default true). See sim-links.ts.
   */
  instantKeepalives: boolean;
}

/** Default {@link PeerConfig}. */
export const DEFAULT_PEER_CONFIG: PeerConfig = {
  k: 20,
  powDifficulty: 8,
  recordLifetimeMs: 2 * 3600_000,
  attachments: 3,
  publishVia: 1,
  keepaliveMs: [15_000, 25_000],
  liveness: DEFAULT_LIVENESS,
  maintenanceMs: 60_000,
  replicatePerRound: 0,
  maxLeaves: 200,
  linkIdleMs: 180_000,
  dhtTimeoutMs: 2000,
  pingQuietMs: 15 * 60_000,
  wireCheck: false,
  instantKeepalives: true,
};

/** One person/machine of the simulation (stable across its sessions). */
export interface NodeSpec {
  index: number;
  name: string;
  identity: SimIdentity;
  /** Proof-of-work nonce (valid for public honest nodes; zeros for cheap attacker IDs). */
  pow: Uint8Array;
  /** Reachable without NAT (a supernode candidate). */
  isPublic: boolean;
  /** Uplink in kbit/s. */
  uplinkKbps: number;
  attacker: boolean;
  /** Current host while online. */
  host: SimHost | undefined;
  /** Current contact while online (public address for supernodes). */
  contact: Contact | undefined;
  /** Sessions so far. */
  sessions: number;
  /** Next presence seq (kept across sessions, like a persisted one). */
  seq: number;
}

/** See module docs. */
export class SimWorld implements LinkDirectory {
  readonly registry: MessageRegistry;
  readonly contacts: ContactVerifier;
  readonly records: MemoVerifier;
  /** Parcels in flight (sim-links.ts). */
  readonly post = new SimPostOffice();
  /** Counters of the checked message path, when `config.wireCheck` is on. */
  readonly wireCheck: SimWireCheck | undefined;
  readonly specs: NodeSpec[] = [];
  /** Indices of the seed supernodes (their configured addresses stay known when they are down). */
  seeds: number[] = [];
  private readonly seedAddresses = new Map<number, Contact>();
  /** The seeds' addresses (a live array: nodes created before the last seed see it too). */
  readonly seedList: Address[] = [];
  private attackers: Contact[] | undefined;
  private readonly byKey = new Map<string, number>();
  private readonly signers = new WeakMap<NodeSpec, Signer>();

  constructor(
    readonly clock: VirtualClock,
    readonly net: SimNet,
    readonly config: PeerConfig,
    registry: MessageRegistry,
  ) {
    this.registry = registry;
    this.contacts = new ContactVerifier({ difficulty: config.powDifficulty, cacheSize: 1 << 18 });
    this.records = new MemoVerifier({ clock, maxLifetimeMs: config.recordLifetimeMs });
    this.wireCheck = config.wireCheck ? new SimWireCheck() : undefined;
  }

  /** Register a node spec (index = position). */
  add(spec: NodeSpec): void {
    this.specs[spec.index] = spec;
    this.byKey.set(idKey(spec.identity.idBytes), spec.index);
  }

  /** Remember `index` as a seed at its current contact. */
  addSeed(index: number): void {
    this.seeds.push(index);
    this.seedAddresses.set(index, this.contactOf(index));
    this.seedList.push(this.contactOf(index).address);
  }

  /** The seeds as every node is configured with them (`--seed`). */
  seedContacts(): Contact[] {
    return [...this.seedAddresses.values()];
  }

  /** Contacts of every attacker supernode online (what attackers hand out as fake close contacts). */
  attackerContacts(): Contact[] {
    if (this.attackers === undefined) {
      this.attackers = this.specs.filter((s) => s.attacker && s.contact !== undefined && s.host !== undefined && !s.host.closed).map((s) => s.contact!);
    }
    return this.attackers;
  }

  /** Forget cached derived lists (call when attackers come or go). */
  invalidate(): void {
    this.attackers = undefined;
  }

  publicIpOf(node: number): string | undefined {
    const h = this.specs[node]?.host;
    return h && !h.closed ? h.publicIp : undefined;
  }

  /** The signer of node `spec`'s presence records (platform Ed25519: the same signatures, see native-ed25519.ts). */
  signerOf(spec: NodeSpec): Signer {
    let s = this.signers.get(spec);
    if (!s) {
      s = nativeSigner(spec.identity);
      this.signers.set(spec, s);
    }
    return s;
  }

  /** The node holding the key of node ID `id`, if any. */
  indexOfId(id: Uint8Array): number | undefined {
    return this.byKey.get(idKey(id));
  }

  /** The contact of node `index` as its peers see it (its key, PoW nonce and public address). */
  contactOf(index: number, address?: Address): Contact {
    const s = this.specs[index]!;
    return s.contact ?? { id: s.identity.idBytes, publicKey: s.identity.publicKey, pow: s.pow, address: address ?? { host: '192.0.2.1', port: SIM_PORT } };
  }
}

export { MessageRegistry };
