/**
 * The simulated supernodes' heartbeats (liveness.ts), sent for all of a share's supernodes
 * at once. Every supernode beats on the multiples of the period, so in the simulation all
 * of them beat at the same instant; {@link SimHeartbeats} fires that instant once and sends
 * its heartbeats ordered by the leaf they go to. Each supernode still decides whom it beats
 * and with what ({@link HeartbeatSource}: its attached leaves, its load and area load), and
 * the same datagrams take the same path; only the order within the instant is the
 * simulator's. A leaf's heartbeats then arrive one after another, so its NAT, host, socket
 * and node are read from memory once per instant rather than once per supernode: at 10,000
 * nodes, those reads missing the CPU cache were most of a heartbeat's cost.
 *
 * @example
 * ```ts
 * const heartbeats = new SimHeartbeats(clock, DEFAULT_LIVENESS);
 * heartbeats.add(supernode); // a HeartbeatSource; heartbeats.delete(supernode) when it leaves
 * ```
 * @module
 */
import type { Clock, Timer } from '../../clock.ts';
import { encodeHeartbeatInto, leafSilentMs, type LivenessOptions, nextBeatInMs, stillBeating } from '../liveness.ts';
import type { SimLink } from './sim-links.ts';

/** A supernode, as {@link SimHeartbeats} asks it for its heartbeats. */
export interface HeartbeatSource {
  /** Add a heartbeat to `batch` for every attached leaf (`batch.add`): the leaf's index, its link, and this supernode's load and area load. */
  collectHeartbeats(batch: HeartbeatBatch): void;
}

/** At most this many heartbeats an instant per share (beyond any share's size). */
const MAX_ENTRIES = 2 ** 20;

/** One instant's heartbeats, kept in the order the sources add them and sent ordered by leaf. */
export class HeartbeatBatch {
  private leaves = new Int32Array(4096);
  private links: (SimLink | undefined)[] = [];
  private loads = new Uint8Array(4096);
  private areas = new Uint8Array(4096);
  private n = 0;
  /** Highest leaf index added this instant. */
  private maxLeaf = 0;
  /** Counting sort's scratch: entries per leaf, then where each leaf's entries start. */
  private starts = new Int32Array(1024);
  /** Entry indices ordered by leaf. */
  private order = new Int32Array(4096);

  /** Heartbeats added so far. */
  get size(): number {
    return this.n;
  }

  /** A heartbeat to leaf `leaf` (a node index) over `link`, saying `load` and `area` (percent). */
  add(leaf: number, link: SimLink, load: number, area: number): void {
    const i = this.n;
    if (i >= MAX_ENTRIES) return; // beyond any share's size: dropped rather than kept without bound
    if (i === this.leaves.length) this.grow();
    this.leaves[i] = leaf;
    this.links[i] = link;
    this.loads[i] = load;
    this.areas[i] = area;
    if (leaf > this.maxLeaf) this.maxLeaf = leaf;
    this.n = i + 1;
  }

  /**
   * Send every heartbeat, ordered by leaf (then in the order added), to the links still
   * open that heard from their leaf within `silentMs` (a supernode does not beat a leaf
   * gone silent; liveness.ts).
   */
  sendAll(now: number, silentMs: number, scratch: Uint8Array): number {
    const n = this.n;
    const order = this.sortByLeaf(n);
    let sent = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      const link = this.links[i]!;
      this.links[i] = undefined;
      if (link.closed || !stillBeating(now, link.lastReceived, silentMs)) continue;
      link.send(encodeHeartbeatInto(scratch, this.loads[i]!, this.areas[i]!));
      sent++;
    }
    this.n = 0;
    this.maxLeaf = 0;
    return sent;
  }

  /** The first `n` entries' indices ordered by leaf, stable (a counting sort: node indices are small). */
  private sortByLeaf(n: number): Int32Array {
    const leaves = this.leaves;
    const buckets = this.maxLeaf + 2;
    if (this.starts.length < buckets) this.starts = new Int32Array(Math.max(buckets, 2 * this.starts.length));
    const starts = this.starts;
    starts.fill(0, 0, buckets);
    for (let i = 0; i < n; i++) starts[leaves[i]! + 1]!++;
    for (let b = 1; b < buckets; b++) starts[b]! += starts[b - 1]!;
    const order = this.order;
    for (let i = 0; i < n; i++) order[starts[leaves[i]!]!++] = i;
    return order;
  }

  private grow(): void {
    const size = this.leaves.length * 2;
    const leaves = new Int32Array(size);
    leaves.set(this.leaves);
    this.leaves = leaves;
    this.order = new Int32Array(size);
    const loads = new Uint8Array(size);
    loads.set(this.loads);
    this.loads = loads;
    const areas = new Uint8Array(size);
    areas.set(this.areas);
    this.areas = areas;
  }
}

/** See module docs. */
export class SimHeartbeats {
  private readonly sources = new Set<HeartbeatSource>();
  private readonly batch = new HeartbeatBatch();
  /** SimLinks copies a payload into the DATA packet: one buffer serves every heartbeat. */
  private readonly scratch = new Uint8Array(3);
  private timer: Timer | undefined;
  /** Heartbeats sent so far (diagnostics, tests). */
  sent = 0;

  constructor(
    private readonly clock: Clock,
    private readonly o: Readonly<LivenessOptions>,
  ) {}

  /** Supernodes beating (tests, diagnostics). */
  get size(): number {
    return this.sources.size;
  }

  /** `source` beats from the next multiple of the period on. */
  add(source: HeartbeatSource): void {
    this.sources.add(source);
    this.timer ??= this.clock.setTimeout(this.first, nextBeatInMs(this.clock.now(), this.o));
  }

  /** `source` beats no more; the timer stops with the last one. */
  delete(source: HeartbeatSource): void {
    this.sources.delete(source);
    if (this.sources.size === 0) {
      this.timer?.cancel();
      this.timer = undefined;
    }
  }

  private readonly first = (): void => {
    this.timer = this.clock.setInterval(this.beat, this.o.periodMs);
    this.beat();
  };

  private readonly beat = (): void => {
    const batch = this.batch;
    for (const s of this.sources) s.collectHeartbeats(batch);
    this.sent += batch.sendAll(this.clock.now(), leafSilentMs(this.o), this.scratch);
  };
}
