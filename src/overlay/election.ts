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
  /** Average load (percent of capacity) of our supernodes above which we promote (default 80). */
  overloadedPct: number;
  /** Rounds over budget before a demotion (default 3). */
  demoteAfterRounds: number;
  /** Load below which the over-budget count resets (fraction of budget; default 0.8). */
  recoverFraction: number;
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
  /** Average load (percent) reported by our supernodes; undefined if none. */
  averageLoadPct: number | undefined;
  /** Supernodes we wanted but could not attach to. */
  missingAttachments: number;
}

/** Why to promote, or undefined to stay a leaf. */
export function promotionReason(score: number, area: AreaView, p: ElectionPolicy = DEFAULT_ELECTION_POLICY): string | undefined {
  if (score < p.threshold) return undefined;
  if (area.knownSupernodes < p.minSupernodes) return `too few supernodes (${area.knownSupernodes} < ${p.minSupernodes}), score ${score}`;
  if (area.averageLoadPct !== undefined && area.averageLoadPct > p.overloadedPct) return `supernodes overloaded (${Math.round(area.averageLoadPct)}%), score ${score}`;
  if (area.missingAttachments > 0 && area.knownSupernodes < p.minSupernodes * 2) return `attachments missing (${area.missingAttachments}), score ${score}`;
  return undefined;
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
