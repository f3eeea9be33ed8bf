/**
 * Which ICE servers a restart's new peer connection gathers from. werift 0.24 uses only
 * the first STUN and the first TURN server of its list, so after a relay died the list
 * must not start with the dead relay's supernode. A node first leaves out the supernodes
 * that do not answer a probe at that moment (`MediaSessionInit.restartIceServers`); among
 * the rest, which relay died is a guess: the peer's restart offer leaving relays out says
 * it saw them die (ours may be alive); otherwise it is the relay our dead path went
 * through. Without a clue (a direct path, or the peer asked for the restart while we
 * still hear it) the order stays. A second restart before media came back does not trust
 * the guess again and rotates the list by one supernode per retry. A supernode's servers
 * (STUN, TURN) stay together, first supernode first, whatever order they came in.
 *
 * @example
 * ```ts
 * const servers = [stun('198.18.1.2'), turn('198.18.1.2'), stun('198.18.2.2'), turn('198.18.2.2')];
 * serversForRestart(servers, { peerDropped: ['198.18.1.2'], lastRelayHost: '198.18.2.2', retry: 0 });
 * // -> the 198.18.2.2 pair: the peer saw 198.18.1.2 die, our own relay is fine
 * ```
 * @module
 */
import type { IceServer } from './media-session.ts';

/** What a restart knows. */
export interface RestartClues {
  /** Relay hosts in the peer's previous SDP that its restart offer left out. */
  peerDropped: readonly string[];
  /** The TURN host our last known path went through, if that path is dead. */
  lastRelayHost: string | undefined;
  /** Restarts already made since media last connected. */
  retry: number;
}

/** The servers in the order the new peer connection should use them, and the hosts left out. */
export function serversForRestart(servers: readonly IceServer[], clues: RestartClues): { servers: IceServer[]; dead: string[] } {
  const byHost = new Map<string, IceServer[]>();
  for (const s of servers) {
    const host = iceServerHost(s.urls) ?? s.urls;
    const list = byHost.get(host);
    if (list) list.push(s);
    else byHost.set(host, [s]);
  }
  const hosts = [...byHost.keys()];
  const guessed = clues.retry > 0 ? [] : clues.peerDropped.length > 0 ? [...clues.peerDropped] : clues.lastRelayHost ? [clues.lastRelayHost] : [];
  const alive = hosts.filter((h) => !guessed.includes(h));
  if (guessed.length > 0 && alive.length > 0) {
    // The relay that died may not be one of ours: then our order stays.
    return { servers: alive.flatMap((h) => byHost.get(h)!), dead: hosts.filter((h) => guessed.includes(h)) };
  }
  // No clue: the first try keeps our order; later tries rotate it.
  const turn = hosts.length > 0 ? clues.retry % hosts.length : 0;
  const order = [...hosts.slice(turn), ...hosts.slice(0, turn)];
  return { servers: order.flatMap((h) => byHost.get(h)!), dead: [] };
}

/** Addresses of the relay candidates in an SDP (their TURN servers' hosts). */
export function relayHostsIn(sdp: string): string[] {
  const out = new Set<string>();
  for (const m of sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ relay/gm)) out.add(m[1]!);
  return [...out];
}

/** The host of a `stun:` or `turn:` URL (an IPv6 address without its brackets). */
export function iceServerHost(url: string): string | undefined {
  return /^(?:stun|turn)s?:\[?([^\]?]*?)\]?(?::\d+)?(?:\?|$)/.exec(url)?.[1];
}
