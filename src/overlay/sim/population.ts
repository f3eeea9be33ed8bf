/**
 * The simulated population: who the nodes are (identities minted from the seed, proof of
 * work for supernode candidates), where they sit (public hosts with their own /24, or one
 * host behind a home NAT of one of the four kinds), and what their access links are
 * like (heterogeneous, lognormal uplinks; asymmetric downlinks; a few ms of access
 * latency and jitter).
 *
 * Every draw comes from the {@link Random} given, so a seed fixes the whole population.
 * @module
 */
import type { Random } from '../../random.ts';
import { type NatKind, type SimHost, type SimNet } from '../../net/sim.ts';
import { nativeIdentity } from './native-ed25519.ts';
import { mintProofOfWork, verifyProofOfWork, POW_NONCE_BYTES } from '../proof-of-work.ts';
import type { NodeSpec } from './sim-world.ts';

/** NAT kinds with their share among NATed nodes (home routers are mostly port-restricted). */
export const NAT_MIX: readonly [NatKind, number][] = [
  ['full-cone', 0.2],
  ['address-restricted', 0.2],
  ['port-restricted', 0.4],
  ['symmetric', 0.2],
];

/** A standard normal draw (Box-Muller). */
export function normal(random: Random): number {
  const u = 1 - random.float();
  const v = random.float();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A lognormal draw with the given median and log-space sigma. */
export function lognormal(random: Random, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(random));
}

/** Uplink in kbit/s: lognormal, median 10 Mbit/s for public hosts and 2 Mbit/s at home. */
export function drawUplinkKbps(random: Random, isPublic: boolean): number {
  const v = lognormal(random, isPublic ? 10_000 : 2_000, 0.9);
  return Math.round(Math.min(200_000, Math.max(256, v)));
}

/** Options for {@link Population}. */
export interface PopulationOptions {
  net: SimNet;
  random: Random;
  /** Required PoW bits of supernode IDs. */
  powDifficulty: number;
  /**
   * Draws for placing hosts (default `random`). A split simulation mints the same nodes
   * in every share (`random`, the same stream) and places only its own (its own stream).
   */
  placeRandom?: Random;
  /** A split simulation's share: its addresses come from their own blocks (default 0). */
  share?: number;
}

/** Mints specs and places hosts; see module docs. */
export class Population {
  private publicCount = 0;
  private natCount = 0;
  private readonly net: SimNet;
  private readonly random: Random;
  private readonly placeRandom: Random;
  private readonly difficulty: number;
  /** First octet offset of this share's address blocks. */
  private readonly block: number;
  private readonly split: boolean;

  constructor(options: PopulationOptions) {
    this.net = options.net;
    this.random = options.random;
    this.placeRandom = options.placeRandom ?? options.random;
    this.difficulty = options.powDifficulty;
    this.block = 8 * (options.share ?? 0);
    this.split = options.share !== undefined;
  }

  /**
   * A new node: identity from the seed, a proof of work if it is public (honest, or an
   * attacker paying the work cost), a nonce that fails verification for a cheap attacker.
   */
  mint(index: number, isPublic: boolean, attacker: 'no' | 'paid' | 'cheap' = 'no', random: Random = this.random): NodeSpec {
    const r = random;
    const identity = nativeIdentity(r); // as Identity.generate(r), on the platform's Ed25519
    let pow: Uint8Array = new Uint8Array(POW_NONCE_BYTES);
    if (attacker === 'cheap') {
      while (verifyProofOfWork(identity.publicKey, pow, this.difficulty)) pow = r.bytes(POW_NONCE_BYTES);
    } else if (isPublic) {
      pow = mintProofOfWork(identity.publicKey, this.difficulty);
    }
    return {
      index,
      name: `${attacker === 'no' ? 'node' : 'sybil'}-${index}`,
      identity,
      pow,
      isPublic,
      uplinkKbps: drawUplinkKbps(r, isPublic),
      attacker: attacker !== 'no',
      host: undefined,
      contact: undefined,
      sessions: 0,
      seq: 1,
    };
  }

  /**
   * Put `spec` on the network for a new session: a fresh address (a public one in its
   * own /24, or a new home NAT), and its access link. Returns the host.
   */
  place(spec: NodeSpec): SimHost {
    const r = this.placeRandom;
    const link = {
      uplinkKbps: spec.uplinkKbps,
      downlinkKbps: spec.uplinkKbps * (spec.isPublic ? 2 : 8),
      latencyMs: 1 + Math.round(r.float() * 15),
      jitterMs: 1,
      queueBytes: 64 * 1024,
    };
    let host: SimHost;
    if (spec.isPublic) {
      const p = this.publicCount++;
      if (this.split && p >= 8 << 16) throw new RangeError('a share placed more than 524,288 public hosts: its address block is full');
      host = this.net.addHost(`${20 + this.block + (p >> 16)}.${(p >> 8) & 255}.${p & 255}.10`, link);
    } else {
      const q = this.natCount++;
      if (this.split && q >= 8 << 16) throw new RangeError('a share placed more than 524,288 NATs: its address block is full');
      let x = r.float();
      let kind: NatKind = 'port-restricted';
      for (const [k, share] of NAT_MIX) {
        if (x < share) {
          kind = k;
          break;
        }
        x -= share;
      }
      const timeouts = [30_000, 60_000, 120_000];
      const nat = this.net.addNat(`${100 + this.block + (q >> 16)}.${(q >> 8) & 255}.${q & 255}.1`, { kind, bindingTimeoutMs: timeouts[r.int(3)]!, latencyMs: 1 + r.int(4) });
      host = this.net.addHost('192.168.1.2', { ...link, nat });
    }
    spec.host = host;
    spec.sessions++;
    return host;
  }

  /** Take `spec` off the network (its host, and its NAT if it had one). */
  remove(spec: NodeSpec): void {
    const host = spec.host;
    if (!host) return;
    host.close();
    if (host.nat) this.net.removeNat(host.nat);
  }
}
