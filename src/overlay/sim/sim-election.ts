/**
 * The supernode election of the simulator's stand-in nodes: every `auto` node runs the
 * real rule of election.ts (the one OverlayNode runs) once per round (`electionMs`, 60 s
 * as OverlayNode, each node at its own random phase), and the owner (scenario.ts) carries
 * out the promotions and demotions it decides.
 *
 * - A **leaf** scores itself with {@link electionScore}: reachable = its host is public
 *   (the stand-in takes reachability from the simulated topology instead of running the
 *   dial-back; OverlayNode's dial-back is tested on real network namespaces),
 *   upstream = its spec's uplink, CPU headroom 1, uptime since its session started. Its
 *   {@link AreaView} is what it knows: its attached supernodes and the host-cache entries
 *   seen and not failed (knownSupernodes), the area loads its supernodes reported in
 *   their attach answers and keepalive echoes (averageLoadPct; each supernode's estimate
 *   from the loads other supernodes report in DHT answers, area-load.ts), the
 *   attachments it lacks.
 *   {@link promotionReason} through a {@link PromotionGate} decides.
 * - A **supernode** (not a seed) feeds {@link DemotionTracker} its leaf count,
 *   `maxSessions`, the kbit/s its host sent over the round, its budget (`budgetShare` of
 *   its uplink) and CPU headroom 1. Any supernode, seeds too, moves the leaves beyond
 *   {@link leavesToShed}'s mark elsewhere.
 *
 * @module
 */
import type { Clock, Timer } from '../../clock.ts';
import type { Random } from '../../random.ts';
import type { SimHost } from '../../net/sim.ts';
import type { HostCache } from '../host-cache.ts';
import { type AreaView, areaViewOf, DEFAULT_ELECTION_POLICY, DemotionTracker, type ElectionPolicy, electionScore, leavesToShed, PromotionGate, promotionReason } from '../election.ts';

/** The area view of a leaf that cannot be promoted (promotionReason does not read it). */
const NO_AREA: AreaView = { knownSupernodes: 0, averageLoadPct: undefined, missingAttachments: 0 };

/** Tunables of the simulated election. */
export interface SimElectionConfig {
  policy: ElectionPolicy;
  /** Round period (ms; 60 s as OverlayNode). */
  electionMs: number;
  /** Leaves a supernode serves at most (its load is 100 x leaves / maxSessions). */
  maxSessions: number;
  /** A supernode's upstream budget as a share of its uplink (default 0.1). */
  budgetShare: number;
}

/** What the election reads of one node's session. */
export interface ElectedNode {
  readonly isSupernode: boolean;
  readonly host: SimHost;
  readonly hostCache: HostCache;
  /** Leaf: IDs (hex) of the attached supernodes. */
  attachedIds(): string[];
  /** Leaf: the area loads its supernodes reported (each one's `AreaLoad` estimate). */
  readonly areaLoads: readonly number[];
  /** Leaf: attachments it wanted and lacks. */
  readonly missingAttachments: number;
  /** Supernode: leaves attached. */
  readonly leafCount: number;
  /** Supernode: let `n` leaves go (they notice and attach elsewhere). */
  shedLeaves(n: number): void;
}

/** One session in the election: the node, its spec's figures, and what to do on a decision. */
export interface ElectionSession {
  node: ElectedNode;
  isPublic: boolean;
  uplinkKbps: number;
  /** When the session started (uptime is measured from here). */
  startedAt: number;
  /** A seed stays a supernode (`always`): it sheds leaves but is never demoted. */
  seed?: boolean;
  /** False once the session ended (its rounds stop). */
  live(): boolean;
  /** Restart the node as a supernode (leaf) for `reason`. */
  promote(reason: string): void;
  demote(reason: string): void;
}

/** Counters of the election. */
export interface ElectionCounts {
  promotions: number;
  demotions: number;
  /** Promotions by reason kind ("too few supernodes", "supernodes overloaded", ...). */
  promotionReasons: Record<string, number>;
  /** Demotions by reason kind ("sessions", "upstream", "CPU headroom"). */
  demotionReasons: Record<string, number>;
  /** Leaves supernodes moved elsewhere (load at `shedAbovePct`). */
  leavesShed: number;
  /** Most promotions within one round period (a stampede shows here). */
  maxPromotionsPerRound: number;
}

/** Runs every enrolled session's rounds; see module docs. */
export class SimElection {
  readonly config: SimElectionConfig;
  readonly counts: ElectionCounts = { promotions: 0, demotions: 0, promotionReasons: {}, demotionReasons: {}, leavesShed: 0, maxPromotionsPerRound: 0 };
  private readonly timers = new Set<Timer>();
  private roundIndex = -1;
  private inRound = 0;
  /** Promotions per round (round index = time / period), for combining shares' counts. */
  readonly promotionsByRound = new Map<number, number>();

  constructor(private readonly clock: Clock, private readonly random: Random, config: Partial<SimElectionConfig> & { maxSessions: number }) {
    this.config = { policy: DEFAULT_ELECTION_POLICY, electionMs: 60_000, budgetShare: 0.1, ...config };
  }

  /** Start `s`'s rounds (first one at a random phase of the period). */
  enroll(s: ElectionSession): void {
    const { electionMs, policy } = this.config;
    const gate = new PromotionGate(policy);
    const demotion = new DemotionTracker(policy);
    let sent = s.node.host.sentBytes;
    let sentAt = this.clock.now();
    let timer: Timer;
    const round = () => {
      this.timers.delete(timer);
      if (!s.live()) return;
      const now = this.clock.now();
      const n = s.node;
      if (n.isSupernode) {
        const bytes = n.host.sentBytes;
        const kbps = ((bytes - sent) * 8) / Math.max(1, now - sentAt);
        sent = bytes;
        sentAt = now;
        const why = s.seed ? undefined : demotion.update({ sessions: n.leafCount, maxSessions: this.config.maxSessions, sentKbps: kbps, budgetKbps: this.budgetKbps(s), cpuHeadroom: 1 });
        if (why) {
          this.counts.demotions++;
          count(this.counts.demotionReasons, demotionKind(why));
          s.demote(why);
          return;
        }
        const shed = leavesToShed(n.leafCount, this.config.maxSessions, policy);
        if (shed > 0) {
          this.counts.leavesShed += shed;
          n.shedLeaves(shed);
        }
      } else {
        const score = electionScore({ reachable: s.isPublic, upstreamKbps: s.uplinkKbps, cpuHeadroom: 1, uptimeMs: now - s.startedAt }, policy);
        // Below the threshold there is no reason whatever the area (most leaves: behind NAT): not worth a walk over the host cache.
        const area = score < policy.threshold ? NO_AREA : areaViewOf({ attachedIds: n.attachedIds(), cacheEntries: n.hostCache.all(), loads: n.areaLoads, missingAttachments: n.missingAttachments });
        const reason = gate.update(promotionReason(score, area, policy), () => this.random.float());
        if (reason) {
          this.counts.promotions++;
          count(this.counts.promotionReasons, reason.replace(/ \(.*$/, ''));
          const r = Math.floor(now / electionMs);
          if (r !== this.roundIndex) {
            this.roundIndex = r;
            this.inRound = 0;
          }
          this.inRound++;
          this.promotionsByRound.set(r, this.inRound);
          if (this.inRound > this.counts.maxPromotionsPerRound) this.counts.maxPromotionsPerRound = this.inRound;
          s.promote(`promoted: ${reason}`);
          return;
        }
      }
      timer = this.clock.setTimeout(round, electionMs);
      this.timers.add(timer);
    };
    timer = this.clock.setTimeout(round, this.random.float() * electionMs);
    this.timers.add(timer);
  }

  /** A supernode's upstream budget (kbit/s). */
  budgetKbps(s: { uplinkKbps: number }): number {
    return Math.round(this.config.budgetShare * s.uplinkKbps);
  }

  /** Stop every round. */
  close(): void {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }
}

function count(m: Record<string, number>, key: string): void {
  m[key] = (m[key] ?? 0) + 1;
}

function demotionKind(why: string): string {
  return why.includes('sessions') ? 'sessions' : why.includes('upstream') ? 'upstream' : 'CPU headroom';
}
