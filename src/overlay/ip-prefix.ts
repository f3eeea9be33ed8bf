/**
 * Network prefixes for diversity limits: an IPv4 address maps to its /24, an IPv6
 * address to its /48 (IPv4-mapped IPv6 addresses count as IPv4). Routing tables, host
 * caches and attachment choose or cap peers per prefix, so one attacker with a block of
 * addresses cannot fill a table (S/Kademlia's and Skype's diversity rule).
 *
 * @example
 * ```ts
 * networkPrefix('192.0.2.77');            // '4:192.0.2'
 * networkPrefix('2001:db8:1:2::5');       // '6:2001:db8:1'
 * networkPrefix('::ffff:192.0.2.1');      // '4:192.0.2'
 * networkPrefix('not an address');        // undefined
 * ```
 * @module
 */

import { parseIPv4, parseIPv6 } from '../net/ip.ts';

/**
 * The diversity prefix of an IP literal: `'4:a.b.c'` for IPv4 (/24), `'6:x:y:z'` for
 * IPv6 (/48, groups in canonical lower-case hex), or undefined if `host` is not an IP
 * literal.
 */
export function networkPrefix(host: string): string | undefined {
  // Memoised (bounded): every routing table asks for the same hosts, and sharing the
  // result strings keeps thousands of simulated tables small.
  let p = prefixMemo.get(host);
  if (p === undefined && !prefixMemo.has(host)) {
    p = computePrefix(host);
    if (prefixMemo.size >= PREFIX_MEMO_MAX) prefixMemo.clear();
    prefixMemo.set(host, p);
  }
  return p;
}

const PREFIX_MEMO_MAX = 1 << 16;
const prefixMemo = new Map<string, string | undefined>();

function computePrefix(host: string): string | undefined {
  // A zone (fe80::1%eth0) names a link, not a network: no prefix.
  if (host.length > 64 || host.includes('%')) return undefined;
  const v4 = parseIPv4(host);
  if (v4) return `4:${v4[0]}.${v4[1]}.${v4[2]}`;
  const b = parseIPv6(host);
  if (!b) return undefined;
  // IPv4-mapped (::ffff:a.b.c.d) counts as the IPv4 address it carries.
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `4:${b[12]}.${b[13]}.${b[14]}`;
  const group = (i: number) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16);
  return `6:${group(0)}:${group(1)}:${group(2)}`;
}
