/**
 * Opus encoder and decoder for 48 kHz mono, on libopus 1.4 compiled to WASM (the
 * `opusscript` package).
 *
 * PCM in and out is **Int16Array, 48 kHz, mono** (one sample per element); the
 * `...Float` variants take/return Float32Array in [-1, 1] (clamped on the way in).
 *
 * We talk to opusscript's emscripten module directly rather than through its
 * `OpusScript` JS class: that class addresses its scratch buffers through
 * `HEAPU16.subarray(bytePointer)`, i.e. at twice the allocated address, which can
 * overwrite other instances' state once several encoders/decoders exist. Here every
 * instance owns correctly addressed buffers in the module heap.
 *
 * What the WASM build can and cannot do (verified by test/codecs/opus.test.ts):
 * - encoder CTLs work (bitrate, complexity, VBR, DTX, in-band FEC, expected loss,
 *   signal, application); getters work when given a heap pointer (lookahead, DTX state);
 * - decoding works; **concealment (PLC) works**: we feed a one-byte packet (TOC only),
 *   which libopus treats as a lost frame of the TOC's duration. (An empty packet would
 *   also conceal, but always 120 ms at once because the binding decodes into a 120 ms
 *   buffer.)
 * - **FEC decode does not**: the binding's `_decode` hard-codes `decode_fec = 0` and
 *   `opus_decode` is not exported. Receivers that want in-band FEC use
 *   {@link OpusFecDecoder} (codecs/opus-fec.ts, libopus WASM from `@evan/opus`), which
 *   decodes bit-exactly like this decoder and also recovers a lost frame from the next
 *   packet's FEC data. This encoder is what sends that FEC data.
 * @module
 */
import { createRequire } from 'node:module';
import { floatToInt16, int16ToFloat } from './pcm.ts';

/** Opus sample rate used throughout tincan. */
export const OPUS_SAMPLE_RATE = 48000;
/** Frame durations supported by {@link OpusEncoder}, in milliseconds. */
export type OpusFrameMs = 10 | 20 | 40 | 60;
/** Largest Opus packet we accept for decoding (RFC 6716 maximum is 1275 bytes per frame). */
export const OPUS_MAX_PACKET_BYTES = 1275 * 3;
/** Largest number of samples one packet can decode to (120 ms at 48 kHz). */
export const MAX_DECODE_SAMPLES = 5760;
const MAX_ENCODE_SAMPLES = 2880;

/** Error raised by the Opus wrapper: bad options, use after close, libopus errors. */
export class OpusError extends Error {
  override name = 'OpusError';
  /** libopus error code when the error came from libopus. */
  readonly code: number | undefined;
  constructor(message: string, code?: number) {
    super(message);
    this.code = code;
  }
}

const LIBOPUS_ERRORS: Record<number, string> = {
  [-1]: 'bad argument',
  [-2]: 'buffer too small',
  [-3]: 'internal error',
  [-4]: 'invalid packet',
  [-5]: 'unimplemented',
  [-6]: 'invalid state',
  [-7]: 'memory allocation failed',
};

/** An {@link OpusError} for a negative libopus return code, with libopus's name for it. */
export function libopusError(what: string, code: number): OpusError {
  return new OpusError(`${what}: libopus error ${code} (${LIBOPUS_ERRORS[code] ?? 'unknown'})`, code);
}

/** libopus CTL request numbers (opus_defines.h). */
const CTL = {
  SET_APPLICATION: 4000,
  SET_BITRATE: 4002,
  SET_MAX_BANDWIDTH: 4004,
  SET_VBR: 4006,
  SET_COMPLEXITY: 4010,
  SET_INBAND_FEC: 4012,
  SET_PACKET_LOSS_PERC: 4014,
  SET_DTX: 4016,
  SET_VBR_CONSTRAINT: 4020,
  SET_SIGNAL: 4024,
  GET_LOOKAHEAD: 4027,
  RESET_STATE: 4028,
  GET_LAST_PACKET_DURATION: 4039,
  GET_IN_DTX: 4049,
} as const;

const APPLICATION = { voip: 2048, audio: 2049, lowdelay: 2051 } as const;
const SIGNAL = { auto: -1000, voice: 3001, music: 3002 } as const;
const BANDWIDTH = { narrowband: 1101, mediumband: 1102, wideband: 1103, superwideband: 1104, fullband: 1105 } as const;

interface Handler {
  _encode(input: number, samples: number, output: number, frameSize: number): number;
  _decode(input: number, bytes: number, output: number): number;
  _encoder_ctl(ctl: number, arg: number): number;
  _decoder_ctl(ctl: number, arg: number): number;
}
interface NativeModule {
  OpusScriptHandler: { new (rate: number, channels: number, application: number): Handler; destroy_handler(h: Handler): void };
  _malloc(n: number): number;
  _free(p: number): void;
  HEAPU8: Uint8Array;
}

let native: NativeModule | undefined;
/** The emscripten module is instantiated once (synchronously) and shared by all instances. */
function nativeModule(): NativeModule {
  if (!native) {
    const require = createRequire(import.meta.url);
    const factory = require('opusscript/build/opusscript_native_wasm.js') as () => NativeModule;
    native = factory();
    if (typeof native.OpusScriptHandler !== 'function') throw new OpusError('opusscript WASM module did not initialise');
  }
  return native;
}

/** Frees native state of instances that were garbage-collected without close() (a safety net, not a substitute). */
const leaked = new FinalizationRegistry<NativeState>((state) => state.free());

/** Owns one native handler (libopus encoder + decoder pair) and its heap buffers. */
class NativeState {
  readonly m = nativeModule();
  readonly handler: Handler;
  readonly pcmPtr: number;
  readonly packetPtr: number;
  readonly scratchPtr: number;
  closed = false;

  constructor(application: number, readonly kind: string) {
    try {
      this.handler = new this.m.OpusScriptHandler(OPUS_SAMPLE_RATE, 1, application);
    } catch (err) {
      throw new OpusError(`cannot create ${kind}: ${typeof err === 'number' ? (LIBOPUS_ERRORS[err] ?? err) : String(err)}`);
    }
    // The binding passes PCM as one byte per 16-bit slot (see opusscript_encoder.cpp),
    // so PCM buffers hold 4 bytes per sample.
    this.pcmPtr = this.m._malloc(MAX_DECODE_SAMPLES * 4);
    this.packetPtr = this.m._malloc(OPUS_MAX_PACKET_BYTES + 16);
    this.scratchPtr = this.m._malloc(8);
    if (!this.pcmPtr || !this.packetPtr || !this.scratchPtr) {
      this.free();
      throw new OpusError(`cannot create ${kind}: out of WASM memory`);
    }
  }

  check(): void {
    if (this.closed) throw new OpusError(`${this.kind} is closed`);
  }

  /** Heap views are re-read on every use: the WASM memory may grow and detach old views. */
  get heap(): Uint8Array {
    return this.m.HEAPU8;
  }

  readI32(): number {
    const h = this.heap;
    const p = this.scratchPtr;
    return (h[p]! | (h[p + 1]! << 8) | (h[p + 2]! << 16) | (h[p + 3]! << 24)) | 0;
  }

  free(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pcmPtr) this.m._free(this.pcmPtr);
    if (this.packetPtr) this.m._free(this.packetPtr);
    if (this.scratchPtr) this.m._free(this.scratchPtr);
    if (this.handler) this.m.OpusScriptHandler.destroy_handler(this.handler);
  }
}

/** Encoder settings. Everything but `application` and `frameMs` can be changed later. */
export interface OpusEncoderOptions {
  /** Frame duration; default 20 ms (tincan's call default). */
  frameMs?: OpusFrameMs;
  /** Target bitrate in bit/s (6000..510000); default 24000. */
  bitrate?: number;
  /** 0 (fastest) .. 10 (best); default 9. */
  complexity?: number;
  /** Variable bitrate; default true. */
  vbr?: boolean;
  /** Constrained VBR (bounded burstiness); default false. */
  constrainedVbr?: boolean;
  /** Discontinuous transmission: near-empty packets during silence; default false. */
  dtx?: boolean;
  /** In-band FEC (LBRR, SILK/hybrid modes); default false. Needs `packetLossPercent > 0`. */
  fec?: boolean;
  /** Expected packet loss 0..100, steers FEC and robustness; default 0. */
  packetLossPercent?: number;
  /** libopus application; default 'voip'. */
  application?: keyof typeof APPLICATION;
  /** Signal type hint; default 'auto'. */
  signal?: keyof typeof SIGNAL;
  /** Upper bound on the coded audio bandwidth; default fullband. */
  maxBandwidth?: keyof typeof BANDWIDTH;
}

function intIn(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new OpusError(`${name} must be an integer in ${lo}..${hi}, got ${v}`);
  return v;
}

/**
 * Opus encoder, 48 kHz mono.
 *
 * ```ts
 * const enc = new OpusEncoder({ bitrate: 24000, fec: true, packetLossPercent: 10, dtx: true });
 * const packet = enc.encode(frame); // frame: Int16Array of enc.frameSamples (960 for 20 ms)
 * enc.close();
 * ```
 */
export class OpusEncoder {
  /** Frame duration in ms. */
  readonly frameMs: OpusFrameMs;
  /** Samples per frame (48 per ms). */
  readonly frameSamples: number;
  readonly #s: NativeState;

  constructor(options: OpusEncoderOptions = {}) {
    const frameMs = options.frameMs ?? 20;
    if (![10, 20, 40, 60].includes(frameMs)) throw new OpusError(`frameMs must be 10, 20, 40 or 60, got ${frameMs}`);
    const app = APPLICATION[options.application ?? 'voip'];
    if (app === undefined) throw new OpusError(`unknown application ${String(options.application)}`);
    this.frameMs = frameMs;
    this.frameSamples = (OPUS_SAMPLE_RATE / 1000) * frameMs;
    this.#s = new NativeState(app, 'OpusEncoder');
    leaked.register(this, this.#s, this);
    try {
      this.setBitrate(options.bitrate ?? 24000);
      this.setComplexity(options.complexity ?? 9);
      this.setVbr(options.vbr ?? true, options.constrainedVbr ?? false);
      this.setDtx(options.dtx ?? false);
      this.setFec(options.fec ?? false);
      this.setPacketLossPercent(options.packetLossPercent ?? 0);
      const signal = SIGNAL[options.signal ?? 'auto'];
      if (signal === undefined) throw new OpusError(`unknown signal ${String(options.signal)}`);
      this.#ctl('signal', CTL.SET_SIGNAL, signal);
      const bw = BANDWIDTH[options.maxBandwidth ?? 'fullband'];
      if (bw === undefined) throw new OpusError(`unknown maxBandwidth ${String(options.maxBandwidth)}`);
      this.#ctl('maxBandwidth', CTL.SET_MAX_BANDWIDTH, bw);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  #ctl(what: string, request: number, arg: number): void {
    this.#s.check();
    const r = this.#s.handler._encoder_ctl(request, arg);
    if (r < 0) throw libopusError(`OpusEncoder ${what}`, r);
  }

  /** Target bitrate in bit/s (6000..510000). */
  setBitrate(bps: number): void {
    this.#ctl('bitrate', CTL.SET_BITRATE, intIn('bitrate', bps, 6000, 510000));
  }
  /** Complexity 0..10. */
  setComplexity(c: number): void {
    this.#ctl('complexity', CTL.SET_COMPLEXITY, intIn('complexity', c, 0, 10));
  }
  /** VBR on/off, and whether VBR is constrained. */
  setVbr(vbr: boolean, constrained = false): void {
    this.#ctl('vbr', CTL.SET_VBR, vbr ? 1 : 0);
    this.#ctl('vbr constraint', CTL.SET_VBR_CONSTRAINT, constrained ? 1 : 0);
  }
  /** Discontinuous transmission on/off. */
  setDtx(on: boolean): void {
    this.#ctl('dtx', CTL.SET_DTX, on ? 1 : 0);
  }
  /** In-band FEC on/off (takes effect in SILK/hybrid modes with expected loss > 0). */
  setFec(on: boolean): void {
    this.#ctl('fec', CTL.SET_INBAND_FEC, on ? 1 : 0);
  }
  /** Expected packet loss in percent (0..100); the call layer feeds its measured loss here. */
  setPacketLossPercent(pct: number): void {
    this.#ctl('packetLossPercent', CTL.SET_PACKET_LOSS_PERC, intIn('packetLossPercent', pct, 0, 100));
  }

  /** Encoder lookahead in samples at 48 kHz (the codec's algorithmic delay; 312 for voip). */
  get lookahead(): number {
    this.#ctl('lookahead', CTL.GET_LOOKAHEAD, this.#s.scratchPtr);
    return this.#s.readI32();
  }

  /** True when the last frame was coded as DTX silence. */
  get inDtx(): boolean {
    this.#ctl('inDtx', CTL.GET_IN_DTX, this.#s.scratchPtr);
    return this.#s.readI32() !== 0;
  }

  /** Forget history (as after a new stream start). */
  reset(): void {
    this.#ctl('reset', CTL.RESET_STATE, 0);
  }

  /**
   * Encode one frame of exactly {@link frameSamples} samples. Returns a new packet; with
   * DTX on, silent frames come out as packets of 1-2 bytes that callers need not send
   * (see {@link isDtxPacket}).
   */
  encode(pcm: Int16Array): Uint8Array {
    const s = this.#s;
    s.check();
    const n = this.frameSamples;
    if (pcm.length !== n) throw new OpusError(`OpusEncoder.encode needs ${n} samples (${this.frameMs} ms), got ${pcm.length}`);
    // One byte per 16-bit slot, low byte first: the binding reassembles in place.
    const slots = new Uint16Array(s.heap.buffer, s.pcmPtr, n * 2);
    for (let i = 0; i < n; i++) {
      const v = pcm[i]!;
      slots[2 * i] = v & 0xff;
      slots[2 * i + 1] = (v >> 8) & 0xff;
    }
    const len = s.handler._encode(s.pcmPtr, n, s.packetPtr, n);
    if (len < 0) throw libopusError('OpusEncoder.encode', len);
    return s.heap.slice(s.packetPtr, s.packetPtr + len);
  }

  /** Encode a Float32 frame (values clamped to [-1, 1]). */
  encodeFloat(pcm: Float32Array): Uint8Array {
    return this.encode(floatToInt16(pcm));
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#s.closed;
  }

  /** Free the WASM state. Idempotent; any later call throws an OpusError. */
  close(): void {
    leaked.unregister(this);
    this.#s.free();
  }
}

/** Decoder settings. */
export interface OpusDecoderOptions {
  /** Duration concealed by {@link OpusDecoder.conceal} when none is given; default 20 ms. */
  frameMs?: OpusFrameMs;
}

/** TOC bytes of SILK-NB code-0 packets of 10/20/40/60 ms: only their duration matters to PLC. */
const PLC_TOC: Record<number, number> = { 480: 0 << 3, 960: 1 << 3, 1920: 2 << 3, 2880: 3 << 3 };

/**
 * Opus decoder, 48 kHz mono, with packet-loss concealment.
 *
 * ```ts
 * const dec = new OpusDecoder();
 * const pcm = packet ? dec.decode(packet) : dec.conceal(); // Int16Array, 960 samples for 20 ms
 * dec.close();
 * ```
 */
export class OpusDecoder {
  /** Default concealment duration in samples. */
  readonly frameSamples: number;
  readonly #s: NativeState;
  #decoded = 0;
  #concealed = 0;

  constructor(options: OpusDecoderOptions = {}) {
    const frameMs = options.frameMs ?? 20;
    if (![10, 20, 40, 60].includes(frameMs)) throw new OpusError(`frameMs must be 10, 20, 40 or 60, got ${frameMs}`);
    this.frameSamples = (OPUS_SAMPLE_RATE / 1000) * frameMs;
    this.#s = new NativeState(APPLICATION.voip, 'OpusDecoder');
    leaked.register(this, this.#s, this);
  }

  #run(bytes: number): Int16Array {
    const s = this.#s;
    const n = s.handler._decode(s.packetPtr, bytes, s.pcmPtr);
    if (n < 0) throw libopusError('OpusDecoder.decode', n);
    if (n > MAX_DECODE_SAMPLES) throw new OpusError(`OpusDecoder: decoder returned ${n} samples`);
    // Output: each sample as two 16-bit slots holding its low and high byte.
    const slots = new Uint16Array(s.heap.buffer, s.pcmPtr, n * 2);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) out[i] = (slots[2 * i + 1]! << 8) | (slots[2 * i]! & 0xff);
    return out;
  }

  /** Decode one packet (1..3825 bytes) to PCM of the packet's duration. Bad packets throw OpusError. */
  decode(packet: Uint8Array): Int16Array {
    const s = this.#s;
    s.check();
    if (packet.length === 0) throw new OpusError('OpusDecoder.decode: empty packet (use conceal() for a lost frame)');
    if (packet.length > OPUS_MAX_PACKET_BYTES) throw new OpusError(`OpusDecoder.decode: packet of ${packet.length} bytes exceeds ${OPUS_MAX_PACKET_BYTES}`);
    s.heap.set(packet, s.packetPtr);
    const pcm = this.#run(packet.length);
    this.#decoded++;
    return pcm;
  }

  /**
   * Conceal `samples` of lost audio (a multiple of 480, i.e. 10 ms; default one frame)
   * with libopus PLC; fades towards silence over consecutive losses. Before the first
   * packet it returns silence.
   */
  conceal(samples: number = this.frameSamples): Int16Array {
    const s = this.#s;
    s.check();
    if (!Number.isInteger(samples) || samples <= 0 || samples % 480 !== 0 || samples > MAX_DECODE_SAMPLES) {
      throw new OpusError(`OpusDecoder.conceal: samples must be a positive multiple of 480 up to ${MAX_DECODE_SAMPLES}, got ${samples}`);
    }
    const out = new Int16Array(samples);
    let at = 0;
    while (at < samples) {
      const left = samples - at;
      const chunk = left >= 2880 ? 2880 : left >= 1920 ? 1920 : left >= 960 ? 960 : 480;
      s.heap[s.packetPtr] = PLC_TOC[chunk]!;
      const pcm = this.#run(1);
      out.set(pcm.subarray(0, Math.min(pcm.length, left)), at);
      at += chunk;
    }
    this.#concealed++;
    return out;
  }

  /** Decode `packet`, or conceal one frame when it is null/undefined (lost). */
  decodeOrConceal(packet: Uint8Array | null | undefined, samples?: number): Int16Array {
    return packet ? this.decode(packet) : this.conceal(samples);
  }

  /** Float32 variant of {@link decode}. */
  decodeFloat(packet: Uint8Array): Float32Array {
    return int16ToFloat(this.decode(packet));
  }

  /** Float32 variant of {@link conceal}. */
  concealFloat(samples?: number): Float32Array {
    return int16ToFloat(this.conceal(samples));
  }

  /** Duration in samples of the last decoded or concealed packet. */
  get lastPacketDuration(): number {
    const s = this.#s;
    s.check();
    const r = s.handler._decoder_ctl(CTL.GET_LAST_PACKET_DURATION, s.scratchPtr);
    if (r < 0) throw libopusError('OpusDecoder lastPacketDuration', r);
    return s.readI32();
  }

  /** Counts of decoded packets and concealment calls. */
  get stats(): { decoded: number; concealed: number } {
    return { decoded: this.#decoded, concealed: this.#concealed };
  }

  /** Forget history (stream restart). */
  reset(): void {
    const s = this.#s;
    s.check();
    const r = s.handler._decoder_ctl(CTL.RESET_STATE, 0);
    if (r < 0) throw libopusError('OpusDecoder reset', r);
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#s.closed;
  }

  /** Free the WASM state. Idempotent; any later call throws an OpusError. */
  close(): void {
    leaked.unregister(this);
    this.#s.free();
  }
}

/** True for packets a DTX encoder emits during silence (1-2 bytes); they need not be sent. */
export function isDtxPacket(packet: Uint8Array): boolean {
  return packet.length <= 2;
}

/**
 * Number of samples (48 kHz) an Opus packet decodes to, from its TOC and frame count
 * (RFC 6716 section 3.1); throws OpusError on a malformed header.
 */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length < 1) throw new OpusError('Opus packet is empty');
  const toc = packet[0]!;
  const config = toc >> 3;
  let frame: number;
  if (config < 12) frame = [480, 960, 1920, 2880][config & 3]!;
  else if (config < 16) frame = [480, 960][config & 1]!;
  else frame = [120, 240, 480, 960][config & 3]!;
  const code = toc & 3;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 1 || code === 2) frames = 2;
  else {
    if (packet.length < 2) throw new OpusError('Opus code-3 packet lacks its frame count byte');
    frames = packet[1]! & 0x3f;
    if (frames === 0) throw new OpusError('Opus code-3 packet with zero frames');
  }
  const total = frame * frames;
  if (total > MAX_DECODE_SAMPLES) throw new OpusError(`Opus packet of ${total} samples exceeds 120 ms`);
  return total;
}

export { MAX_ENCODE_SAMPLES as OPUS_MAX_FRAME_SAMPLES };
