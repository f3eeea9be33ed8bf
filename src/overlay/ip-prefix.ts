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

/** Parse a dotted-quad IPv4 literal (four groups of 1-3 digits, each <= 255) into 4 octets, or undefined. */
export function parseIPv4(host: string): number[] | undefined {
  // Hand-rolled: this runs for every contact a routing table sees.
  const out: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) : 46; // virtual trailing '.'
    if (c === 46) {
      if (digits === 0 || value > 255 || out.length === 4) return undefined;
      out.push(value);
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      value = value * 10 + (c - 48);
    } else return undefined;
  }
  return out.length === 4 ? out : undefined;
}

/** Parse an IPv6 literal (with `::` compression, optional embedded IPv4, no zone) into 8 groups. */
export function parseIPv6(host: string): number[] | undefined {
  if (host.length > 45 || !/^[0-9a-fA-F:.]+$/.test(host)) return undefined;
  let text = host;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    // Keep everything before the IPv4 part; a single trailing ':' separates, '::' compresses.
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  if (!head) return undefined;
  if (halves.length === 1) {
    const all = [...head, ...tail];
    return all.length === 8 ? all : undefined;
  }
  const back = parse(halves[1]!);
  if (!back) return undefined;
  const known = head.length + back.length + tail.length;
  if (known > 7) return undefined;
  return [...head, ...new Array<number>(8 - known).fill(0), ...back, ...tail];
}

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
  if (host.length > 64) return undefined;
  const v4 = parseIPv4(host);
  if (v4) return `4:${v4[0]}.${v4[1]}.${v4[2]}`;
  const v6 = parseIPv6(host);
  if (!v6) return undefined;
  // IPv4-mapped (::ffff:a.b.c.d) counts as the IPv4 address it carries.
  if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0 && v6[3] === 0 && v6[4] === 0 && v6[5] === 0xffff) {
    return `4:${v6[6]! >> 8}.${v6[6]! & 0xff}.${v6[7]! >> 8}`;
  }
  return `6:${v6[0]!.toString(16)}:${v6[1]!.toString(16)}:${v6[2]!.toString(16)}`;
}
