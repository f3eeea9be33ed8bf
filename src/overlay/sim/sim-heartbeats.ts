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
import { encodeHeartbeatInto, leafSilentMs, type LivenessOptions, nextBeatInMs } from '../liveness.ts';
import type { SimLink } from './sim-links.ts';

/** A supernode, as {@link SimHeartbeats} asks it for its heartbeats. */
export interface HeartbeatSource {
  /** Add a heartbeat to `batch` for every attached leaf (`batch.add`): the leaf's index, its link, and this supernode's load and area load. */
  collectHeartbeats(batch: HeartbeatBatch): void;
}

/** Entries (and their index bits in a sort key): at most 2^20 heartbeats an instant per share. */
const INDEX_BITS = 2 ** 20;

/** One instant's heartbeats, in the order the sources added them until sorted. */
export class HeartbeatBatch {
  /** `leaf × 2^20 + entry`: sorting these orders the entries by leaf (then source order). */
  private keys = new Float64Array(4096);
  private links: (SimLink | undefined)[] = [];
  private loads = new Uint8Array(4096);
  private areas = new Uint8Array(4096);
  private n = 0;

  /** Heartbeats added so far. */
  get size(): number {
    return this.n;
  }

  /** A heartbeat to leaf `leaf` over `link`, saying `load` and `area` (percent). */
  add(leaf: number, link: SimLink, load: number, area: number): void {
    const i = this.n;
    if (i >= INDEX_BITS) return; // beyond any share's size: dropped rather than misordered
    if (i === this.keys.length) this.grow();
    this.keys[i] = leaf * INDEX_BITS + i;
    this.links[i] = link;
    this.loads[i] = load;
    this.areas[i] = area;
    this.n = i + 1;
  }

  /**
   * Send every heartbeat, ordered by leaf, to the links still open that heard from their
   * leaf within `silentMs` (a supernode does not beat a leaf gone silent; liveness.ts).
   */
  sendAll(now: number, silentMs: number, scratch: Uint8Array): number {
    const n = this.n;
    const keys = this.keys.subarray(0, n).sort();
    let sent = 0;
    for (let k = 0; k < n; k++) {
      const i = keys[k]! % INDEX_BITS;
      const link = this.links[i]!;
      this.links[i] = undefined;
      if (link.closed || now - link.lastReceived > silentMs) continue;
      link.send(encodeHeartbeatInto(scratch, this.loads[i]!, this.areas[i]!));
      sent++;
    }
    this.n = 0;
    return sent;
  }

  private grow(): void {
    const size = this.keys.length * 2;
    const keys = new Float64Array(size);
    keys.set(this.keys);
    this.keys = keys;
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
