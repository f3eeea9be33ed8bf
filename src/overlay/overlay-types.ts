/**
 * The overlay node's vocabulary: what it is built from ({@link OverlayComponents}), its
 * settings ({@link OverlayInit}), what it reports ({@link OverlaySnapshot},
 * {@link OverlayCounters}, {@link OverlayEvents}) and the envelopes it relays. The node
 * itself is overlay-node.ts, which re-exports all of these.
 *
 * @module
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Random } from '../random.ts';
import type { Address, Net } from '../net/net.ts';
import type { Identity } from '../identity/identity.ts';
import type { ContactVerifier } from './contact.ts';
import type { DhtServiceOptions } from './dht-service.ts';
import type { HostCache } from './host-cache.ts';
import type { LinksFactory } from './links.ts';
import type { ElectionPolicy } from './election.ts';
import type { PresenceRecord } from './presence-record.ts';
/** Node role. */
export type OverlayRole = 'leaf' | 'supernode';
/** Configured election mode. */
export type RoleMode = 'auto' | 'always' | 'never';

/** What the node is made of (the Env plus the user identity). */
export interface OverlayComponents {
  clock: Clock;
  random: Random;
  net: Net;
  log: Logger;
  /** The user identity: signs presence records; calls are addressed to its key. */
  identity: Identity;
}

/** A seed: an address (its key is learned by a hail), or a known contact. */
export type Seed = Address | { address: Address; id: string };

/** mDNS (or any LAN discovery): announce our supernode address, report others. */
export interface LanDiscovery {
  /** Start; `found` is called with supernode addresses seen on the LAN. */
  start(found: (address: Address) => void): void;
  /** Announce (or stop announcing) this node as a supernode at `address`. */
  announce(address: Address | undefined): void;
  close(): void;
  /** Counters for status and metrics (what was sent, heard, found and dropped, by reason). */
  stats?(): object;
}

/** Measurements the election uses (injectable; defaults measure or assume idle). */
export interface ElectionProbes {
  /** Upstream kbit/s; default: time a ~24 KB request to a supernode. */
  upstreamKbps?: () => Promise<number>;
  /** CPU headroom 0..1; default 1. */
  cpuHeadroom?: () => number;
  /**
   * This machine's own IP addresses. A node bound to a wildcard address cannot tell a
   * NAT's address from its own by the socket alone: with this, an observed address that
   * is not one of ours means we are behind NAT (and not eligible), even when a full-cone
   * NAT would let the dial-back through.
   */
  localAddresses?: () => readonly string[];
}

/** TURN credentials a supernode hands to an attached leaf. */
export interface TurnCredentials {
  username: string;
  password: string;
  ttlSec: number;
  urls: Address[];
}

/** Node settings. */
export interface OverlayInit {
  /** UDP address to bind. */
  listen: Address;
  seeds?: readonly Seed[];
  role?: RoleMode;
  /** Display name to publish (leaves); none: do not publish. */
  name?: string;
  /** Device name (several devices may share one identity; default 'default'). */
  device?: string;
  /** Host cache file; undefined = in memory only. */
  hostCachePath?: string;
  /** A host cache to start from (e.g. the simulator's persisted one); the file wins if both are given. */
  hostCache?: HostCache;
  /** Upstream to volunteer as supernode (kbit/s; default 1000). */
  budgetKbps?: number;
  /** Most leaves/sessions as supernode (default 100). */
  maxSessions?: number;
  /** Proof-of-work bits for supernode IDs (default 18; tests use less). */
  powDifficulty?: number;
  /** Link layer (default Noise sessions). */
  links?: LinksFactory;
  /** LAN discovery (default none; the CLI passes mDNS). */
  lan?: LanDiscovery;
  probes?: ElectionProbes;
  election?: Partial<ElectionPolicy>;
  /** Supernodes a leaf keeps (default 3). */
  attachments?: number;
  /**
   * Period range of the leaf's attachment round (default [15 s, 25 s]): re-attach when
   * short of supernodes, republish when due. Liveness is the probes' job.
   */
  keepaliveMs?: [number, number];
  /**
   * Liveness period (default 2.5 s): a supernode heartbeats each attached leaf this often,
   * and a leaf probes a supernode it has not heard from for this long and 250 ms. A dead
   * supernode is noticed within `probeMs` + 0.25 s + (`probeMisses` - 1) × 0.35-0.7 s (liveness.ts).
   */
  probeMs?: number;
  /** Leaves: silent checks in a row (the late heartbeat, then unanswered probes) that make a supernode dead (default 3). */
  probeMisses?: number;
  /** Presence record lifetime (default 1 h; republished at half). */
  recordLifetimeMs?: number;
  /** Supernode maintenance period (default 30 s). */
  maintenanceMs?: number;
  /** Election round period in auto (default 60 s). */
  electionMs?: number;
  /** Routing-table entries per /24 (default the table's; raise for loopback tests). */
  maxPerPrefix?: number;
  /** Host cache entries per /24 (default 4; raise for loopback tests). */
  hostCachePerPrefix?: number;
  /** Supernodes: issue TURN credentials for an attached leaf (user key hex). */
  issueTurnCredentials?: (leafUserKey: string) => TurnCredentials | undefined;
  /** Addresses to put in our presence record (e.g. host candidates); default none. */
  recordAddresses?: () => Address[];
  /**
   * Per-peer DHT rates (defaults: DhtService's, but STORE 20/s burst 200: a supernode
   * stores on behalf of up to --max-sessions leaves).
   */
  dhtRates?: DhtServiceOptions['rates'];
  /** Contact checks (ID, proof of work), e.g. one shared by every simulated node; default one per node at `powDifficulty`. */
  contactVerifier?: ContactVerifier;
  /** Presence-record check (e.g. the simulator's memoised verifier); default `presenceVerifier`. */
  verifyRecord?: (r: PresenceRecord) => { ok: true } | { ok: false; error: string };
  /** DHT request timeout (default 2 s). */
  dhtTimeoutMs?: number;
  /** How long a supernode collects search hits (default 1.5 s). */
  searchWindowMs?: number;
  /**
   * Handlers for other datagram classes arriving on our port, e.g. a TURN server's
   * `stun` and `turn-channel` (it replies with {@link OverlayNode.sendDatagram}).
   */
  datagramHandlers?: Partial<Record<'stun' | 'turn-channel', (data: Uint8Array, from: Address) => void>>;
}

/** Counters in the snapshot. */
export interface OverlayCounters {
  attaches: number;
  attachFailures: number;
  reattaches: number;
  publishes: number;
  lookups: number;
  searches: number;
  signalsSent: number;
  signalsRelayed: number;
  signalsDelivered: number;
  signalsRefused: number;
  promotions: number;
  demotions: number;
  dialbacks: number;
  leavesAccepted: number;
  leavesRefused: number;
  /** Leaf: supernodes that answered a lookup of our own fresh record without it (record-check.ts), dropped and held out. */
  supernodesDistrusted: number;
}

/** A view of the node for status displays and tests. */
export interface OverlaySnapshot {
  id: string;
  userKey: string;
  address: Address | undefined;
  role: OverlayRole;
  mode: RoleMode;
  score: number;
  roleReason: string;
  reachable: boolean | undefined;
  /**
   * Leaf: the supernodes we are attached to, with the loads they last reported (their
   * own, and their estimate of their area's, which the election goes by).
   */
  supernodes: { id: string; address: Address; rttMs: number | undefined; loadPct: number | undefined; areaLoadPct: number | undefined }[];
  /** Supernode: leaves in percent of --max-sessions, and the area's load as estimated from other supernodes' DHT answers. */
  loadPct?: number;
  areaLoadPct?: number;
  /** Supernode: attached leaves; routing-table and store sizes. */
  leaves: number;
  tableSize: number;
  storedRecords: number;
  sessions: number;
  hostCache: number;
  /** Our presence record as last accepted: when (clock ms), and the supernode IDs it names. */
  published: { seq: number; expiresAt: number; at: number; supernodes: string[] } | undefined;
  /** Leaf: the last supernode we stopped using, why, and when (clock ms). */
  lastDetach: { supernode: string; reason: string; at: number } | undefined;
  counters: OverlayCounters;
  /** LAN discovery's counters, when it runs (see mdns.ts `MdnsStats`). */
  lan?: object;
}

/** A lookup result for display (`tincan lookup --json`). */
export interface LookupEntry {
  name: string;
  id: string;
  publicKey: string;
  fingerprint: string;
  supernodes: string[];
  seq: number;
  expires: string;
}

/** Events of a node. */
export interface OverlayEvents {
  role: { role: OverlayRole; reason: string; score: number };
  attached: { supernode: string; count: number };
  detached: { supernode: string; reason: string; count: number };
  published: { seq: number; accepted: number; supernodes: string[] };
}

/** A signal envelope (structurally the call layer's SignalEnvelope). */
export interface OverlayEnvelope {
  from: string;
  to: string;
  callId: string;
  fromDevice?: string;
  toDevice?: string;
  sealed?: Uint8Array;
  notice?: 'tampered' | 'undeliverable';
}
