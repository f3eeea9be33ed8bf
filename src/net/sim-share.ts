/**
 * Shares of one simulated internet: a {@link SimNet} can own a share of the public
 * address space and run on its own thread, with its own clock, while datagrams to
 * addresses of other shares cross between them in batches ("conservative" parallel
 * simulation, as in network simulators that split a topology across cores).
 *
 * Why it is exact: every datagram between shares takes at least the core's one-way
 * latency L ({@link SimNet.lookaheadMs}). The shares advance in windows of L: each runs
 * its clock to the window's end T, then all swap what they sent during the window. A
 * datagram sent at s in (T - L, T] arrives after s + L > T, so it is in the receiver's
 * hands before the receiver's clock passes T. Nothing from another share can arrive
 * "in the past", and a share never waits inside a window.
 *
 * What crosses, in order, at each swap (one {@link ShareBatch} per sender and receiver):
 * announcements of public endpoints (hosts not behind a NAT, and NATs) that appeared or
 * went away, then datagrams. A receiver applies the batches of all senders in share
 * order, announcements first: a datagram from an endpoint created in the same window
 * finds it known. Endpoint ids are striped by share (id * count + share), so the ids NATs
 * filter on are the same in every share.
 *
 * The path of a datagram that crosses is the same as within a share, cut at the core:
 * the sender applies its access link, uplink queue, NAT mapping, its side's delay, loss
 * and the core's (latency, jitter, loss); the receiver applies its NAT filter, its side's
 * delay and loss, and its downlink queue, as for any arrival. Jitter is drawn on each
 * side (two exponential draws instead of one for the sum of the means). Per-link
 * overrides ({@link SimNet.setLink}) apply within a share only. Instant sends
 * (`SimSocket.sendNow`) to another share are sent with their delay like any datagram.
 *
 * {@link encodeShareBatch} / {@link decodeShareBatch} put a batch in one byte buffer for
 * threads that share memory (share-mailbox.ts).
 * @module
 */

/** How a {@link SimNet} takes part in a shared simulation. */
export interface ShareOptions {
  /** This share's number, 0 <= index < count. */
  index: number;
  /** Number of shares. */
  count: number;
}

/** An endpoint of another share, as this share routes to it. */
export class RemoteEdge {
  constructor(
    /** Its public address. */
    readonly ip: string,
    /** Its endpoint id (striped by share: the same in every share). */
    readonly eid: number,
    /** The share that owns it. */
    readonly share: number,
  ) {}
}

/** A datagram on its way to another share (the sender's part of the path is done). */
export interface ShareDatagram {
  /** Virtual time it reaches the receiver's edge (its NAT, or the host itself). */
  at: number;
  /** Source address as the receiver sees it (the sender's NAT mapping, or its own). */
  fromIp: string;
  fromPort: number;
  /** Endpoint id of the source edge (what restricted NATs filter on). */
  fromEid: number;
  toIp: string;
  toPort: number;
  data: Uint8Array;
}

/** A public endpoint that appeared (`eid` > 0) or went away (`gone`). */
export interface ShareAnnouncement {
  ip: string;
  eid: number;
  gone: boolean;
}

/** What one share hands another at a swap. */
export interface ShareBatch {
  announcements: ShareAnnouncement[];
  datagrams: ShareDatagram[];
}

/** An empty batch. */
export function emptyBatch(): ShareBatch {
  return { announcements: [], datagrams: [] };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encode `batch` into `out` (or a new buffer); returns the bytes written as a view of it.
 * Throws a RangeError when `out` is too small.
 *
 * Layout: u32 announcement count, u32 datagram count, then each announcement
 * (u8 gone, u32 eid, u8 ip length, ip) and each datagram (f64 at, u32 fromEid, u16 fromPort,
 * u16 toPort, u8 fromIp length, u8 toIp length, u32 data length, fromIp, toIp, data).
 */
export function encodeShareBatch(batch: ShareBatch, out?: Uint8Array): Uint8Array {
  let size = 8;
  const ips = new Map<string, Uint8Array>();
  const ipBytes = (ip: string): Uint8Array => {
    let b = ips.get(ip);
    if (b === undefined) {
      b = encoder.encode(ip);
      if (b.byteLength > 255) throw new RangeError(`address too long: ${ip}`);
      ips.set(ip, b);
    }
    return b;
  };
  for (const a of batch.announcements) size += 6 + ipBytes(a.ip).byteLength;
  for (const d of batch.datagrams) size += 22 + ipBytes(d.fromIp).byteLength + ipBytes(d.toIp).byteLength + d.data.byteLength;
  const buf = out ?? new Uint8Array(size);
  if (buf.byteLength < size) throw new RangeError(`share batch of ${size} bytes does not fit ${buf.byteLength}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 0;
  view.setUint32(o, batch.announcements.length);
  view.setUint32(o + 4, batch.datagrams.length);
  o += 8;
  for (const a of batch.announcements) {
    const ip = ipBytes(a.ip);
    view.setUint8(o, a.gone ? 1 : 0);
    view.setUint32(o + 1, a.eid);
    view.setUint8(o + 5, ip.byteLength);
    buf.set(ip, o + 6);
    o += 6 + ip.byteLength;
  }
  for (const d of batch.datagrams) {
    const from = ipBytes(d.fromIp);
    const to = ipBytes(d.toIp);
    view.setFloat64(o, d.at);
    view.setUint32(o + 8, d.fromEid);
    view.setUint16(o + 12, d.fromPort);
    view.setUint16(o + 14, d.toPort);
    view.setUint8(o + 16, from.byteLength);
    view.setUint8(o + 17, to.byteLength);
    view.setUint32(o + 18, d.data.byteLength);
    o += 22;
    buf.set(from, o);
    o += from.byteLength;
    buf.set(to, o);
    o += to.byteLength;
    buf.set(d.data, o);
    o += d.data.byteLength;
  }
  return buf.subarray(0, o);
}

/**
 * Decode a batch written by {@link encodeShareBatch}. Payloads are copied out (the buffer
 * may be reused); addresses repeated in the batch decode to one string. Throws a
 * RangeError on a truncated or malformed buffer.
 */
export function decodeShareBatch(bytes: Uint8Array): ShareBatch {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (o: number, n: number) => {
    if (o + n > bytes.byteLength) throw new RangeError(`share batch truncated at byte ${o}`);
  };
  const strings = new Map<number, string>();
  const readIp = (o: number, n: number): string => {
    // Key addresses by their bytes (at most 255, in practice under 40) to share the strings.
    let h = n;
    for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + bytes[o + i]!) | 0;
    let s = strings.get(h);
    if (s === undefined || !sameAscii(s, bytes, o, n)) {
      s = decoder.decode(bytes.subarray(o, o + n));
      strings.set(h, s);
    }
    return s;
  };
  need(0, 8);
  const na = view.getUint32(0);
  const nd = view.getUint32(4);
  let o = 8;
  const announcements: ShareAnnouncement[] = [];
  for (let i = 0; i < na; i++) {
    need(o, 6);
    const gone = view.getUint8(o) === 1;
    const eid = view.getUint32(o + 1);
    const n = view.getUint8(o + 5);
    need(o + 6, n);
    announcements.push({ ip: readIp(o + 6, n), eid, gone });
    o += 6 + n;
  }
  const datagrams: ShareDatagram[] = [];
  for (let i = 0; i < nd; i++) {
    need(o, 22);
    const at = view.getFloat64(o);
    const fromEid = view.getUint32(o + 8);
    const fromPort = view.getUint16(o + 12);
    const toPort = view.getUint16(o + 14);
    const nf = view.getUint8(o + 16);
    const nt = view.getUint8(o + 17);
    const len = view.getUint32(o + 18);
    o += 22;
    need(o, nf + nt + len);
    const fromIp = readIp(o, nf);
    o += nf;
    const toIp = readIp(o, nt);
    o += nt;
    const data = bytes.slice(o, o + len);
    o += len;
    datagrams.push({ at, fromIp, fromPort, fromEid, toIp, toPort, data });
  }
  return { announcements, datagrams };
}

/** Whether `s` is the ASCII text of `bytes[o, o + n)` (addresses are ASCII; others just miss the cache). */
function sameAscii(s: string, bytes: Uint8Array, o: number, n: number): boolean {
  if (s.length !== n) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) !== bytes[o + i]) return false;
  return true;
}
