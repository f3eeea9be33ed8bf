import type { Address } from './net.ts';

/**
 * Shares of one simulated internet: a {@link SimNet} can own a share of the public
 * address space and run on its own thread, with its own clock, while datagrams to
 * addresses of other shares cross between them in batches ("conservative" parallel
 * simulation, as in network simulators that split a topology across cores).
 *
 * Why it is exact: every datagram between shares takes at least the one-way latency L
 * of the core between shares ({@link SimNet.lookaheadMs}). The shares advance in windows of L: each runs
 * its clock to the window's end T, then all swap what they sent during the window. A
 * datagram sent at s in (T - L, T] arrives after s + L > T, so it is in the receiver's
 * hands before the receiver's clock passes T. Nothing from another share can arrive
 * "in the past", and a share never waits inside a window.
 *
 * What crosses at each swap (one {@link ShareBatch} per sender and receiver), in the order
 * it happened: announcements of public endpoints (hosts not behind a NAT, and NATs) that
 * appeared or went away, and datagrams. A receiver reads the senders' batches in share
 * order; an endpoint announced in a window is known before anything it sent is answered. Endpoint ids are striped by share (id * count + share), so the ids NATs
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
 * A batch is bytes ({@link ShareWriter}, {@link ShareReader}): no object per datagram, and
 * threads that share memory copy it as it is (share-mailbox.ts).
 * @module
 */

/** How a {@link SimNet} takes part in a shared simulation. */
export interface ShareOptions {
  /** This share's number, 0 <= index < count. */
  index: number;
  /** Number of shares. */
  count: number;
  /**
   * One-way latency of the core between shares, in ms (default: the core's). A share is
   * then a region: farther from the others than within itself. It is the lookahead.
   */
  latencyMs?: number;
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

/** What one share hands another at a swap: the records of a {@link ShareWriter}. */
export type ShareBatch = Uint8Array;

/** Who reads a batch: called for each record, in the order they were written. */
export interface ShareVisitor {
  /** A public endpoint appeared (`gone` false) or went away. */
  announce(ip: string, eid: number, gone: boolean): void;
  /**
   * A datagram reaches the receiver's edge (its NAT, or the host itself) at `at`. `from` is
   * the source as the receiver sees it (the sender's NAT mapping, or its own address; one
   * object per source, reused); `fromEid` the source edge (what restricted NATs filter on).
   * `data` is a view into the batch: copy it to keep it.
   */
  datagram(at: number, from: Address, fromEid: number, toIp: string, toPort: number, data: Uint8Array): void;
  /** A note from the code running on the network (see {@link SimNet.note}); a view into the batch. */
  note(bytes: Uint8Array): void;
}

const ANNOUNCE = 1;
const GONE = 2;
const DATAGRAM = 3;
const NOTE = 4;
/** Largest datagram a record holds (u16 length). */
const MAX_DATA = 65_535;

/**
 * Records for one receiving share, appended to a growing buffer (no object per datagram).
 *
 * Layout of a record: u8 kind, then for an announcement (kind 1, or 2 for gone) u32 eid,
 * u8 ip length, ip; for a datagram (kind 3) f64 at, u32 fromEid, u16 fromPort, u16 toPort,
 * u8 fromIp length, u8 toIp length, u16 data length, fromIp, toIp, data; for a note
 * (kind 4) u32 length, bytes. Addresses are ASCII (IPv4 or IPv6 text).
 */
export class ShareWriter {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  private length = 0;

  /** Bytes written since the last {@link take}. */
  get size(): number {
    return this.length;
  }

  announce(ip: string, eid: number, gone: boolean): void {
    this.room(6 + ip.length);
    const o = this.length;
    this.buf[o] = gone ? GONE : ANNOUNCE;
    this.view.setUint32(o + 1, eid);
    this.length = this.ascii(ip, o + 5);
  }

  datagram(at: number, fromIp: string, fromPort: number, fromEid: number, toIp: string, toPort: number, data: Uint8Array): void {
    const n = data.byteLength;
    if (n > MAX_DATA) throw new RangeError(`datagram of ${n} bytes is too large to cross shares (${MAX_DATA})`);
    this.room(21 + fromIp.length + toIp.length + n);
    const o = this.length;
    const v = this.view;
    this.buf[o] = DATAGRAM;
    v.setFloat64(o + 1, at);
    v.setUint32(o + 9, fromEid);
    v.setUint16(o + 13, fromPort);
    v.setUint16(o + 15, toPort);
    v.setUint16(o + 17, n);
    let p = this.ascii(fromIp, o + 19);
    p = this.ascii(toIp, p);
    this.buf.set(data, p);
    this.length = p + n;
  }

  /** A note: bytes for the code on the receiving share, in order with the datagrams. */
  note(bytes: Uint8Array): void {
    this.room(5 + bytes.byteLength);
    const o = this.length;
    this.buf[o] = NOTE;
    this.view.setUint32(o + 1, bytes.byteLength);
    this.buf.set(bytes, o + 5);
    this.length = o + 5 + bytes.byteLength;
  }

  /** The records written so far (a copy), and start over. */
  take(): ShareBatch {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }

  /** Copy the records into `out`, start over, and return the bytes written; throws a RangeError if they do not fit. */
  takeInto(out: Uint8Array): number {
    const n = this.length;
    if (n > out.byteLength) throw new RangeError(`share batch of ${n} bytes does not fit ${out.byteLength}`);
    out.set(this.buf.subarray(0, n));
    this.length = 0;
    return n;
  }

  /** Write `s` (ASCII) with its u8 length at `o`; returns the end. */
  private ascii(s: string, o: number): number {
    const n = s.length;
    if (n > 255) throw new RangeError(`address too long: ${s}`);
    const b = this.buf;
    b[o++] = n;
    for (let i = 0; i < n; i++) b[o++] = s.charCodeAt(i);
    return o;
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

/**
 * Reads batches for one receiving share. Source addresses are kept per (edge, port), so a
 * busy source costs no string or object per datagram (at most `maxAddresses`, then the
 * table starts over).
 */
export class ShareReader {
  private readonly addresses = new Map<number, Address>();
  private readonly ips = new Map<number, string>();

  constructor(private readonly maxAddresses = 1 << 16) {}

  /** Call `visitor` for each record of `batch`; throws a RangeError on a truncated or malformed batch. */
  read(batch: ShareBatch, visitor: ShareVisitor): void {
    const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    const end = batch.byteLength;
    const need = (o: number, n: number) => {
      if (o + n > end) throw new RangeError(`share batch truncated at byte ${o}`);
    };
    let o = 0;
    while (o < end) {
      const kind = batch[o]!;
      if (kind === DATAGRAM) {
        need(o, 20);
        const at = view.getFloat64(o + 1);
        const fromEid = view.getUint32(o + 9);
        const fromPort = view.getUint16(o + 13);
        const toPort = view.getUint16(o + 15);
        const n = view.getUint16(o + 17);
        const nf = batch[o + 19]!;
        need(o + 20, nf + 1);
        const fromAt = o + 20;
        const nt = batch[fromAt + nf]!;
        const toAt = fromAt + nf + 1;
        need(toAt, nt + n);
        const key = fromEid * 65536 + fromPort;
        let from = this.addresses.get(key);
        if (from === undefined || !sameAscii(from.host, batch, fromAt, nf)) {
          if (this.addresses.size >= this.maxAddresses) this.addresses.clear();
          from = { host: this.ip(batch, fromAt, nf), port: fromPort };
          this.addresses.set(key, from);
        }
        const toIp = this.ip(batch, toAt, nt);
        o = toAt + nt + n;
        visitor.datagram(at, from, fromEid, toIp, toPort, batch.subarray(toAt + nt, o));
      } else if (kind === NOTE) {
        need(o, 5);
        const n = view.getUint32(o + 1);
        need(o + 5, n);
        visitor.note(batch.subarray(o + 5, o + 5 + n));
        o += 5 + n;
      } else if (kind === ANNOUNCE || kind === GONE) {
        need(o, 6);
        const eid = view.getUint32(o + 1);
        const n = batch[o + 5]!;
        need(o + 6, n);
        visitor.announce(this.ip(batch, o + 6, n), eid, kind === GONE);
        o += 6 + n;
      } else {
        throw new RangeError(`share batch has an unknown record kind ${kind} at byte ${o}`);
      }
    }
  }

  /** The address text at `o`, one string per address (a hashed cache). */
  private ip(bytes: Uint8Array, o: number, n: number): string {
    let h = n;
    for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + bytes[o + i]!) | 0;
    let s = this.ips.get(h);
    if (s === undefined || !sameAscii(s, bytes, o, n)) {
      s = String.fromCharCode(...bytes.subarray(o, o + n));
      if (this.ips.size >= this.maxAddresses) this.ips.clear();
      this.ips.set(h, s);
    }
    return s;
  }
}
/** Whether `s` is the ASCII text of `bytes[o, o + n)` (addresses are ASCII; others just miss the cache). */
function sameAscii(s: string, bytes: Uint8Array, o: number, n: number): boolean {
  if (s.length !== n) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) !== bytes[o + i]) return false;
  return true;
}
