/**
 * Which peer addresses a relay may talk to. By default a TURN relay refuses loopback,
 * private, link-local, CGNAT, multicast and other special-purpose ranges, so a client
 * cannot use the supernode to reach its LAN or itself (RFC 8656 21.2).
 *
 * @module
 */
import { parseIPv4, parseIPv6 } from '../stun/ip.ts';

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
