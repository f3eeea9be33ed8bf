/**
 * IP address literals <-> bytes, without node:net (works on SimNet hosts too): used by
 * the STUN/TURN codecs and the overlay's diversity prefixes.
 * IPv6 output follows RFC 5952 (lowercase, longest zero run compressed), which is how
 * Node and Deno report addresses, so formatted and received hosts compare equal.
 *
 * @module
 */

/** 4 bytes for a dotted-quad IPv4 literal (four groups of 1-3 digits, each <= 255), or undefined. */
export function parseIPv4(host: string): Uint8Array | undefined {
  // Hand-rolled: the overlay runs this for every contact a routing table sees.
  if (host.length > 15) return undefined;
  const out = new Uint8Array(4);
  let n = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) : 46; // virtual trailing '.'
    if (c === 46) {
      if (digits === 0 || value > 255 || n === 4) return undefined;
      out[n++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      value = value * 10 + (c - 48);
    } else return undefined;
  }
  return n === 4 ? out : undefined;
}

/** 16 bytes for an IPv6 literal (optionally with an embedded IPv4 tail), or undefined. */
export function parseIPv6(host: string): Uint8Array | undefined {
  if (host.length > 45 || !host.includes(':')) return undefined;
  let text = host;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    tail = parseIPv4(text.slice(lastColon + 1));
    if (!tail) return undefined;
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...head, ...new Array<number>(8 - total).fill(0), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i]! >> 8;
    out[2 * i + 1] = all[i]! & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** Dotted-quad text of 4 bytes. */
export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 text of 16 bytes (IPv4-mapped addresses as `::ffff:a.b.c.d`). */
export function formatIPv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIPv4(b.subarray(12, 16))}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Bytes of an IPv4 or IPv6 literal, or undefined. */
export function parseIP(host: string): Uint8Array | undefined {
  return parseIPv4(host) ?? parseIPv6(host);
}
