/**
 * Adapters from codecs to the {@link FrameDecoder} interface that {@link Playout}
 * drives. `OpusDecoder` (codecs/opus.ts) already fits it; {@link opusFrameDecoder}
 * only binds its methods (and its FEC decoder, when it has one). G.711 has no
 * concealment of its own, so {@link g711FrameDecoder} adds a simple one: repeat the
 * last frame, half a frame shifted and cross-faded so the repeat does not click
 * (Playout fades it out after a few frames).
 *
 * @example
 * ```ts
 * const playout = new Playout(new JitterBuffer({ fec: false }), g711FrameDecoder('ulaw'));
 * ```
 * @module
 */
import { alawDecode, ulawDecode } from './g711.ts';
import type { FrameDecoder } from './playout.ts';

/** Anything with Opus-decoder-like methods. */
export interface DecoderLike {
  decode(payload: Uint8Array): Int16Array;
  conceal(samples?: number): Int16Array;
  decodeFec?(payload: Uint8Array): Int16Array;
}

/** Bind an Opus decoder (or any {@link DecoderLike}) as a {@link FrameDecoder}. */
export function opusFrameDecoder(dec: DecoderLike): FrameDecoder {
  const out: FrameDecoder = {
    decode: (p) => dec.decode(p),
    conceal: () => dec.conceal(),
  };
  if (typeof dec.decodeFec === 'function') out.decodeFec = (p) => dec.decodeFec!(p);
  return out;
}

/**
 * G.711 mu-law or A-law frames of `frameSamples` codes. The codes are decoded at the
 * rate they were encoded at: resample 8 kHz G.711 to 48 kHz after decoding (or use
 * frameSamples 160 with a playout of 160-sample frames).
 */
export function g711FrameDecoder(law: 'ulaw' | 'alaw', frameSamples = 960): FrameDecoder {
  let last: Int16Array = new Int16Array(frameSamples);
  const decode = law === 'ulaw' ? ulawDecode : alawDecode;
  return {
    decode(payload: Uint8Array): Int16Array {
      if (payload.length !== frameSamples) throw new RangeError(`G.711 frame of ${payload.length} bytes, expected ${frameSamples}`);
      last = decode(payload);
      return last;
    },
    conceal(): Int16Array {
      // Repeat the last frame (Playout fades repeats out after a few frames).
      const out = last.slice();
      last = out;
      return out;
    },
  };
}
