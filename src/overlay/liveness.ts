/**
 * Liveness probes between a leaf and the supernodes it is attached to: the leaf notices a
 * dead supernode in a few seconds (not at its next 15-25 s keepalive) and its NAT binding
 * stays open.
 *
 * A probe is one byte inside the authenticated link (so it also refreshes both sides' idle
 * timers), answered by a three-byte echo carrying whether the leaf is still attached there,
 * the supernode's load and its estimate of its area's load (area-load.ts; a two-byte echo
 * without it is still understood). Neither is a fragment (fragments start with 0x01 and have a
 * 9-byte header), so {@link probeChannel} takes them out of the link before the message
 * stack sees it. With 58 + 60 bytes on the wire per round (29 session bytes and 28 IP/UDP
 * bytes each way), probing each of 3 supernodes every 2.5 s costs about 140 B/s.
 *
 * ```
 * probe  50
 * echo   51 | attached << 7 | load% (0-100) | area load% (0-100)
 * ```
 *
 * {@link LivenessProbe} (one per attached supernode): a probe every `periodMs` (±5%);
 * an unanswered one is repeated after a timeout of 3 RTT (bounded), and the
 * supernode is declared dead after `misses` unanswered probes in a row, unless anything at
 * all arrived on the link meanwhile. Worst case from the crash to the verdict:
 * `periodMs + misses × timeout`.
 *
 * A node gives all its probes one {@link ProbeSchedule}: a random *phase* and one timer.
 * Each answered probe's successor then goes at the next instant `phase + k × periodMs`, so
 * the node's probes to its supernodes go out together, one wake-up a period instead of one
 * per supernode (the phase, random per node, keeps nodes apart as the jitter did). Answer
 * timeouts stay each probe's own.
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

const PROBE = new Uint8Array([PROBE_BYTE]);

const pct = (x: number) => Math.max(0, Math.min(100, Math.round(x)));

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

/** A parsed link probe or echo; undefined for anything else (e.g. a fragment). */
export type LinkProbe = { type: 'probe' } | { type: 'echo'; attached: boolean; load: number; area: number | undefined };

const PARSED_PROBE: LinkProbe = Object.freeze({ type: 'probe' });

/** Whether a link payload is a probe (cheaper than {@link parseLinkProbe} for a receiver that only answers them). */
export function isProbe(d: Uint8Array): boolean {
  return d.length === 1 && d[0] === PROBE_BYTE;
}

/**
 * An echo's fields packed in one number, without allocating (for a receiver of thousands
 * a second): -1 when `d` is not an echo; else `attached << 16 | load << 8 | area`, with
 * area 255 when the echo has none. Read them with {@link echoAttached}, {@link echoLoad}
 * and {@link echoArea}.
 */
export function packedEcho(d: Uint8Array): number {
  if ((d.length !== 2 && d.length !== 3) || d[0] !== ECHO_BYTE) return -1;
  const b = d[1]!;
  return ((b & 0x80) << 9) | (Math.min(100, b & 0x7f) << 8) | (d.length === 3 ? Math.min(100, d[2]!) : 255);
}
/** Whether a {@link packedEcho} says the leaf is still attached. */
export const echoAttached = (packed: number): boolean => (packed & 0x10000) !== 0;
/** A {@link packedEcho}'s load (0-100). */
export const echoLoad = (packed: number): number => (packed >> 8) & 0xff;
/** A {@link packedEcho}'s area load (0-100), or undefined when the echo had none. */
export const echoArea = (packed: number): number | undefined => ((packed & 0xff) === 255 ? undefined : packed & 0xff);

/** Parse a link payload as a probe or echo. */
export function parseLinkProbe(d: Uint8Array): LinkProbe | undefined {
  if (isProbe(d)) return PARSED_PROBE;
  const echo = packedEcho(d);
  if (echo < 0) return undefined;
  return { type: 'echo', attached: echoAttached(echo), load: echoLoad(echo), area: echoArea(echo) };
}

/**
 * The link as a {@link MessageChannel} for the message stack, with probes and echoes
 * taken out and handed to `onProbe`.
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

/** Timing of {@link LivenessProbe}. */
export interface LivenessOptions {
  /** Probe period while answered (default 2500 ms; ±5% jitter). */
  periodMs: number;
  /** Unanswered probes in a row that make the supernode dead (default 3). */
  misses: number;
  /** Bounds of the answer timeout, 3 smoothed RTTs (default 350-700 ms: with the period, a crash is noticed within 2.5 + 3 x 0.7 = 4.6 s, leaving time to re-attach within 5 s). */
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

/** Defaults of {@link LivenessOptions}. */
export const DEFAULT_LIVENESS: Readonly<LivenessOptions> = { periodMs: 2500, misses: 3, minTimeoutMs: 350, maxTimeoutMs: 700 };

/** How long to wait for an echo: 3 smoothed RTTs within the bounds (the longest before an RTT is known). */
export function answerTimeoutMs(srttMs: number | undefined, o: Pick<LivenessOptions, 'minTimeoutMs' | 'maxTimeoutMs'> = DEFAULT_LIVENESS): number {
  const base = srttMs === undefined ? o.maxTimeoutMs : 3 * srttMs;
  return Math.max(o.minTimeoutMs, Math.min(o.maxTimeoutMs, base));
}

/**
 * One node's probe timetable (see module docs): probes waiting for their next period
 * enroll here, and one timer at the node's next tick sends them all.
 *
 * @example
 * ```ts
 * const schedule = new ProbeSchedule(clock, random);  // one per node
 * new LivenessProbe(clock, random, link, DEFAULT_LIVENESS, events, undefined, schedule).start();
 * ```
 */
export class ProbeSchedule {
  /** When the node's ticks fall within each period: `phaseMs + k × periodMs` (ms). */
  readonly phaseMs: number;
  /** Probes to send at the next tick, and a spare list to swap in while they go. */
  private due: LivenessProbe[] = [];
  private spare: LivenessProbe[] = [];
  private timer: Timer | undefined;
  private spent: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    random: Random,
    readonly periodMs: number = DEFAULT_LIVENESS.periodMs,
  ) {
    this.phaseMs = Math.floor(random.float() * periodMs);
  }

  /** Milliseconds from now to the first tick strictly after now. */
  nextTickIn(): number {
    const p = this.periodMs;
    const elapsed = (((this.clock.now() - this.phaseMs) % p) + p) % p;
    return p - elapsed;
  }

  /** Probes waiting for the next tick (tests, diagnostics). */
  get waiting(): number {
    return this.due.length;
  }

  /** @internal `probe` goes at the next tick (its `onTick`). */
  enroll(probe: LivenessProbe): void {
    this.due.push(probe);
    this.timer ??= this.clock.setTimeoutReusing(this.spent, this.onTimer, this.nextTickIn());
  }

  /** Drop every waiting probe and the timer (the node is closing). */
  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.spent = undefined;
    this.due.length = 0;
  }

  private readonly onTimer = (): void => {
    this.spent = this.timer;
    this.timer = undefined;
    // Probes answered at once enroll again while we go: into the other list, for the next tick.
    const due = this.due;
    this.due = this.spare;
    for (let i = 0; i < due.length; i++) due[i]!.onTick();
    due.length = 0;
    this.spare = due;
  };
}

/**
 * What a {@link LivenessProbe} reports. The probe comes last, so one events object can
 * serve all of a node's probes (the simulator's leaves: no closures per probe to fetch).
 */
export interface LivenessEvents<L extends ProbedLink = ProbedLink> {
  /** An echo: smoothed RTT, and what the supernode said (area: its area-load estimate, if sent). */
  echo(rttMs: number, attached: boolean, load: number, area: number | undefined, probe: LivenessProbe<L>): void;
  /** `misses` probes in a row went unanswered and nothing else arrived. */
  dead(reason: string, probe: LivenessProbe<L>): void;
}

/** What a {@link LivenessProbe} needs of its link (an {@link OverlayLink}, or the simulator's). */
export type ProbedLink = Pick<OverlayLink, 'isClosed' | 'lastReceivedAt' | 'send'>;

/** Probes one supernode over `link`; see module docs. */
export class LivenessProbe<L extends ProbedLink = ProbedLink> {
  private timer: Timer | undefined;
  /** The timer that last fired, for the clock to reuse at the next arming. */
  private spent: Timer | undefined;
  private sentAt = -1;
  private misses = 0;
  private stopped = false;
  /** Waiting in the node's {@link ProbeSchedule} for its next tick. */
  private enrolled = false;
  /** Smoothed round-trip time (ms), once measured. */
  srttMs: number | undefined;
  /** Probes sent (tests, diagnostics). */
  sent = 0;
  /** What the last echo said: the supernode's load, and its area load (its load when the echo had none); -1 before the first. */
  load = -1;
  area = -1;

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
    /** The link to the supernode. */
    readonly link: L,
    private readonly o: LivenessOptions,
    private readonly events: LivenessEvents<L>,
    initialRttMs?: number,
    /** The node's schedule (same `periodMs` as `o`); undefined: this probe keeps its own jittered period. */
    private readonly timetable?: ProbeSchedule,
  ) {
    if (timetable !== undefined && timetable.periodMs !== o.periodMs) {
      throw new RangeError(`LivenessProbe: period ${o.periodMs} ms on a schedule of ${timetable.periodMs} ms`);
    }
    this.srttMs = initialRttMs;
  }

  /** Start probing: the first probe goes at the node's next tick, or without a schedule at a random point of the first period (spreads the load). */
  start(): void {
    if (this.stopped || this.enrolled || this.timer !== undefined) return;
    if (this.timetable !== undefined) this.waitForPeriod();
    else this.schedule(this.random.float() * this.o.periodMs);
  }

  /** Stop for good (detached, closed). */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.spent = undefined;
  }

  /** @internal The schedule's tick: send the next probe. */
  onTick(): void {
    if (!this.enrolled) return;
    this.enrolled = false;
    this.fire();
  }

  /** An echo arrived on the link. */
  onEcho(attached: boolean, load: number, area?: number): void {
    if (this.stopped) return;
    if (this.sentAt >= 0) {
      const rtt = this.clock.now() - this.sentAt;
      this.srttMs = this.srttMs === undefined ? rtt : Math.round(0.8 * this.srttMs + 0.2 * rtt);
      this.sentAt = -1;
      this.misses = 0;
      this.waitForPeriod();
    }
    this.load = load;
    this.area = area ?? load;
    this.events.echo(this.srttMs ?? 0, attached, load, area, this);
  }

  /** After an answered probe: the next goes at the node's next tick, or after a jittered period. */
  private waitForPeriod(): void {
    const t = this.timetable;
    if (t === undefined) return this.schedule(this.o.periodMs * (0.95 + 0.1 * this.random.float()));
    // No timer of our own meanwhile (an answer timeout may still be queued).
    this.timer?.cancel();
    this.timer = undefined;
    this.enrolled = true;
    t.enroll(this);
  }

  private timeout(): number {
    return answerTimeoutMs(this.srttMs, this.o);
  }

  private schedule(ms: number): void {
    // A pending timer is cancelled (it stays queued: the clock will not reuse it); a fired one is reused.
    const spent = this.timer ?? this.spent;
    this.timer?.cancel();
    this.spent = undefined;
    this.timer = this.clock.setTimeoutReusing(spent, this.onTimer, ms);
  }

  /** One callback for every timer of this probe (a leaf schedules one per probe). */
  private readonly onTimer = (): void => {
    this.spent = this.timer;
    this.timer = undefined;
    this.fire();
  };

  private fire(): void {
    if (this.stopped) return;
    if (this.link.isClosed) return this.die('link closed');
    if (this.sentAt >= 0) {
      if (this.link.lastReceivedAt() >= this.sentAt) {
        // No echo, but the supernode sent something since: it is alive.
        this.sentAt = -1;
        this.misses = 0;
        return this.waitForPeriod();
      }
      if (++this.misses >= this.o.misses) {
        return this.die(`${this.misses} probes unanswered`);
      }
    }
    this.sentAt = this.clock.now();
    this.sent++;
    this.link.send(PROBE);
    // An echo may arrive within the send (the simulator's instant path): it has cleared
    // `sentAt` and scheduled the next period, and no answer timeout is needed.
    if (this.sentAt >= 0 && !this.stopped) this.schedule(this.timeout());
  }

  private die(reason: string): void {
    this.stop();
    this.events.dead(reason, this);
  }
}
