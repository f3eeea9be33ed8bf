/**
 * Supernode election, as pure decisions: a candidate's score from its measured
 * upstream, CPU headroom and uptime; whether an `auto` node should be promoted (eligible
 * and the supernodes near it are too few or overloaded) or demoted (over its budget or
 * overloaded for several rounds in a row: hysteresis).
 *
 * @module
 */

/** Measurements of one election round. */
export interface ElectionInputs {
  /** A supernode's dial-back from another address reached us and we are not behind NAT. */
  reachable: boolean;
  /** Measured upstream, kbit/s. */
  upstreamKbps: number;
  /** CPU headroom 0..1 (1 = idle). */
  cpuHeadroom: number;
  /** Time since start, ms. */
  uptimeMs: number;
}

/** Tunables of the election. */
export interface ElectionPolicy {
  /** Score needed to be eligible (0..100; default 75). */
  threshold: number;
  /** Upstream that earns the full bandwidth share (kbit/s; default 2000). */
  fullUpstreamKbps: number;
  /** Uptime that earns the full uptime share (ms; default 10 min). */
  fullUptimeMs: number;
  /** Fewer known live supernodes than this: promote an eligible node (default 3). */
  minSupernodes: number;
  /**
   * Area load (percent of capacity) above which we promote (default 80): the average of
   * what our supernodes report as their area's load (area-load.ts), not their own loads.
   */
  overloadedPct: number;
  /** Rounds over budget before a demotion (default 3). */
  demoteAfterRounds: number;
  /** Load below which the over-budget count resets (fraction of budget; default 0.8). */
  recoverFraction: number;
  /**
   * Rounds in a row a leaf must see its supernodes overloaded (or its attachments
   * missing) before it may promote itself for that (default 2): one busy round is not a
   * shortage.
   */
  promoteAfterRounds: number;
  /**
   * Once that has held long enough, the chance per round that this leaf promotes itself
   * (default 0.1). Every eligible leaf of a busy area sees the same loads in the same
   * minute; without the draw they would all promote at once (a stampede).
   */
  promoteChance: number;
  /**
   * A supernode above this load (percent of maxSessions; default 100) moves the leaves
   * beyond it elsewhere, once per round: with the default only when its capacity shrank
   * under its leaves. (Before leaves judged the area by the area load, a mark of 80 kept
   * busy supernodes' leaves from promoting, at the cost of moving each leaf about three
   * times an hour.)
   */
  shedAbovePct: number;
}

/** Defaults of {@link ElectionPolicy}. */
export const DEFAULT_ELECTION_POLICY: ElectionPolicy = {
  threshold: 75,
  fullUpstreamKbps: 2000,
  fullUptimeMs: 10 * 60_000,
  minSupernodes: 3,
  overloadedPct: 80,
  demoteAfterRounds: 3,
  recoverFraction: 0.8,
  promoteAfterRounds: 2,
  promoteChance: 0.1,
  shedAbovePct: 100,
};

/** Score 0..100: 40 bandwidth, 30 CPU, 30 uptime. Unreachable nodes score 0. */
export function electionScore(x: ElectionInputs, p: ElectionPolicy = DEFAULT_ELECTION_POLICY): number {
  if (!x.reachable) return 0;
  const bw = Math.min(1, Math.max(0, x.upstreamKbps / p.fullUpstreamKbps));
  const cpu = Math.min(1, Math.max(0, x.cpuHeadroom));
  const up = Math.min(1, Math.max(0, x.uptimeMs / p.fullUptimeMs));
  return Math.round(40 * bw + 30 * cpu + 30 * up);
}

/** What a leaf in `auto` knows about the supernodes near it. */
export interface AreaView {
  /** Distinct live supernodes known (attached, answering, or verified in the host cache). */
  knownSupernodes: number;
  /** Average of the area loads (percent) our supernodes reported; undefined if none. */
  averageLoadPct: number | undefined;
  /** Supernodes we wanted but could not attach to. */
  missingAttachments: number;
}

const TOO_FEW = 'too few supernodes';

/** What a leaf knows, from which {@link areaViewOf} builds its {@link AreaView}. */
export interface LeafKnowledge {
  /** IDs of the supernodes it is attached to. */
  attachedIds: Iterable<string>;
  /** Its host-cache entries, IDs distinct (those seen and not failed count as known supernodes). */
  cacheEntries: Iterable<{ id: string; lastSeen: number; failures: number }>;
  /** Area loads (percent) its supernodes reported. */
  loads: readonly number[];
  missingAttachments: number;
}

/**
 * A leaf's {@link AreaView}: distinct known supernodes, their average reported area load,
 * attachments missing. An attachment the leaf wanted and found no room for counts as a
 * report of a full area (100%): a leaf that every supernode refused has no reports at all,
 * and is exactly the one that should see its area as overloaded.
 */
export function areaViewOf(k: LeafKnowledge): AreaView {
  // Each leaf runs this every election round over its whole cache: count, without a set of it.
  const attached = new Set(k.attachedIds);
  let known = attached.size;
  for (const e of k.cacheEntries) if (e.lastSeen > 0 && e.failures === 0 && !attached.has(e.id)) known++;
  const n = k.loads.length + k.missingAttachments;
  const averageLoadPct = n > 0 ? (k.loads.reduce((a, b) => a + b, 0) + 100 * k.missingAttachments) / n : undefined;
  return { knownSupernodes: known, averageLoadPct, missingAttachments: k.missingAttachments };
}

/** Why to promote, or undefined to stay a leaf. */
export function promotionReason(score: number, area: AreaView, p: ElectionPolicy = DEFAULT_ELECTION_POLICY): string | undefined {
  if (score < p.threshold) return undefined;
  if (area.knownSupernodes < p.minSupernodes) return `${TOO_FEW} (${area.knownSupernodes} < ${p.minSupernodes}), score ${score}`;
  if (area.averageLoadPct !== undefined && area.averageLoadPct > p.overloadedPct) return `supernodes overloaded (${Math.round(area.averageLoadPct)}%), score ${score}`;
  if (area.missingAttachments > 0 && area.knownSupernodes < p.minSupernodes * 2) return `attachments missing (${area.missingAttachments}), score ${score}`;
  return undefined;
}

/**
 * Damping of promotions: {@link promotionReason}'s overload and missing-attachment
 * reasons count only once one of them has held for `promoteAfterRounds` rounds in a row,
 * and then promote with chance `promoteChance` per round. Too few supernodes known passes
 * at once: there is nobody else to wait for.
 */
export class PromotionGate {
  private held = 0;
  constructor(private readonly p: ElectionPolicy = DEFAULT_ELECTION_POLICY) {}

  /** Rounds in a row with an overload reason. */
  get rounds(): number {
    return this.held;
  }

  /** The reason to promote now, or undefined; `draw` gives a uniform number in [0, 1). */
  update(reason: string | undefined, draw: () => number): string | undefined {
    if (reason === undefined) {
      this.held = 0;
      return undefined;
    }
    if (reason.startsWith(TOO_FEW)) return reason;
    this.held++;
    if (this.held < this.p.promoteAfterRounds) return undefined;
    return draw() < this.p.promoteChance ? `${reason}, for ${this.held} rounds` : undefined;
  }
}

/** How many of its `sessions` leaves a supernode should move elsewhere this round (see `shedAbovePct`). */
export function leavesToShed(sessions: number, maxSessions: number, p: ElectionPolicy = DEFAULT_ELECTION_POLICY): number {
  return Math.max(0, sessions - Math.floor((maxSessions * p.shedAbovePct) / 100));
}

/** Load of a supernode in one round. */
export interface SupernodeLoad {
  sessions: number;
  maxSessions: number;
  sentKbps: number;
  budgetKbps: number;
  cpuHeadroom: number;
}

/**
 * Hysteresis: counts consecutive rounds over budget (sessions, bandwidth or CPU);
 * `update` returns the reason to demote once `demoteAfterRounds` is reached.
 */
export class DemotionTracker {
  private over = 0;
  constructor(private readonly p: ElectionPolicy = DEFAULT_ELECTION_POLICY) {}

  /** Rounds over budget in a row. */
  get rounds(): number {
    return this.over;
  }

  update(l: SupernodeLoad): string | undefined {
    const why = l.sessions > l.maxSessions ? `sessions ${l.sessions} > max ${l.maxSessions}`
      : l.sentKbps > l.budgetKbps ? `upstream ${Math.round(l.sentKbps)} kbit/s > budget ${l.budgetKbps}`
      : l.cpuHeadroom < 0.1 ? `CPU headroom ${Math.round(l.cpuHeadroom * 100)}%`
      : undefined;
    if (why) {
      this.over++;
      return this.over >= this.p.demoteAfterRounds ? `overloaded: ${why} for ${this.over} rounds` : undefined;
    }
    const calm = l.sessions <= l.maxSessions * this.p.recoverFraction && l.sentKbps <= l.budgetKbps * this.p.recoverFraction;
    if (calm) this.over = 0;
    return undefined;
  }
}
