/**
 * Which ICE servers a restart's new peer connection gathers from. werift 0.24 uses only
 * the first STUN and the first TURN server of its list, so after a relay died the list
 * must not start with the dead relay's supernode. Which relay died is a guess: the peer's
 * restart offer leaving relays out says it saw them die (ours may be alive); otherwise it
 * is the relay of our last known path. A second restart before media came back does not
 * trust the guess again and rotates the list by one supernode, as does a restart of a
 * path that was not relayed. Servers come in supernode pairs (STUN, TURN).
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
  /** The TURN host of our last known relayed path (ours when both ends relayed). */
  lastRelayHost: string | undefined;
  /** Restarts already made since media last connected. */
  retry: number;
}

/** The servers in the order the new peer connection should use them, and the hosts left out. */
export function serversForRestart(servers: readonly IceServer[], clues: RestartClues): { servers: IceServer[]; dead: string[] } {
  const dead = clues.retry > 0 ? [] : clues.peerDropped.length > 0 ? [...clues.peerDropped] : clues.lastRelayHost ? [clues.lastRelayHost] : [];
  const alive = servers.filter((s) => !dead.includes(serverHost(s.urls) ?? ''));
  if (dead.length > 0 && alive.length > 0) return { servers: alive, dead };
  const turn = servers.length > 0 ? (2 * Math.max(1, clues.retry)) % servers.length : 0;
  return { servers: [...servers.slice(turn), ...servers.slice(0, turn)], dead: [] };
}

/** Addresses of the relay candidates in an SDP (their TURN servers' hosts). */
export function relayHostsIn(sdp: string): string[] {
  const out = new Set<string>();
  for (const m of sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ relay/gm)) out.add(m[1]!);
  return [...out];
}

function serverHost(url: string): string | undefined {
  return /^(?:stun|turn)s?:([^:?]+)/.exec(url)?.[1];
}
