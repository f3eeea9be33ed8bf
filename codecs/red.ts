/**
 * RED: RTP payload for redundant audio data (RFC 2198).
 *
 * A RED payload is a list of block headers followed by the blocks' data:
 * - each redundant block has a 4-byte header: F=1 (1 bit), block payload type (7),
 *   timestamp offset (14, how far before the RTP timestamp the block starts), block
 *   length (10, bytes);
 * - the primary block comes last and has a 1-byte header: F=0, payload type (7); its
 *   length is whatever remains.
 *
 * {@link parseRed} is a bounded parser: it rejects truncated headers, lengths that
 * overrun the payload and more than `maxBlocks` blocks with a {@link RedError}.
 * {@link RedEncoder} keeps the last `distance` frames and attaches them to each new one,
 * as WebRTC does for Opus (RED distance 1 or 2); {@link expandRed} turns a received
 * payload back into timestamped frames for the jitter buffer.
 * @module
 */

/** Largest timestamp offset a redundant block can carry (14 bits). */
export const RED_MAX_TIMESTAMP_OFFSET = 0x3fff;
/** Largest redundant block (10-bit length). */
export const RED_MAX_BLOCK_BYTES = 0x3ff;
/** Default bound on redundant blocks accepted per packet. */
export const RED_DEFAULT_MAX_BLOCKS = 8;

/** A malformed RED payload or invalid input to the packer. */
export class RedError extends Error {
  override name = 'RedError';
}

/** One redundant block. */
export interface RedBlock {
  /** RTP payload type of the block (0..127). */
  payloadType: number;
  /** How many timestamp units before the packet's RTP timestamp this block starts (0..16383). */
  timestampOffset: number;
  data: Uint8Array;
}

/** A RED payload: redundant blocks (oldest first, as sent) and the primary block. */
export interface RedPayload {
  redundant: RedBlock[];
  primary: { payloadType: number; data: Uint8Array };
}

function checkPt(pt: number): void {
  if (!Number.isInteger(pt) || pt < 0 || pt > 127) throw new RedError(`RED payload type must be 0..127, got ${pt}`);
}

/** Pack a RED payload. Redundant blocks are written in the given order (oldest first by convention). */
export function packRed(p: RedPayload): Uint8Array {
  checkPt(p.primary.payloadType);
  let size = 1 + p.primary.data.length;
  for (const b of p.redundant) {
    checkPt(b.payloadType);
    if (!Number.isInteger(b.timestampOffset) || b.timestampOffset < 0 || b.timestampOffset > RED_MAX_TIMESTAMP_OFFSET) {
      throw new RedError(`RED timestamp offset must be 0..${RED_MAX_TIMESTAMP_OFFSET}, got ${b.timestampOffset}`);
    }
    if (b.data.length > RED_MAX_BLOCK_BYTES) throw new RedError(`RED block of ${b.data.length} bytes exceeds ${RED_MAX_BLOCK_BYTES}`);
    size += 4 + b.data.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const b of p.redundant) {
    out[at++] = 0x80 | b.payloadType;
    out[at++] = b.timestampOffset >> 6;
    out[at++] = ((b.timestampOffset & 0x3f) << 2) | (b.data.length >> 8);
    out[at++] = b.data.length & 0xff;
  }
  out[at++] = p.primary.payloadType;
  for (const b of p.redundant) {
    out.set(b.data, at);
    at += b.data.length;
  }
  out.set(p.primary.data, at);
  return out;
}

/** Parse a RED payload; block data are views into `payload`. Throws RedError on malformed input. */
export function parseRed(payload: Uint8Array, options: { maxBlocks?: number } = {}): RedPayload {
  const maxBlocks = options.maxBlocks ?? RED_DEFAULT_MAX_BLOCKS;
  const headers: { payloadType: number; timestampOffset: number; length: number }[] = [];
  let at = 0;
  let primaryPt = -1;
  while (primaryPt < 0) {
    if (at >= payload.length) throw new RedError(`RED payload truncated in block header ${headers.length + 1} at byte ${at} of ${payload.length}`);
    const b0 = payload[at]!;
    if ((b0 & 0x80) === 0) {
      primaryPt = b0;
      at += 1;
      break;
    }
    if (headers.length >= maxBlocks) throw new RedError(`RED payload has more than ${maxBlocks} redundant blocks`);
    if (at + 4 > payload.length) throw new RedError(`RED payload truncated: redundant block header ${headers.length + 1} needs 4 bytes at byte ${at} of ${payload.length}`);
    const b1 = payload[at + 1]!;
    const b2 = payload[at + 2]!;
    const b3 = payload[at + 3]!;
    headers.push({ payloadType: b0 & 0x7f, timestampOffset: (b1 << 6) | (b2 >> 2), length: ((b2 & 0x03) << 8) | b3 });
    at += 4;
  }
  const redundant: RedBlock[] = [];
  for (const [i, h] of headers.entries()) {
    if (at + h.length > payload.length) {
      throw new RedError(`RED redundant block ${i + 1} claims ${h.length} bytes but only ${payload.length - at} remain`);
    }
    redundant.push({ payloadType: h.payloadType, timestampOffset: h.timestampOffset, data: payload.subarray(at, at + h.length) });
    at += h.length;
  }
  return { redundant, primary: { payloadType: primaryPt, data: payload.subarray(at) } };
}

/** A frame recovered from a RED payload, with its own RTP timestamp. */
export interface RedFrame {
  /** RTP timestamp of this frame (packet timestamp minus offset, modulo 2^32). */
  timestamp: number;
  payloadType: number;
  data: Uint8Array;
  /** True for a redundant copy, false for the primary. */
  redundant: boolean;
}

/**
 * Parse a RED payload received with RTP timestamp `rtpTimestamp` into frames, oldest first.
 * Empty redundant blocks are dropped.
 */
export function expandRed(payload: Uint8Array, rtpTimestamp: number, options: { maxBlocks?: number } = {}): RedFrame[] {
  const p = parseRed(payload, options);
  const frames: RedFrame[] = [];
  for (const b of p.redundant) {
    if (b.data.length === 0) continue;
    frames.push({ timestamp: (rtpTimestamp - b.timestampOffset) >>> 0, payloadType: b.payloadType, data: b.data, redundant: true });
  }
  frames.push({ timestamp: rtpTimestamp >>> 0, payloadType: p.primary.payloadType, data: p.primary.data, redundant: false });
  return frames;
}

/** Options for {@link RedEncoder}. */
export interface RedEncoderOptions {
  /** Payload type of the wrapped codec (e.g. Opus's negotiated PT). */
  payloadType: number;
  /** How many previous frames to repeat in each packet (RED distance); default 1, max 8. */
  distance?: number;
}

/**
 * Stateful RED packer: `encode(frame, ts)` returns a RED payload carrying `frame` as the
 * primary and up to `distance` previous frames as redundancy (skipping those too old for
 * a 14-bit offset or too large for a 10-bit length).
 */
export class RedEncoder {
  readonly payloadType: number;
  readonly distance: number;
  #history: { timestamp: number; data: Uint8Array }[] = [];

  constructor(options: RedEncoderOptions) {
    checkPt(options.payloadType);
    const d = options.distance ?? 1;
    if (!Number.isInteger(d) || d < 0 || d > RED_DEFAULT_MAX_BLOCKS) throw new RedError(`RED distance must be 0..${RED_DEFAULT_MAX_BLOCKS}, got ${d}`);
    this.payloadType = options.payloadType;
    this.distance = d;
  }

  /** Build the RED payload for `frame` with RTP timestamp `timestamp` and remember the frame. */
  encode(frame: Uint8Array, timestamp: number): Uint8Array {
    const ts = timestamp >>> 0;
    const redundant: RedBlock[] = [];
    for (const h of this.#history) {
      const offset = (ts - h.timestamp) >>> 0;
      if (offset === 0 || offset > RED_MAX_TIMESTAMP_OFFSET || h.data.length > RED_MAX_BLOCK_BYTES) continue;
      redundant.push({ payloadType: this.payloadType, timestampOffset: offset, data: h.data });
    }
    const out = packRed({ redundant, primary: { payloadType: this.payloadType, data: frame } });
    if (this.distance > 0) {
      // DTX frames (<= 2 bytes) carry nothing worth repeating.
      if (frame.length > 2) this.#history.push({ timestamp: ts, data: frame.slice() });
      while (this.#history.length > this.distance) this.#history.shift();
    }
    return out;
  }

  /** Forget the history (e.g. after a stream restart). */
  reset(): void {
    this.#history = [];
  }
}

/**
 * Suggested RED distance for a measured packet loss (percent): none below 2%, one
 * previous frame up to 15%, two above. Opus in-band FEC (decoded by OpusFecDecoder)
 * recovers a single lost frame at low quality; RED repeats whole frames, so it also
 * covers bursts, at the cost of one extra Opus payload (~60 bytes at 24 kbit/s) per
 * redundant frame.
 */
export function redDistanceForLoss(lossPercent: number): number {
  if (!(lossPercent >= 2)) return 0;
  return lossPercent <= 15 ? 1 : 2;
}
