/**
 * LAN discovery over mDNS (the multicast-dns package): supernodes answer queries for
 * `_tincan._udp.local` with an SRV + A record of their overlay address; every node asks
 * at start and every few minutes and hands what it hears to the overlay, which hails the
 * address to learn its key before trusting it. Optional: the simulator and loopback
 * tests run without it.
 *
 * @module
 */
import type { Clock, Timer } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Address } from '../net/net.ts';
import type { LanDiscovery } from './overlay-node.ts';

/** The mDNS service name tincan supernodes announce. */
export const MDNS_SERVICE = '_tincan._udp.local';

/** Options of {@link multicastDnsDiscovery}. */
export interface MdnsOptions {
  log: Logger;
  clock: Pick<Clock, 'setInterval'>;
  /** Re-query period (default 5 min). */
  queryEveryMs?: number;
}

interface MdnsAnswer {
  name: string;
  type: string;
  data: unknown;
}

/** mDNS discovery; the socket opens on `start` (a failure is logged and ignored). */
export function multicastDnsDiscovery(options: MdnsOptions): LanDiscovery {
  let closed = false;
  let announced: Address | undefined;
  let mdns: {
    on(ev: string, fn: (p: { answers?: MdnsAnswer[]; additionals?: MdnsAnswer[]; questions?: { name: string }[] }) => void): void;
    query(q: unknown): void;
    respond(r: unknown): void;
    destroy(): void;
  } | undefined;
  let timer: Timer | undefined;
  const log = options.log.child({ component: 'mdns' });
  return {
    start(found) {
      void (async () => {
        try {
          const mod = await import('multicast-dns');
          if (closed) return;
          const factory = (mod.default ?? mod) as unknown as (o?: unknown) => typeof mdns;
          mdns = factory();
          mdns!.on('response', (p) => {
            const all = [...(p.answers ?? []), ...(p.additionals ?? [])];
            const a = all.find((x) => x.type === 'A');
            for (const srv of all.filter((x) => x.type === 'SRV' && x.name.endsWith(MDNS_SERVICE))) {
              const d = srv.data as { port?: number; target?: string };
              const host = a && typeof a.data === 'string' ? a.data : undefined;
              if (host && typeof d.port === 'number' && d.port > 0 && d.port < 65536) found({ host, port: d.port });
            }
          });
          mdns!.on('query', (q) => {
            if (!announced || !q.questions?.some((x) => x.name === MDNS_SERVICE)) return;
            const target = `tincan-${announced.port}.local`;
            mdns!.respond({
              answers: [{ name: MDNS_SERVICE, type: 'SRV', ttl: 120, data: { port: announced.port, target, priority: 0, weight: 0 } }],
              additionals: announced.host !== '0.0.0.0' ? [{ name: target, type: 'A', ttl: 120, data: announced.host }] : [],
            });
          });
          const ask = () => mdns?.query({ questions: [{ name: MDNS_SERVICE, type: 'SRV' }] });
          ask();
          timer = options.clock.setInterval(ask, options.queryEveryMs ?? 300_000);
        } catch (err) {
          log.warn({ err: String(err) }, 'mDNS unavailable');
        }
      })();
    },
    announce(address) {
      announced = address;
    },
    close() {
      closed = true;
      timer?.cancel();
      try {
        mdns?.destroy();
      } catch {
        // already gone
      }
      mdns = undefined;
    },
  };
}
