/**
 * Which peer addresses a relay may talk to. By default a TURN relay refuses loopback,
 * private, link-local, CGNAT, multicast and other special-purpose ranges, so a client
 * cannot use the supernode to reach its LAN or itself (RFC 8656 21.2).
 *
 * @module
 */
import { parseIPv4, parseIPv6 } from '../../src/net/ip.ts';

function v4Restricted(b: Uint8Array): boolean {
  const [a, c] = [b[0]!, b[1]!];
  return (
    a === 0 || // "this" network
    a === 10 ||
    a === 127 ||
    (a === 100 && c >= 64 && c <= 127) || // CGNAT shared space
    (a === 169 && c === 254) ||
    (a === 172 && c >= 16 && c <= 31) ||
    (a === 192 && c === 168) ||
    (a === 192 && c === 0 && b[2] === 0) || // IETF protocol assignments
    (a === 198 && (c === 18 || c === 19)) || // benchmarking
    a >= 224 // multicast, reserved, broadcast
  );
}

/**
 * True if `host` is loopback, private, link-local or otherwise not a public unicast
 * address (or not an IP literal at all).
 */
export function isRestrictedPeer(host: string): boolean {
  const v4 = parseIPv4(host);
  if (v4) return v4Restricted(v4);
  const v6 = parseIPv6(host);
  if (!v6) return true;
  let zero10 = true;
  for (let i = 0; i < 10; i++) if (v6[i] !== 0) zero10 = false;
  if (zero10 && v6[10] === 0xff && v6[11] === 0xff) return v4Restricted(v6.subarray(12)); // IPv4-mapped
  if (zero10 && v6[10] === 0 && v6[11] === 0) return true; // ::, ::1, IPv4-compatible
  return (
    (v6[0]! & 0xfe) === 0xfc || // unique local fc00::/7
    (v6[0] === 0xfe && (v6[1]! & 0xc0) === 0x80) || // link-local fe80::/10
    (v6[0] === 0xfe && (v6[1]! & 0xc0) === 0xc0) || // site-local (deprecated)
    v6[0] === 0xff || // multicast
    (v6[0] === 0x20 && v6[1] === 0x01 && v6[2] === 0x0d && v6[3] === 0xb8) // documentation
  );
}

/** A parsed CIDR block: address bytes (4 or 16) and prefix length. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/**
 * Parse `a.b.c.d/n` or `v6addr/n` (a bare address means a single host: /32 or /128).
 * Throws `Error` with the offending text if it is not a CIDR block.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const host = slash >= 0 ? text.slice(0, slash) : text;
  const bytes = parseIPv4(host) ?? parseIPv6(host);
  if (!bytes) throw new Error(`not a CIDR block: "${text}"`);
  const max = bytes.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new Error(`not a CIDR block: "${text}"`);
    prefix = Number(p);
  }
  return { bytes, prefix };
}

function inCidr(addr: Uint8Array, c: Cidr): boolean {
  if (addr.length !== c.bytes.length) return false;
  const full = c.prefix >> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== c.bytes[i]) return false;
  const rest = c.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (addr[full]! & mask) === (c.bytes[full]! & mask);
}

/** Bytes of `host` for CIDR matching: 4 for IPv4 and IPv4-mapped IPv6, 16 for IPv6. */
function peerBytes(host: string): Uint8Array | undefined {
  const v4 = parseIPv4(host);
  if (v4) return v4;
  const v6 = parseIPv6(host);
  if (!v6) return undefined;
  for (let i = 0; i < 10; i++) if (v6[i] !== 0) return v6;
  return v6[10] === 0xff && v6[11] === 0xff ? v6.subarray(12) : v6;
}

/**
 * Which peers a relay may reach. The default refuses every restricted address
 * ({@link isRestrictedPeer}); `allowPrivatePeers` lifts that entirely (tests, labs);
 * `allowedPeerCidrs` opens only the listed blocks (say a LAN segment that hosts media
 * servers) and keeps the rest of the restricted space closed, like coturn's
 * `--allowed-peer-ip`. An IPv4-mapped IPv6 peer matches IPv4 blocks.
 */
export class PeerPolicy {
  private readonly cidrs: readonly Cidr[];
  private readonly allowAll: boolean;

  constructor(options: { allowPrivatePeers?: boolean; allowedPeerCidrs?: readonly string[] } = {}) {
    this.allowAll = options.allowPrivatePeers ?? false;
    this.cidrs = (options.allowedPeerCidrs ?? []).map(parseCidr);
  }

  /** True if a relay may send to / accept from `host`. */
  allows(host: string): boolean {
    if (this.allowAll) return true;
    if (!isRestrictedPeer(host)) return true;
    if (this.cidrs.length === 0) return false;
    const b = peerBytes(host);
    if (!b) return false;
    for (const c of this.cidrs) if (inCidr(b, c)) return true;
    return false;
  }
}
