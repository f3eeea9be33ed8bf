/**
 * Liveness between a leaf and the supernodes it is attached to: the leaf notices a dead
 * supernode in a few seconds (not at its next 15-25 s keepalive), its NAT binding stays
 * open, and an idle leaf costs little.
 *
 * Each supernode sends each of its attached leaves a *heartbeat* every `periodMs` (2.5 s),
 * all of them at once on the multiples of the period of its clock ({@link nextBeatInMs}: one
 * wake-up a period for all its leaves, and with clocks in step a leaf's supernodes beat
 * together, so its checks of them fall together too). A leaf that hears
 * nothing at all from a supernode for a period and a grace (2.75 s) asks with a *probe*,
 * answered at once by an *echo*; `misses` silent checks in a row (the late heartbeat
 * and then unanswered probes, each given 3 RTT) make the supernode dead. Besides, the
 * leaf probes each supernode every `refreshMs` (15 s): that keeps its NAT binding open
 * (heartbeats come in, and only outgoing packets refresh a binding), tells the supernode
 * it is still there (a supernode stops heartbeating a leaf it has not heard from for
 * {@link leafSilentMs}), and measures the RTT.
 *
 * All three are tiny payloads inside the authenticated link (so they also refresh both
 * sides' idle timers). Heartbeats and echoes carry whether the leaf is still attached
 * there, the supernode's load and its estimate of its area's load (area-load.ts; a
 * two-byte echo without the area is still understood). None is a fragment (fragments
 * start with 0x01 and have a 9-byte header), so {@link probeChannel} takes them out of the
 * link before the message stack sees it.
 *
 * ```
 * probe      50
 * echo       51 | attached << 7 | load% (0-100) | area load% (0-100)
 * heartbeat  52 | attached << 7 | load% (0-100) | area load% (0-100)
 * ```
 *
 * On the wire (29 session bytes and 28 IP/UDP bytes each) a heartbeat is 60 bytes and a
 * probe with its echo 118: a leaf with 3 supernodes takes 3 x 60 / 2.5 + 3 x 118 / 15 =
 * 96 B/s, where probing each every 2.5 s took 142 B/s, in half the packets. A supernode
 * that sends no heartbeats (an older one) is simply probed after every silent period.
 *
 * Worst case from a crash to the verdict: the crash comes just after a heartbeat, the leaf
 * checks a period and the grace later and then waits `misses - 1` answer timeouts:
 * 2.5 + 0.25 + 2 x 0.7 = 4.15 s with the defaults, leaving time to re-attach within 5 s.
 *
 * @module
 */
import type { Clock, Timer } from '../clock.ts';
import type { MessageChannel } from '../wire/channel.ts';
import type { Random } from '../random.ts';
import type { OverlayLink } from './links.ts';

/** First byte of a probe. */
export const PROBE_BYTE = 0x50;
/** First byte of an echo. */
export const ECHO_BYTE = 0x51;
/** First byte of a heartbeat. */
export const HEARTBEAT_BYTE = 0x52;

const PROBE = new Uint8Array([PROBE_BYTE]);

/** A load as the wire carries it: a whole percent from 0 to 100. */
export const pct = (x: number): number => Math.max(0, Math.min(100, Math.round(x)));

/** The echo a supernode sends back. */
export function encodeEcho(attached: boolean, loadPct: number, areaLoadPct: number): Uint8Array {
  // Sized and filled, not from an array literal (several times cheaper: one per probe).
  return encodeEchoInto(new Uint8Array(3), attached, loadPct, areaLoadPct);
}

/** {@link encodeEcho} into `out` (3 bytes; returned), for a sender that reuses one buffer. */
export function encodeEchoInto(out: Uint8Array, attached: boolean, loadPct: number, areaLoadPct: number): Uint8Array {
  out[0] = ECHO_BYTE;
  out[1] = (attached ? 0x80 : 0) | pct(loadPct);
  out[2] = pct(areaLoadPct);
  return out;
}

/** The heartbeat a supernode sends an attached leaf once a period. */
export function encodeHeartbeat(loadPct: number, areaLoadPct: number): Uint8Array {
  return encodeHeartbeatInto(new Uint8Array(3), loadPct, areaLoadPct);
}

/** {@link encodeHeartbeat} into `out` (3 bytes; returned), for a sender that reuses one buffer. */
export function encodeHeartbeatInto(out: Uint8Array, loadPct: number, areaLoadPct: number): Uint8Array {
  encodeEchoInto(out, true, loadPct, areaLoadPct);
  out[0] = HEARTBEAT_BYTE;
  return out;
}

/** A parsed link probe, echo or heartbeat; undefined for anything else (e.g. a fragment). */
export type LinkProbe =
  | { type: 'probe' }
  | { type: 'echo' | 'heartbeat'; attached: boolean; load: number; area: number | undefined };

const PARSED_PROBE: LinkProbe = Object.freeze({ type: 'probe' });

/** Whether a link payload is a probe (cheaper than {@link parseLinkProbe} for a receiver that only answers them). */
export function isProbe(d: Uint8Array): boolean {
  return d.length === 1 && d[0] === PROBE_BYTE;
}

/**
 * An echo's or heartbeat's fields packed in one number, without allocating (for a receiver
 * of thousands a second): -1 when `d` is neither; else `heartbeat << 17 | attached << 16 |
 * load << 8 | area`, with area 255 when the echo has none. Read them with
 * {@link echoIsHeartbeat}, {@link echoAttached}, {@link echoLoad} and {@link echoArea}.
 */
export function packedEcho(d: Uint8Array): number {
  const n = d.length;
  if (n !== 3 && n !== 2) return -1;
  const first = d[0];
  if (first !== ECHO_BYTE && (first !== HEARTBEAT_BYTE || n !== 3)) return -1;
  const b = d[1]!;
  return (first === HEARTBEAT_BYTE ? 0x20000 : 0) | ((b & 0x80) << 9) | (Math.min(100, b & 0x7f) << 8) | (n === 3 ? Math.min(100, d[2]!) : 255);
}
/** Whether a {@link packedEcho} is a heartbeat (unasked) rather than an echo. */
export const echoIsHeartbeat = (packed: number): boolean => (packed & 0x20000) !== 0;
/** Whether a {@link packedEcho} says the leaf is still attached. */
export const echoAttached = (packed: number): boolean => (packed & 0x10000) !== 0;
/** A {@link packedEcho}'s load (0-100). */
export const echoLoad = (packed: number): number => (packed >> 8) & 0xff;
/** A {@link packedEcho}'s area load (0-100), or undefined when the echo had none. */
export const echoArea = (packed: number): number | undefined => ((packed & 0xff) === 255 ? undefined : packed & 0xff);

/** Parse a link payload as a probe, echo or heartbeat. */
export function parseLinkProbe(d: Uint8Array): LinkProbe | undefined {
  if (isProbe(d)) return PARSED_PROBE;
  const echo = packedEcho(d);
  if (echo < 0) return undefined;
  return { type: echoIsHeartbeat(echo) ? 'heartbeat' : 'echo', attached: echoAttached(echo), load: echoLoad(echo), area: echoArea(echo) };
}

/**
 * The link as a {@link MessageChannel} for the message stack, with probes, echoes and
 * heartbeats taken out and handed to `onProbe`.
 */
export function probeChannel(link: OverlayLink, onProbe: (p: LinkProbe) => void): MessageChannel {
  return {
    send: (payload) => link.send(payload),
    onMessage: (handler) => link.onMessage((payload) => {
      const p = payload.length <= 3 ? parseLinkProbe(payload) : undefined;
      if (p) onProbe(p);
      else handler(payload);
    }),
    close: () => link.close(),
    onClose: (handler) => link.onClose(handler),
  };
}

/** Timing of liveness (see module docs). */
export interface LivenessOptions {
  /** Heartbeat period of a supernode, and how long a leaf waits for the next (default 2500 ms). */
  periodMs: number;
  /** How late a heartbeat may be before the leaf probes (default 250 ms). */
  graceMs: number;
  /** A leaf probes each supernode at least this often (default 15 s, ±5%): NAT binding, presence, RTT. */
  refreshMs: number;
  /** Silent checks in a row that make the supernode dead: the late heartbeat, then unanswered probes (default 3). */
  misses: number;
  /** Bounds of a probe's answer timeout, 3 smoothed RTTs (default 350-700 ms). */
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

/** Defaults of {@link LivenessOptions}. */
export const DEFAULT_LIVENESS: Readonly<LivenessOptions> = Object.freeze({ periodMs: 2500, graceMs: 250, refreshMs: 15_000, misses: 3, minTimeoutMs: 350, maxTimeoutMs: 700 });

/** Milliseconds from `now` to a supernode's next heartbeat: the next multiple of the period. */
export function nextBeatInMs(now: number, o: Readonly<Pick<LivenessOptions, 'periodMs'>> = DEFAULT_LIVENESS): number {
  const p = o.periodMs;
  return p - (((now % p) + p) % p);
}

/** Longest time from a supernode's crash to a leaf's verdict with options `o` (module docs). */
export function deadWithinMs(o: Readonly<LivenessOptions> = DEFAULT_LIVENESS): number {
  return o.periodMs + o.graceMs + (o.misses - 1) * o.maxTimeoutMs;
}

/**
 * How long a supernode keeps heartbeating a leaf it has not heard from: two missed
 * refresh probes and a period (a leaf that hears no heartbeat probes, which starts them again).
 */
export function leafSilentMs(o: Readonly<LivenessOptions> = DEFAULT_LIVENESS): number {
  return 2 * o.refreshMs + o.periodMs;
}

/**
 * Whether a supernode still heartbeats a leaf it last heard from at `lastHeardAt`: not
 * once the leaf has been silent for `silentMs` ({@link leafSilentMs}).
 */
export function stillBeating(now: number, lastHeardAt: number, silentMs: number): boolean {
  return now - lastHeardAt <= silentMs;
}

/** How long to wait for an echo: 3 smoothed RTTs within the bounds (the longest before an RTT is known). */
export function answerTimeoutMs(srttMs: number | undefined, o: Pick<LivenessOptions, 'minTimeoutMs' | 'maxTimeoutMs'> = DEFAULT_LIVENESS): number {
  const base = srttMs === undefined ? o.maxTimeoutMs : 3 * srttMs;
  return Math.max(o.minTimeoutMs, Math.min(o.maxTimeoutMs, base));
}

/**
 * What a {@link LivenessProbe} reports. The probe comes last, so one events object can
 * serve all of a node's probes (the simulator's leaves: no closures per probe to fetch).
 */
export interface LivenessEvents<L extends ProbedLink = ProbedLink> {
  /** An echo or a heartbeat: smoothed RTT, and what the supernode said (area: its area-load estimate, if sent). */
  echo(rttMs: number, attached: boolean, load: number, area: number | undefined, probe: LivenessProbe<L>): void;
  /** `misses` checks in a row found the supernode silent. */
  dead(reason: string, probe: LivenessProbe<L>): void;
}

/** What a {@link LivenessProbe} needs of its link (an {@link OverlayLink}, or the simulator's). */
export type ProbedLink = Pick<OverlayLink, 'isClosed' | 'lastReceivedAt' | 'send'>;

/** What a {@link LivenessWatch} needs of a member: its place in the watch, and its check. */
export interface WatchedCheck {
  /** @internal The member's index in its watch (kept by the watch; -1 outside one). */
  watchSlot: number;
  runCheck(): void;
}

/**
 * One timer for many {@link LivenessProbe}s: it fires at the earliest check any of them
 * wants and runs the checks then due. Supernodes beat on the multiples of the period, so a
 * leaf's checks of its supernodes usually fall together: one wake-up a period. The times
 * are kept in one typed array beside the members, so a wake-up reads that array and only
 * the probes then due; a probe whose heartbeat came has pushed its check a period on (see
 * {@link LivenessProbe.onHeartbeat}) and is not touched. That lets one watch serve every
 * leaf of a simulated share (27,000 probes at 10,000 nodes) with one wake-up a period.
 *
 * @example
 * ```ts
 * const watch = new LivenessWatch(clock);  // one per node (or one for many)
 * new LivenessProbe(clock, random, link, DEFAULT_LIVENESS, events, undefined, watch).start();
 * ```
 */
export class LivenessWatch {
  private readonly members: WatchedCheck[] = [];
  /** When each member's next check is due, by slot (Infinity: none). */
  private due = new Float64Array(16);
  private timer: Timer | undefined;
  private spent: Timer | undefined;
  /** When the timer fires (Infinity: not armed). */
  private dueAt = Infinity;
  private running = false;

  constructor(private readonly clock: Clock) {}

  /** Probes watched (tests, diagnostics). */
  get size(): number {
    return this.members.length;
  }

  /** @internal `member` checks when it asks ({@link want}). */
  join(member: WatchedCheck): void {
    const slot = this.members.length;
    if (slot === this.due.length) {
      const due = new Float64Array(slot * 2);
      due.set(this.due);
      this.due = due;
    }
    this.members.push(member);
    this.due[slot] = Infinity;
    member.watchSlot = slot;
  }

  /** @internal `member` is done. */
  leave(member: WatchedCheck): void {
    const members = this.members;
    const i = member.watchSlot;
    if (i < 0 || members[i] !== member) return;
    const last = members.length - 1;
    const moved = members[last]!;
    members[i] = moved;
    this.due[i] = this.due[last]!;
    moved.watchSlot = i;
    members.pop();
    this.due[last] = Infinity;
    member.watchSlot = -1;
    if (members.length === 0) this.clear();
  }

  /** @internal When `member`'s next check is due (Infinity: none, or not a member). */
  dueOf(member: WatchedCheck): number {
    const i = member.watchSlot;
    return i >= 0 && this.members[i] === member ? this.due[i]! : Infinity;
  }

  /** @internal `member` wants its next check at `at` (replacing the one it wanted). */
  want(member: WatchedCheck, at: number): void {
    const i = member.watchSlot;
    if (i < 0 || this.members[i] !== member) return;
    this.due[i] = at;
    if (this.running || at >= this.dueAt) return;
    this.arm(at);
  }

  /** Stop every member's checks (the node is closing). */
  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.spent = undefined;
    this.dueAt = Infinity;
  }

  private arm(at: number): void {
    const spent = this.timer ?? this.spent;
    this.timer?.cancel();
    this.spent = undefined;
    this.dueAt = at;
    this.timer = this.clock.setTimeoutReusing(spent, this.onTimer, Math.max(0, at - this.clock.now()));
  }

  private readonly onTimer = (): void => {
    this.spent = this.timer;
    this.timer = undefined;
    this.dueAt = Infinity;
    const now = this.clock.now();
    const members = this.members;
    // Checks re-arm through want(): collected after the loop instead. A check may stop its
    // probe (dead), which moves the last member into its slot: walk backwards, so that the
    // one moved has been visited already.
    this.running = true;
    try {
      for (let i = members.length - 1; i >= 0; i--) {
        if (i >= members.length || !(this.due[i]! <= now)) continue;
        this.due[i] = Infinity;
        members[i]!.runCheck();
      }
    } finally {
      // Re-armed even if a check's handler threw: the other members go on.
      this.running = false;
      const due = this.due;
      let next = Infinity;
      for (let i = 0; i < members.length; i++) if (due[i]! < next) next = due[i]!;
      if (next < Infinity) this.arm(next);
    }
  };
}

/**
 * A leaf's watch over one supernode (see module docs): one check, timed for when the next
 * heartbeat is overdue, an answer timeout ends, or the next refresh probe is due; on its
 * own timer, or on its node's {@link LivenessWatch}.
 *
 * @example
 * ```ts
 * const probe = new LivenessProbe(clock, random, link, DEFAULT_LIVENESS, {
 *   echo: (rttMs, attached) => { if (!attached) reattach(); },
 *   dead: (reason) => replaceSupernode(reason),
 * });
 * probe.start();
 * // for each echo or heartbeat that arrives on the link:
 * probe.onEcho(attached, load, area); // or probe.onHeartbeat(load, area)
 * ```
 */
export class LivenessProbe<L extends ProbedLink = ProbedLink> {
  private timer: Timer | undefined;
  /** The timer that last fired, for the clock to reuse at the next arming. */
  private spent: Timer | undefined;
  /** When the probe now waiting for its echo went (-1: none waits). */
  private sentAt = -1;
  private misses = 0;
  private stopped = false;
  private started = false;
  /** When the next refresh probe is due (it goes at the first check after). */
  private refreshAt = 0;
  /** When the last heartbeat arrived (-Infinity: none yet). */
  private beatAt = -Infinity;
  /** On its own timer: when the next check is due (Infinity: none). On a watch, the watch keeps it. */
  private ownCheckAt = Infinity;
  /** @internal Its index in the watch (see {@link WatchedCheck}). */
  watchSlot = -1;
  /** Smoothed round-trip time (ms), once measured. */
  srttMs: number | undefined;
  /** Probes sent (tests, diagnostics). */
  sent = 0;
  /** Heartbeats heard (tests, diagnostics). */
  heartbeats = 0;
  /** What the last echo or heartbeat said: the supernode's load, and its area load (its load when it sent none); -1 before the first. */
  load = -1;
  area = -1;

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
    /** The link to the supernode. */
    readonly link: L,
    private readonly o: Readonly<LivenessOptions>,
    private readonly events: LivenessEvents<L>,
    initialRttMs?: number,
    /** The node's watch (one timer for all its probes); undefined: a timer of its own. */
    private readonly watch?: LivenessWatch,
  ) {
    this.srttMs = initialRttMs;
  }

  /** Start watching: the first probe goes at a random point of the first period (spreads the load, measures the RTT). */
  start(): void {
    if (this.stopped || this.started) return;
    this.started = true;
    this.watch?.join(this);
    this.refreshAt = this.clock.now() + this.random.float() * this.o.periodMs;
    this.arm(this.refreshAt - this.clock.now());
  }

  /** Stop for good (detached, closed). */
  stop(): void {
    if (!this.stopped && this.started) this.watch?.leave(this);
    this.stopped = true;
    this.ownCheckAt = Infinity;
    this.timer?.cancel();
    this.timer = undefined;
    this.spent = undefined;
  }

  /** The echo of a probe arrived. */
  onEcho(attached: boolean, load: number, area?: number): void {
    if (this.stopped) return;
    if (this.sentAt >= 0) {
      const rtt = this.clock.now() - this.sentAt;
      this.srttMs = this.srttMs === undefined ? rtt : Math.round(0.8 * this.srttMs + 0.2 * rtt);
      this.sentAt = -1;
      this.misses = 0;
    }
    this.said(attached, load, area);
  }

  /**
   * A heartbeat arrived (a probe waiting for its echo keeps waiting: the echo measures the
   * RTT). With no probe out, the check now pending could only find this heartbeat and arm
   * the next one, unless a refresh probe is due by then: so the next is armed here (the
   * same check at the same time, one step sooner), and a {@link LivenessWatch} skips this
   * probe at its next wake-up.
   */
  onHeartbeat(load: number, area?: number): void {
    if (this.stopped) return;
    this.heartbeats++;
    const now = this.clock.now();
    this.beatAt = now;
    if (this.started && this.sentAt < 0 && this.pendingCheckAt() < this.refreshAt) this.arm(this.o.periodMs + this.o.graceMs);
    this.said(true, load, area);
  }

  private pendingCheckAt(): number {
    return this.watch === undefined ? this.ownCheckAt : this.watch.dueOf(this);
  }

  private said(attached: boolean, load: number, area: number | undefined): void {
    this.load = load;
    this.area = area ?? load;
    this.events.echo(this.srttMs ?? 0, attached, load, area, this);
  }

  /** Arm the one timer `ms` from now (a fired timer is reused, a pending one cancelled). */
  private arm(ms: number): void {
    const watch = this.watch;
    if (watch !== undefined) return watch.want(this, this.clock.now() + Math.max(0, ms));
    const spent = this.timer ?? this.spent;
    this.timer?.cancel();
    this.spent = undefined;
    this.ownCheckAt = this.clock.now() + Math.max(0, ms);
    this.timer = this.clock.setTimeoutReusing(spent, this.onTimer, Math.max(0, ms));
  }

  private readonly onTimer = (): void => {
    this.spent = this.timer;
    this.timer = undefined;
    this.ownCheckAt = Infinity;
    this.check();
  };

  /** @internal The watch's timer: the check due now (the watch has cleared its time). */
  runCheck(): void {
    this.check();
  }

  private check(): void {
    if (this.stopped) return;
    if (this.link.isClosed) return this.die('link closed');
    const o = this.o;
    const now = this.clock.now();
    const heard = this.link.lastReceivedAt();
    if (this.sentAt >= 0) {
      // A probe's answer timeout: anything at all heard since it went means alive.
      if (heard >= this.sentAt) {
        this.sentAt = -1;
        this.misses = 0;
      } else {
        if (++this.misses >= o.misses) return this.die(`silent: ${this.misses} checks`);
        return this.probe();
      }
    } else if (now - heard >= o.periodMs + o.graceMs) {
      // The heartbeat is late: the first miss. Ask.
      if (++this.misses >= o.misses) return this.die(`silent: ${this.misses} checks`);
      return this.probe();
    }
    if (now >= this.refreshAt) return this.probe();
    this.armNextCheck(now, heard);
  }

  /**
   * The next check: when the heartbeat after the last one is late, or (a supernode that
   * sends none) when the link has been silent that long. Supernodes beat on the clock's
   * multiples of the period, so a leaf's checks for its supernodes fall together.
   */
  private armNextCheck(now: number, heard: number): void {
    const span = this.o.periodMs + this.o.graceMs;
    this.arm((this.beatAt + span > now ? this.beatAt : heard) + span - now);
  }

  private probe(): void {
    const now = this.clock.now();
    this.sentAt = now;
    this.refreshAt = now + this.o.refreshMs * (0.95 + 0.1 * this.random.float());
    this.sent++;
    this.link.send(PROBE);
    if (this.stopped) return;
    // An echo may arrive within the send (the simulator's instant path): then no answer timeout is needed.
    if (this.sentAt >= 0) this.arm(answerTimeoutMs(this.srttMs, this.o));
    else this.armNextCheck(now, this.link.lastReceivedAt());
  }

  private die(reason: string): void {
    this.stop();
    this.events.dead(reason, this);
  }
}
