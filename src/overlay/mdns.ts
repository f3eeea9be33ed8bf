/**
 * LAN discovery over mDNS (the multicast-dns package): supernodes answer queries for
 * `_tincan._udp.local` with an SRV record of their overlay port (plus an A record when
 * they listen on one IPv4 address); every node asks at start (0, 1 and 3 s) and every few
 * minutes and hands what it hears to the overlay, which hails the address to learn its key
 * before trusting it. Optional: the simulator and loopback tests run without it.
 *
 * What mDNS says is only a hint: anyone on the link can send it. So a hint is reported
 * only for the packet's own source address (an A record naming another address is
 * dropped), only when that source is on one of our links (same subnet as one of our
 * IPv4 interfaces; loopback, multicast and unspecified sources are dropped), and at a
 * bounded rate: at most {@link MdnsLimits.perPacket} services per packet and
 * {@link MdnsLimits.perHost} ports per host within `repeatMs`, the same address at most once per
 * `repeatMs`, at most `foundPerMinute` new addresses a minute, a table of at most
 * `known` addresses. Oversized packets (> 9000 bytes, RFC 6762's limit) and packets of
 * more than `records` records are dropped whole. Every drop is counted by reason in
 * {@link MdnsDiscovery.stats}. The overlay's hail, Noise handshake (the key must hash to
 * the hailed ID) and proof-of-work checks apply to whatever mDNS reports.
 *
 * The responder multicasts at most one answer per `answerEveryMs` (1 s, as RFC 6762
 * asks): queries inside that window share one answer sent when the window ends.
 *
 * Multicast needs a route: on a host without a default route, add one for 224.0.0.0/4,
 * or queries are not sent (logged once as a warning).
 *
 * @module
 */
import { networkInterfaces } from 'node:os';
import type { Clock, Timer } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Address } from '../net/net.ts';
import type { LanDiscovery } from './overlay-node.ts';

/** The mDNS service name tincan supernodes announce. */
export const MDNS_SERVICE = '_tincan._udp.local';

/** Largest mDNS packet considered (RFC 6762 section 17). */
export const MDNS_MAX_PACKET = 9000;

/** Bounds of {@link multicastDnsDiscovery}; see the module docs. */
export interface MdnsLimits {
  /** Records (answers + additionals) in one packet; more: the packet is dropped (default 32). */
  records: number;
  /** Services reported from one packet (default 4). */
  perPacket: number;
  /** Ports of one host reported within `repeatMs` (default 4). */
  perHost: number;
  /** Addresses remembered (default 64; the oldest is forgotten). */
  known: number;
  /** The same address is reported again after this long (default 60 s). */
  repeatMs: number;
  /** New addresses reported per minute (default 20, burst 20). */
  foundPerMinute: number;
  /** Least time between two answers of the responder (default 1 s). */
  answerEveryMs: number;
  /** Questions of one query looked at (default 16). */
  questions: number;
}

/** Defaults of {@link MdnsLimits}. */
export const MDNS_LIMITS: Readonly<MdnsLimits> = {
  records: 32, perPacket: 4, perHost: 4, known: 64, repeatMs: 60_000, foundPerMinute: 20, answerEveryMs: 1000, questions: 16,
};

/** Why a received record or packet was not reported. */
export type MdnsDropReason =
  /** Packet over 9000 bytes. */
  | 'oversize'
  /** Packet of more than `records` records. */
  | 'too-many-records'
  /** Our service, but bad data (port, target, types). */
  | 'malformed'
  /** Source not IPv4, or loopback, multicast, broadcast or unspecified. */
  | 'bad-source'
  /** Source not in the subnet of any of our interfaces. */
  | 'off-link'
  /** An A record for the service's target names another address than the sender's. */
  | 'address-mismatch'
  /** Our own announcement, heard back. */
  | 'own'
  /** TTL 0 (a goodbye). */
  | 'goodbye'
  /** Over `perPacket` or `perHost`, or the table is full of fresh entries. */
  | 'too-many'
  /** The address was reported less than `repeatMs` ago. */
  | 'repeat'
  /** Over `foundPerMinute`. */
  | 'rate-limited';

/** Counters of {@link MdnsDiscovery}. */
export interface MdnsStats {
  queriesSent: number;
  /** Queries for our service heard while announcing. */
  queriesHeard: number;
  /** Answers multicast. */
  answersSent: number;
  /** Queries that shared an answer because of the 1 s limit. */
  queriesCoalesced: number;
  /** Response packets received (ours or not). */
  responsesSeen: number;
  /** Addresses handed to the overlay. */
  found: number;
  dropped: Record<MdnsDropReason, number>;
}

/** The part of a multicast-dns instance used here (injectable for tests). */
export interface MdnsSocket {
  on(event: 'query' | 'response', fn: (packet: MdnsPacket, rinfo: { address: string; family?: string | number; port?: number; size?: number }) => void): unknown;
  on(event: 'error' | 'warning', fn: (err: unknown) => void): unknown;
  query(q: unknown, cb?: (err: unknown) => void): unknown;
  respond(r: unknown, cb?: (err: unknown) => void): unknown;
  destroy(): unknown;
}

/** A decoded DNS packet as multicast-dns hands it over (untrusted: any shape). */
export interface MdnsPacket {
  answers?: unknown;
  additionals?: unknown;
  questions?: unknown;
}

/** An IPv4 interface address and netmask. */
export interface LocalNet {
  address: string;
  netmask: string;
}

/** Options of {@link multicastDnsDiscovery}. */
export interface MdnsOptions {
  log: Logger;
  clock: Pick<Clock, 'setInterval' | 'setTimeout' | 'now'>;
  /** Re-query period (default 5 min). */
  queryEveryMs?: number;
  /** The mDNS socket (default: the multicast-dns package on 224.0.0.251:5353). */
  socket?: () => MdnsSocket | Promise<MdnsSocket>;
  /** Our IPv4 interfaces (default: os.networkInterfaces()). */
  localNets?: () => LocalNet[];
  /** Random token bytes for our instance name (default crypto.getRandomValues). */
  randomBytes?: (n: number) => Uint8Array;
  limits?: Partial<MdnsLimits>;
}

/** mDNS LAN discovery with counters. */
export interface MdnsDiscovery extends LanDiscovery {
  stats(): MdnsStats;
}

/** Dotted IPv4 to a 32-bit number, or undefined. */
function ipv4(s: unknown): number | undefined {
  if (typeof s !== 'string' || s.length > 15) return undefined;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255) return undefined;
    n = n * 256 + b;
  }
  return n;
}

/** IPv4 addresses that cannot be a LAN peer: 0/8, 127/8, 224/4 and above. */
function unusableSource(n: number): boolean {
  const first = n >>> 24;
  return first === 0 || first === 127 || first >= 224;
}

function defaultLocalNets(): LocalNet[] {
  const out: LocalNet[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if ((i.family === 'IPv4' || (i.family as unknown) === 4) && !i.internal) out.push({ address: i.address, netmask: i.netmask });
    }
  }
  return out;
}

function isRecord(x: unknown): x is { name: unknown; type: unknown; ttl?: unknown; data: unknown } {
  return typeof x === 'object' && x !== null;
}

/** mDNS discovery; the socket opens on `start` (a failure is logged and ignored). */
export function multicastDnsDiscovery(options: MdnsOptions): MdnsDiscovery {
  const lim: MdnsLimits = { ...MDNS_LIMITS, ...options.limits };
  const { clock } = options;
  const log = options.log.child({ component: 'mdns' });
  const localNets = options.localNets ?? defaultLocalNets;
  const bytes = options.randomBytes ?? ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
  const token = [...bytes(6)].map((b) => b.toString(16).padStart(2, '0')).join('');
  const ownTarget = `tincan-${token}.local`;
  const stats: MdnsStats = {
    queriesSent: 0, queriesHeard: 0, answersSent: 0, queriesCoalesced: 0, responsesSeen: 0, found: 0,
    dropped: { oversize: 0, 'too-many-records': 0, malformed: 0, 'bad-source': 0, 'off-link': 0, 'address-mismatch': 0, own: 0, goodbye: 0, 'too-many': 0, repeat: 0, 'rate-limited': 0 },
  };
  const loggedDrops = new Set<MdnsDropReason>();
  const drop = (reason: MdnsDropReason, n = 1, detail?: Record<string, unknown>) => {
    stats.dropped[reason] += n;
    if (!loggedDrops.has(reason)) {
      loggedDrops.add(reason);
      log.debug({ reason, ...detail }, 'mDNS answer dropped (counted; further drops of this kind not logged)');
    }
  };
  // Reported addresses: "host:port" -> when (insertion order = age, oldest first).
  const known = new Map<string, number>();
  // New-address budget: a token bucket of foundPerMinute per minute.
  let tokens = lim.foundPerMinute;
  let tokensAt = clock.now();
  let closed = false;
  let announced: Address | undefined;
  let mdns: MdnsSocket | undefined;
  let found: ((address: Address) => void) | undefined;
  const timers: Timer[] = [];
  let lastAnswerAt = -Infinity;
  let pendingAnswer: Timer | undefined;
  let sendWarned = false;

  const onSendError = (what: string) => (err: unknown) => {
    if (!err || sendWarned || closed) return;
    sendWarned = true;
    log.warn({ err: String(err) }, `mDNS ${what} could not be sent (no route for 224.0.0.0/4?); LAN discovery may not work`);
  };

  function onLink(n: number): boolean {
    for (const l of localNets()) {
      const a = ipv4(l.address);
      const m = ipv4(l.netmask);
      if (a === undefined || m === undefined) continue;
      if (((a & m) >>> 0) === ((n & m) >>> 0)) return true;
    }
    return false;
  }

  function takeToken(): boolean {
    const now = clock.now();
    tokens = Math.min(lim.foundPerMinute, tokens + ((now - tokensAt) / 60_000) * lim.foundPerMinute);
    tokensAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  /** Report host:port unless repeated, over the per-host or rate bounds. */
  function report(host: string, port: number): void {
    const key = `${host}:${port}`;
    const now = clock.now();
    const at = known.get(key);
    if (at !== undefined && now - at < lim.repeatMs) return drop('repeat');
    if (at === undefined) {
      let sameHost = 0;
      for (const [k, when] of known) if (now - when < lim.repeatMs && k.slice(0, k.lastIndexOf(':')) === host) sameHost++;
      if (sameHost >= lim.perHost) return drop('too-many', 1, { host });
    }
    if (at === undefined && known.size >= Math.max(1, lim.known)) {
      const [oldest, when] = known.entries().next().value as [string, number];
      if (now - when < lim.repeatMs) return drop('too-many', 1, { host, reason: 'table full' });
      if (!takeToken()) return drop('rate-limited', 1, { host });
      known.delete(oldest);
    } else if (!takeToken()) return drop('rate-limited', 1, { host });
    known.delete(key);
    known.set(key, now);
    stats.found++;
    log.info({ address: key }, 'supernode announced on the LAN');
    found?.({ host, port });
  }

  function onResponse(p: MdnsPacket, rinfo: { address: string; size?: number }): void {
    stats.responsesSeen++;
    if (typeof rinfo.size === 'number' && rinfo.size > MDNS_MAX_PACKET) return drop('oversize', 1, { from: rinfo.address, size: rinfo.size });
    const answers = Array.isArray(p.answers) ? p.answers : [];
    const additionals = Array.isArray(p.additionals) ? p.additionals : [];
    if (answers.length + additionals.length > lim.records) return drop('too-many-records', 1, { from: rinfo.address, records: answers.length + additionals.length });
    const all = [...answers, ...additionals].filter(isRecord);
    const srvs = all.filter((x) => x.type === 'SRV' && typeof x.name === 'string' && x.name.toLowerCase() === MDNS_SERVICE);
    if (srvs.length === 0) return;
    const source = ipv4(rinfo.address);
    if (source === undefined || unusableSource(source)) return drop('bad-source', srvs.length, { from: rinfo.address });
    if (!onLink(source)) return drop('off-link', srvs.length, { from: rinfo.address });
    let reported = 0;
    for (const srv of srvs) {
      const d = srv.data as { port?: unknown; target?: unknown } | null;
      const port = d && typeof d === 'object' ? d.port : undefined;
      const target = d && typeof d === 'object' ? d.target : undefined;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535 || typeof target !== 'string' || target.length > 255) {
        drop('malformed', 1, { from: rinfo.address });
        continue;
      }
      if (target === ownTarget) {
        drop('own');
        continue;
      }
      if (srv.ttl === 0) {
        drop('goodbye');
        continue;
      }
      // An A record for the target must name the sender itself.
      const a = all.find((x) => x.type === 'A' && typeof x.name === 'string' && x.name.toLowerCase() === target.toLowerCase());
      if (a && a.data !== rinfo.address) {
        drop('address-mismatch', 1, { from: rinfo.address, claimed: typeof a.data === 'string' ? a.data.slice(0, 40) : typeof a.data });
        continue;
      }
      if (reported >= lim.perPacket) {
        drop('too-many', 1, { from: rinfo.address });
        continue;
      }
      reported++;
      report(rinfo.address, port);
    }
  }

  function answer(): void {
    const a = announced;
    if (!a || !mdns || closed) return;
    // Only IPv4 (or any-address) listeners: the A record, if any, is what queriers check.
    const any = a.host === '0.0.0.0' || a.host === '::';
    if (!any && ipv4(a.host) === undefined) return;
    lastAnswerAt = clock.now();
    stats.answersSent++;
    mdns.respond({
      answers: [{ name: MDNS_SERVICE, type: 'SRV', ttl: 120, data: { port: a.port, target: ownTarget, priority: 0, weight: 0 } }],
      additionals: any ? [] : [{ name: ownTarget, type: 'A', ttl: 120, data: a.host }],
    }, onSendError('answer'));
  }

  /** Answer now, or once when the 1 s window ends (queries meanwhile share it). */
  function answerLimited(): void {
    if (pendingAnswer) {
      stats.queriesCoalesced++;
      return;
    }
    const wait = lastAnswerAt + lim.answerEveryMs - clock.now();
    if (wait <= 0) return answer();
    stats.queriesCoalesced++;
    pendingAnswer = clock.setTimeout(() => {
      pendingAnswer = undefined;
      answer();
    }, wait);
  }

  function onQuery(q: MdnsPacket): void {
    if (!announced) return;
    const questions = Array.isArray(q.questions) ? q.questions.slice(0, lim.questions) : [];
    const ours = questions.some((x) => isRecord(x) && typeof x.name === 'string' && x.name.toLowerCase() === MDNS_SERVICE && (x.type === 'SRV' || x.type === 'ANY' || x.type === 'PTR'));
    if (!ours) return;
    stats.queriesHeard++;
    answerLimited();
  }

  const ask = () => {
    if (!mdns || closed) return;
    stats.queriesSent++;
    mdns.query({ questions: [{ name: MDNS_SERVICE, type: 'SRV' }] }, onSendError('query'));
  };

  return {
    start(onFound) {
      found = onFound;
      void (async () => {
        try {
          let sock: MdnsSocket;
          if (options.socket) sock = await options.socket();
          else {
            const mod = await import('multicast-dns');
            if (closed) return;
            const factory = (mod.default ?? mod) as unknown as () => MdnsSocket;
            sock = factory();
          }
          if (closed) {
            sock.destroy();
            return;
          }
          mdns = sock;
          // multicast-dns emits 'error' for EACCES/EADDRINUSE: without a listener that
          // would throw and end the process.
          sock.on('error', (err) => {
            log.warn({ err: String(err) }, 'mDNS unavailable');
            try {
              sock.destroy();
            } catch {
              // already gone
            }
            if (mdns === sock) mdns = undefined;
          });
          sock.on('warning', (err) => log.debug({ err: String(err) }, 'mDNS warning'));
          sock.on('response', (p, rinfo) => {
            try {
              onResponse(p ?? {}, rinfo ?? { address: '' });
            } catch (err) {
              drop('malformed', 1, { err: String(err) });
            }
          });
          sock.on('query', (q) => {
            try {
              onQuery(q ?? {});
            } catch {
              // a hostile query: nothing to answer
            }
          });
          ask();
          if (announced) answer();
          timers.push(clock.setTimeout(ask, 1000), clock.setTimeout(ask, 3000));
          timers.push(clock.setInterval(ask, options.queryEveryMs ?? 300_000));
        } catch (err) {
          log.warn({ err: String(err) }, 'mDNS unavailable');
        }
      })();
    },
    announce(address) {
      const changed = address?.host !== announced?.host || address?.port !== announced?.port;
      announced = address;
      // Tell the LAN at once (unsolicited, like RFC 6762's announcements), within the limit.
      if (address && changed && mdns) answerLimited();
    },
    stats() {
      return { ...stats, dropped: { ...stats.dropped } };
    },
    close() {
      closed = true;
      for (const t of timers) t.cancel();
      pendingAnswer?.cancel();
      try {
        mdns?.destroy();
      } catch {
        // already gone
      }
      mdns = undefined;
    },
  };
}
