/**
 * What a running node exposes to Prometheus: a per-node prom-client {@link Registry}
 * whose gauges and counters read the node when scraped (nothing is updated in the
 * background), all named `tincan_...` with HELP text, plus prom-client's standard
 * process metrics (`process_*`, `nodejs_*`: the names every Prometheus client uses, so
 * the usual dashboards work).
 *
 * Measured: the overlay (role, election score, reachability, attached supernodes, leaves,
 * sessions, routing table, stored records, host cache, every overlay counter), LAN
 * discovery's counters, calls (count by state; per active call its path, RTT, jitter,
 * loss, bitrate and MOS from the last per-second sample) and the TURN server's stats when
 * the node runs one (`tincan_turn_*`, present when the node was built with a TURN server). The HTTP side is metrics-server.ts.
 *
 * The source is structural, so this module needs nothing above the overlay: a
 * `TincanNode` fits, and so does `{ overlay: someOverlayNode }`.
 *
 * @example
 * ```ts
 * const metrics = new NodeMetrics(tincan);          // or new NodeMetrics({ overlay })
 * const text = await metrics.scrape();              // Prometheus text format
 * // tincan_overlay_attached_supernodes 3
 * // tincan_overlay_role{role="leaf"} 1 ...
 * ```
 * @module
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { OverlayCounters, OverlaySnapshot } from '../overlay/overlay-types.ts';
import type { CallSnapshot } from '../call/call.ts';
import type { TurnStats } from '../../supernodes/turn/server.ts';

/** Media figures of one call as the node's snapshot gives them (see src/node/snapshot.ts). */
export interface CallMediaFigures {
  path: string;
  rttMs?: number;
  jitterMs?: number;
  lossPct?: number;
  bitrateKbps?: number;
  mos?: number;
}

/** What metrics read; a `TincanNode` fits. Only `overlay` is required. */
export interface MetricsSource {
  overlay: { snapshot(): OverlaySnapshot };
  /** The composed node's view: calls and their last media figures. */
  snapshot?(): { calls: readonly CallSnapshot[]; media: Record<string, CallMediaFigures> };
  /** The TURN server on the node's port, when it runs one. */
  readonly turn?: { stats(): TurnStats } | undefined;
}

/** Options of {@link NodeMetrics}. */
export interface NodeMetricsOptions {
  /** Include prom-client's default process metrics (default true). */
  processMetrics?: boolean;
}

/** Overlay counters with their metric names and HELP text (a counter missing here is exported as `tincan_overlay_counter_total{counter}`). */
const OVERLAY_COUNTERS: Partial<Record<keyof OverlayCounters, [string, string]>> = {
  attaches: ['attaches', 'Attachments to a supernode that succeeded'],
  attachFailures: ['attach_failures', 'Attachments that failed or were refused (including supernodes without a valid proof of work)'],
  reattaches: ['reattaches', 'Times a lost supernode was replaced by another'],
  publishes: ['publishes', 'Presence records published'],
  lookups: ['lookups', 'Name lookups started'],
  searches: ['searches', 'Partial-name searches started'],
  signalsSent: ['signals_sent', 'Call signals sent'],
  signalsRelayed: ['signals_relayed', 'Call signals relayed for others (supernode)'],
  signalsDelivered: ['signals_delivered', 'Call signals delivered to an attached leaf (supernode)'],
  signalsRefused: ['signals_refused', 'Call signals refused (rate limit or unknown target)'],
  promotions: ['promotions', 'Promotions to supernode'],
  demotions: ['demotions', 'Demotions from supernode'],
  dialbacks: ['dialbacks', 'Reachability dial-backs answered'],
  leavesAccepted: ['leaves_accepted', 'Leaves accepted for attachment (supernode)'],
  leavesRefused: ['leaves_refused', 'Leaves refused for attachment (supernode)'],
  supernodesDistrusted: ['supernodes_distrusted', 'Supernodes dropped because they could not find our own fresh record (leaf)'],
};

const CALL_STATES = ['dialing', 'ringing', 'active', 'on-hold', 'ended'] as const;
const ROLES = ['starting', 'leaf', 'supernode'] as const;

/** See module docs. */
export class NodeMetrics {
  /** The per-node registry (never prom-client's global one). */
  readonly registry = new Registry();
  private current: { overlay: OverlaySnapshot; node: ReturnType<NonNullable<MetricsSource['snapshot']>> | undefined; turn: TurnStats | undefined } | undefined;

  constructor(
    private readonly source: MetricsSource,
    options: NodeMetricsOptions = {},
  ) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.overlayMetrics();
    this.lanMetrics();
    this.callMetrics();
    this.turnMetrics();
  }

  /** The Prometheus text exposition of every metric, read from the node now. */
  async scrape(): Promise<string> {
    this.current = this.read();
    try {
      return await this.registry.metrics();
    } finally {
      this.current = undefined;
    }
  }

  /** Content-Type of {@link scrape}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  // --- internals -------------------------------------------------------------------

  /** One reading of the node per scrape, shared by every metric. */
  private read() {
    return { overlay: this.source.overlay.snapshot(), node: this.source.snapshot?.(), turn: this.source.turn?.stats() };
  }

  private state() {
    return this.current ?? this.read();
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[], fill: (g: Gauge<L>, s: ReturnType<NodeMetrics['state']>) => void): void {
    const state = () => this.state();
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        fill(this, state());
      },
    });
  }

  /** A counter that mirrors a count kept by the node (set to it on every scrape). */
  private counter<L extends string>(name: string, help: string, labelNames: readonly L[], fill: (set: (labels: Partial<Record<L, string>>, value: number) => void, s: ReturnType<NodeMetrics['state']>) => void): void {
    const state = () => this.state();
    new Counter<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        fill((labels, value) => {
          if (Number.isFinite(value) && value >= 0) this.inc(labels as never, value);
        }, state());
      },
    });
  }

  private overlayMetrics(): void {
    this.gauge('tincan_node_info', 'This node: its overlay node ID and user key (value always 1)', ['id', 'user_key'], (g, s) => g.set({ id: s.overlay.id, user_key: s.overlay.userKey }, 1));
    this.gauge('tincan_overlay_role', 'Current overlay role: 1 for the role the node has, 0 for the others', ['role'], (g, s) => {
      for (const r of ROLES) g.set({ role: r }, s.overlay.role === r ? 1 : 0);
    });
    this.gauge('tincan_overlay_score', 'Election score (upstream, CPU headroom and uptime; higher is a better supernode)', [], (g, s) => g.set(s.overlay.score));
    this.gauge('tincan_overlay_reachable', '1 when a dial-back proved the node reachable from outside, 0 when not or not yet tested', [], (g, s) => g.set(s.overlay.reachable ? 1 : 0));
    this.gauge('tincan_overlay_attached_supernodes', 'Supernodes this node is attached to (leaf)', [], (g, s) => g.set(s.overlay.supernodes.length));
    this.gauge('tincan_overlay_supernode_rtt_seconds', 'Round-trip time to each attached supernode (leaf)', ['supernode'], (g, s) => {
      for (const sn of s.overlay.supernodes) if (sn.rttMs !== undefined) g.set({ supernode: sn.id.slice(0, 16) }, sn.rttMs / 1000);
    });
    this.gauge('tincan_overlay_leaves', 'Leaves attached to this node (supernode)', [], (g, s) => g.set(s.overlay.leaves));
    this.gauge('tincan_overlay_sessions', 'Open overlay sessions (Noise links to other nodes)', [], (g, s) => g.set(s.overlay.sessions));
    this.gauge('tincan_overlay_routing_table_size', 'Contacts in the DHT routing table (supernode)', [], (g, s) => g.set(s.overlay.tableSize));
    this.gauge('tincan_overlay_stored_records', 'Presence records stored in this DHT node (supernode)', [], (g, s) => g.set(s.overlay.storedRecords));
    this.gauge('tincan_overlay_host_cache_size', 'Supernode addresses in the host cache', [], (g, s) => g.set(s.overlay.hostCache));
    for (const [key, [name, help]] of Object.entries(OVERLAY_COUNTERS) as [keyof OverlayCounters, [string, string]][]) {
      this.counter(`tincan_overlay_${name}_total`, help, [], (set, s) => set({}, s.overlay.counters[key] ?? 0));
    }
    this.counter('tincan_overlay_counter_total', 'Overlay counters not exported under a name of their own', ['counter'], (set, s) => {
      for (const [k, v] of Object.entries(s.overlay.counters)) if (!(k in OVERLAY_COUNTERS) && typeof v === 'number') set({ counter: k }, v);
    });
  }

  private lanMetrics(): void {
    const lan = (s: ReturnType<NodeMetrics['state']>) => (s.overlay.lan ?? {}) as Record<string, unknown>;
    this.gauge('tincan_lan_discovery_enabled', '1 when LAN discovery (mDNS) runs', [], (g, s) => g.set(s.overlay.lan ? 1 : 0));
    this.counter('tincan_lan_events_total', 'LAN discovery (mDNS) events: queriesSent, queriesHeard, answersSent, queriesCoalesced, responsesSeen, found', ['event'], (set, s) => {
      for (const [k, v] of Object.entries(lan(s))) if (typeof v === 'number') set({ event: k }, v);
    });
    this.counter('tincan_lan_dropped_total', 'LAN discovery (mDNS) answers dropped, by reason', ['reason'], (set, s) => {
      const dropped = lan(s).dropped;
      if (dropped && typeof dropped === 'object') for (const [k, v] of Object.entries(dropped)) if (typeof v === 'number') set({ reason: k }, v);
    });
  }

  private callMetrics(): void {
    const live = (s: ReturnType<NodeMetrics['state']>) => (s.node?.calls ?? []).filter((c) => c.state !== 'ended');
    this.gauge('tincan_calls', 'Calls the node knows, by state (ended calls are kept for a while)', ['state'], (g, s) => {
      if (!s.node) return;
      for (const st of CALL_STATES) g.set({ state: st }, s.node.calls.filter((c) => c.state === st).length);
    });
    this.gauge('tincan_calls_active', 'Calls not ended (dialing, ringing, active or on hold)', [], (g, s) => g.set(live(s).length));
    const perCall = (name: string, help: string, value: (m: CallMediaFigures) => number | undefined) =>
      this.gauge(name, `${help} (last per-second sample of each call not ended)`, ['call', 'path'], (g, s) => {
        for (const c of live(s)) {
          const m = s.node?.media[c.callId];
          const v = m ? value(m) : undefined;
          if (m && v !== undefined && Number.isFinite(v)) g.set({ call: c.callId.slice(0, 16), path: m.path }, v);
        }
      });
    perCall('tincan_call_rtt_seconds', 'Round-trip time of the media path', (m) => (m.rttMs === undefined ? undefined : m.rttMs / 1000));
    perCall('tincan_call_jitter_seconds', 'Interarrival jitter of incoming audio', (m) => (m.jitterMs === undefined ? undefined : m.jitterMs / 1000));
    perCall('tincan_call_loss_ratio', 'Incoming packet loss, 0..1', (m) => (m.lossPct === undefined ? undefined : m.lossPct / 100));
    perCall('tincan_call_send_bitrate_bits_per_second', 'Outgoing audio bitrate', (m) => (m.bitrateKbps === undefined ? undefined : m.bitrateKbps * 1000));
    perCall('tincan_call_mos', 'MOS estimate (E-model), 1..4.5', (m) => m.mos);
  }

  private turnMetrics(): void {
    type T = ReturnType<NodeMetrics['state']>;
    const turnGauge = (name: string, help: string, v: (t: TurnStats) => number) => this.gauge(name, help, [], (g, s) => s.turn && g.set(v(s.turn)));
    const turnCounter = (name: string, help: string, v: (t: TurnStats) => number) => this.counter(name, help, [], (set, s) => s.turn && set({}, v(s.turn)));
    this.gauge('tincan_turn_enabled', '1 when the node runs a TURN server on its port', [], (g, s: T) => g.set(s.turn ? 1 : 0));
    // A node that cannot be a supernode (role never) has no TURN server, and no TURN series.
    if (!this.source.turn) return;
    turnGauge('tincan_turn_allocations', 'TURN allocations alive', (t) => t.allocations);
    turnGauge('tincan_turn_permissions', 'TURN permissions alive (over all allocations)', (t) => t.permissions);
    turnGauge('tincan_turn_channels', 'TURN channel bindings alive', (t) => t.channels);
    turnCounter('tincan_turn_allocations_created_total', 'TURN allocations created', (t) => t.allocationsCreated);
    turnCounter('tincan_turn_allocations_expired_total', 'TURN allocations that expired', (t) => t.allocationsExpired);
    turnCounter('tincan_turn_allocations_deleted_total', 'TURN allocations deleted by their client', (t) => t.allocationsDeleted);
    turnCounter('tincan_turn_permissions_created_total', 'TURN permissions created', (t) => t.permissionsCreated);
    turnCounter('tincan_turn_channels_created_total', 'TURN channel bindings created', (t) => t.channelsCreated);
    turnCounter('tincan_turn_binding_responses_total', 'STUN binding responses sent', (t) => t.bindingResponses);
    turnCounter('tincan_turn_hairpin_packets_total', 'Datagrams relayed between two allocations of this server in process', (t) => t.hairpinPackets);
    this.counter('tincan_turn_relayed_packets_total', 'Datagrams relayed by TURN, by direction (to_peer: from a client to its peer; to_client: back)', ['direction'], (set, s) => {
      if (!s.turn) return;
      set({ direction: 'to_peer' }, s.turn.relayedToPeerPackets);
      set({ direction: 'to_client' }, s.turn.relayedToClientPackets);
    });
    this.counter('tincan_turn_relayed_bytes_total', 'Bytes relayed by TURN, by direction', ['direction'], (set, s) => {
      if (!s.turn) return;
      set({ direction: 'to_peer' }, s.turn.relayedToPeerBytes);
      set({ direction: 'to_client' }, s.turn.relayedToClientBytes);
    });
    this.counter('tincan_turn_requests_total', 'STUN/TURN requests received, by method', ['method'], (set, s) => {
      for (const [k, v] of Object.entries(s.turn?.requests ?? {})) set({ method: k }, v);
    });
    this.counter('tincan_turn_errors_total', 'STUN/TURN error responses sent, by error code', ['code'], (set, s) => {
      for (const [k, v] of Object.entries(s.turn?.errors ?? {})) set({ code: k }, v);
    });
    this.counter('tincan_turn_drops_total', 'Datagrams the TURN server dropped, by reason', ['reason'], (set, s) => {
      for (const [k, v] of Object.entries(s.turn?.drops ?? {})) set({ reason: k }, v);
    });
  }
}
