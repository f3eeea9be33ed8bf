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
import { type LinkDirectory, POST_NOTE, SimPostOffice } from './sim-links.ts';
import { SimWireCheck } from './sim-endpoint.ts';
import { MemoVerifier } from './memo-verifier.ts';
import { DEFAULT_LIVENESS, type LivenessOptions, LivenessWatch } from '../liveness.ts';
import { SimHeartbeats } from './sim-heartbeats.ts';
import { nativeIdentityFromSeed, nativeSigner, type SimIdentity } from './native-ed25519.ts';
import type { WireMessage } from '../../wire/messages.ts';

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

const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder();

/** First byte of the world's notes to other shares (see {@link SimWorld.shareOf}). */
const SESSION_NOTE = 0x51;
const SPEC_NOTE = 0x52;

/** See module docs. */
export class SimWorld implements LinkDirectory {
  readonly registry: MessageRegistry;
  readonly contacts: ContactVerifier;
  readonly records: MemoVerifier;
  /** Parcels in flight (sim-links.ts). */
  readonly post: SimPostOffice;
  /** The supernodes' heartbeats of this share, sent together (sim-heartbeats.ts). */
  readonly heartbeats: SimHeartbeats;
  /** One watch over every leaf's liveness probes in this share: one wake-up a period for all (liveness.ts). */
  readonly leafWatch: LivenessWatch;
  /** This share's number and the number of shares (0 of 1 unless the simulation is split). */
  readonly shareIndex: number;
  readonly shareCount: number;
  /** Public IPs of nodes online on other shares. */
  private readonly remoteIps = new Map<number, string>();
  /** Notes for the scenario (first byte not the world's). */
  onScenarioNote: ((bytes: Uint8Array) => void) | undefined;
  /** Told when a node of another share starts (`online`) or ends a session. */
  onRemoteSession: ((index: number, online: boolean) => void) | undefined;
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
    this.heartbeats = new SimHeartbeats(clock, config.liveness);
    this.leafWatch = new LivenessWatch(clock);
    this.shareIndex = net.shareIndex;
    this.shareCount = net.shareCount;
    this.post = new SimPostOffice(undefined, this.shareCount === 1 ? undefined : {
      index: this.shareIndex,
      count: this.shareCount,
      shareOf: (node) => this.shareOf(node),
      // The JSON the registry would produce; validated only when checking the message path
      // (the simulator's messages are its own code's, sim-endpoint.ts).
      encode: (message) => (config.wireCheck ? registry.encode(message as WireMessage) : UTF8_ENCODER.encode(JSON.stringify(message))),
      decode: (bytes) => {
        if (config.wireCheck) {
          const r = registry.decode(bytes);
          return r.ok ? r.message : undefined;
        }
        try {
          return JSON.parse(UTF8_DECODER.decode(bytes)) as object;
        } catch {
          return undefined;
        }
      },
      note: (bytes, to) => net.note(bytes, to),
    });
    if (this.shareCount > 1) net.onNote((_from, bytes) => this.acceptNote(bytes));
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
      this.attackers = this.specs.filter((s) => s.attacker && s.contact !== undefined && this.publicIpOf(s.index) !== undefined).map((s) => s.contact!);
    }
    return this.attackers;
  }

  /** The share node `index` is simulated on (nodes are dealt to shares by index). */
  shareOf(index: number): number {
    return index % this.shareCount;
  }

  /** Whether node `index` is simulated on this share. */
  isLocal(index: number): boolean {
    return index % this.shareCount === this.shareIndex;
  }

  /**
   * Tell the other shares that this share's node `spec` started a session (its host is
   * placed; public nodes have their contact) or ended one. Nothing when not split.
   */
  announceSession(spec: NodeSpec, online: boolean): void {
    if (this.shareCount === 1) return;
    const ip = online ? spec.host!.publicIp : '';
    const note = new Uint8Array(7 + ip.length);
    note[0] = SESSION_NOTE;
    writeU32(note, 1, spec.index);
    note[5] = online ? 1 : 0;
    note[6] = ip.length;
    for (let i = 0; i < ip.length; i++) note[7 + i] = ip.charCodeAt(i);
    this.net.note(note);
  }

  /** Tell the other shares of a node this share minted (a new node arriving). */
  announceSpec(spec: NodeSpec): void {
    if (this.shareCount === 1) return;
    const name = new TextEncoder().encode(spec.name);
    const note = new Uint8Array(1 + 4 + 1 + 4 + 32 + 1 + spec.pow.byteLength + name.byteLength);
    let o = 0;
    note[o++] = SPEC_NOTE;
    writeU32(note, o, spec.index);
    o += 4;
    note[o++] = (spec.isPublic ? 1 : 0) | (spec.attacker ? 2 : 0);
    writeU32(note, o, spec.uplinkKbps);
    o += 4;
    note.set(spec.identity.secretKey, o);
    o += 32;
    note[o++] = spec.pow.byteLength;
    note.set(spec.pow, o);
    o += spec.pow.byteLength;
    note.set(name, o);
    this.net.note(note);
  }

  /** A note from another share: the world's own, or the scenario's. */
  private acceptNote(bytes: Uint8Array): void {
    const kind = bytes[0];
    if (kind === POST_NOTE) return this.post.acceptNote(bytes, this.clock.now());
    if (kind === SESSION_NOTE) {
      const index = readU32(bytes, 1);
      const spec = this.specs[index];
      if (!spec) throw new Error(`session note for unknown node ${index}`);
      if (bytes[5] === 1) {
        const ip = String.fromCharCode(...bytes.subarray(7, 7 + bytes[6]!));
        this.remoteIps.set(index, ip);
        spec.contact = spec.isPublic ? { id: spec.identity.idBytes, publicKey: spec.identity.publicKey, pow: spec.pow, address: { host: ip, port: SIM_PORT } } : undefined;
      } else {
        this.remoteIps.delete(index);
      }
      if (spec.attacker) this.invalidate();
      this.onRemoteSession?.(index, bytes[5] === 1);
      return;
    }
    if (kind === SPEC_NOTE) {
      let o = 1;
      const index = readU32(bytes, o);
      o += 4;
      const flags = bytes[o++]!;
      const uplinkKbps = readU32(bytes, o);
      o += 4;
      const identity = nativeIdentityFromSeed(bytes.slice(o, o + 32));
      o += 32;
      const powLength = bytes[o++]!;
      const pow = bytes.slice(o, o + powLength);
      o += powLength;
      const name = new TextDecoder().decode(bytes.subarray(o));
      this.add({ index, name, identity, pow, isPublic: (flags & 1) !== 0, uplinkKbps, attacker: (flags & 2) !== 0, host: undefined, contact: undefined, sessions: 0, seq: 1 });
      return;
    }
    this.onScenarioNote?.(bytes);
  }

  /** Forget cached derived lists (call when attackers come or go). */
  invalidate(): void {
    this.attackers = undefined;
  }

  publicIpOf(node: number): string | undefined {
    const h = this.specs[node]?.host;
    if (h !== undefined) return h.closed ? undefined : h.publicIp;
    return this.shareCount === 1 ? undefined : this.remoteIps.get(node);
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

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
