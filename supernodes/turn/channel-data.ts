/**
 * TURN ChannelData framing (RFC 8656 12.4): 2-byte channel number, 2-byte length,
 * payload (padding optional over UDP). Channel numbers 0x4000-0x4FFF per RFC 8656;
 * 0x5000-0x7FFF (RFC 5766's range, still used by coturn's clients) are accepted too.
 *
 * @module
 */

/** Lowest channel number. */
export const CHANNEL_MIN = 0x4000;
/** Highest channel number accepted (RFC 5766 range, for compatibility with coturn clients). */
export const CHANNEL_MAX = 0x7fff;
/** Highest channel number RFC 8656 allows; clients should stay at or below it. */
export const CHANNEL_MAX_RFC8656 = 0x4fff;

/** True if the first byte could start ChannelData (0x40-0x7F). */
export function isChannelDataByte(b: number): boolean {
  return b >= 0x40 && b <= 0x7f;
}

/** Encode ChannelData for `payload` (no padding: UDP). */
export function encodeChannelData(channel: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out[0] = channel >> 8;
  out[1] = channel & 0xff;
  out[2] = payload.length >> 8;
  out[3] = payload.length & 0xff;
  out.set(payload, 4);
  return out;
}

/** A decoded ChannelData message, or undefined if `data` is not valid ChannelData. */
export function decodeChannelData(data: Uint8Array): { channel: number; payload: Uint8Array } | undefined {
  if (data.length < 4 || !isChannelDataByte(data[0]!)) return undefined;
  const len = (data[2]! << 8) | data[3]!;
  if (4 + len > data.length || data.length > 4 + ((len + 3) & ~3)) return undefined;
  return { channel: (data[0]! << 8) | data[1]!, payload: data.subarray(4, 4 + len) };
}
