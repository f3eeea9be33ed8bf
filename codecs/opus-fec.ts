/**
 * Opus decoder with **in-band FEC recovery**, 48 kHz mono, on the libopus WASM build of
 * the `@evan/opus` package (MIT; libopus is BSD). opusscript's build cannot decode FEC
 * (see codecs/opus.ts); this one exports libopus's own
 * `opus_decode(st, data, len, pcm, frame_size, decode_fec)` with the LBRR branch compiled
 * in, so a lost frame can be rebuilt from the redundancy that the *next* packet carries.
 *
 * {@link OpusFecDecoder} is a drop-in replacement for `OpusDecoder` on the receive side
 * (same `decode`/`conceal`/`decodeOrConceal`/`lastPacketDuration`/`reset`/`close`, and the
 * same PCM: its plain decoding is bit-exact with opusscript's) plus
 * {@link OpusFecDecoder.decodeFec}, so `opusFrameDecoder(new OpusFecDecoder())`
 * (codecs/plc.ts) gives the playout its `fec` path. FEC must be decoded by the same
 * decoder instance that decodes the stream: it continues that decoder's state.
 *
 * FEC exists only when the sender's encoder had `fec: true` and `packetLossPercent > 0`
 * and coded in SILK or hybrid mode (speech at the usual VoIP bitrates); for any other
 * packet libopus falls back to concealment by itself, so `decodeFec` is never worse than
 * `conceal`.
 *
 * We load only the package's `.wasm` files (through `node:module` resolution and one
 * synchronous file read on first use), never its JS entry point, which prefers prebuilt
 * native addons; the SIMD build is used when the runtime validates SIMD (it decodes
 * bit-exactly like the plain one).
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { MAX_DECODE_SAMPLES, OPUS_MAX_PACKET_BYTES, OPUS_SAMPLE_RATE, OpusError, libopusError, opusPacketSamples, type OpusDecoderOptions } from './opus.ts';
import { int16ToFloat } from './pcm.ts';

/** The npm package that provides the WASM build (a dependency of tincan). */
export const OPUS_FEC_PACKAGE = '@evan/opus';

/** libopus decodes and conceals in multiples of 2.5 ms. */
const SAMPLE_QUANTUM = 120;
const CTL_GET_LAST_PACKET_DURATION = 4039;

/** The exports of `@evan/opus`'s libopus WASM that we use (plain C ABI, pointers are heap offsets). */
interface FecWasm {
  memory: WebAssembly.Memory;
  _initialize?: () => void;
  malloc(n: number): number;
  free(p: number): void;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(st: number, rate: number, channels: number): number;
  opus_decode(st: number, data: number, len: number, pcm: number, frameSize: number, decodeFec: number): number;
  opus_decoder_ctl_get(st: number, request: number): number;
}

const REQUIRED_EXPORTS = ['memory', 'malloc', 'free', 'opus_decoder_get_size', 'opus_decoder_init', 'opus_decode', 'opus_decoder_ctl_get'] as const;

/** A minimal module using one SIMD instruction (the same probe `@evan/opus` uses). */
const SIMD_PROBE = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11);

let wasm: FecWasm | undefined;

/** Instantiate the WASM once (synchronously) and share it between all decoders. */
function fecWasm(): FecWasm {
  if (wasm) return wasm;
  const variant = WebAssembly.validate(SIMD_PROBE) ? 'simd' : 'opus';
  let bytes: Uint8Array;
  try {
    const require = createRequire(import.meta.url);
    bytes = readFileSync(require.resolve(`${OPUS_FEC_PACKAGE}/wasm/${variant}.wasm`));
  } catch (err) {
    throw new OpusError(`Opus FEC decoder needs the ${OPUS_FEC_PACKAGE} package (npm install): ${(err as Error).message}`);
  }
  const noop = () => 0;
  // Copied into a plain ArrayBuffer (a Node Buffer's type admits a SharedArrayBuffer).
  const instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)), {
    // libopus never does I/O; these satisfy the emscripten/WASI runtime's imports.
    wasi_snapshot_preview1: {
      fd_seek: noop,
      fd_write: noop,
      fd_close: noop,
      proc_exit: (code: number) => {
        throw new OpusError(`${OPUS_FEC_PACKAGE} WASM aborted (exit ${code})`);
      },
    },
    // We re-read `memory.buffer` on every use, so growth needs no bookkeeping here.
    env: { emscripten_notify_memory_growth: noop },
  });
  const exports = instance.exports as unknown as FecWasm;
  for (const name of REQUIRED_EXPORTS) {
    if (!(name in exports)) throw new OpusError(`${OPUS_FEC_PACKAGE} WASM lacks export ${name}`);
  }
  if (exports.opus_decode.length !== 6) throw new OpusError(`${OPUS_FEC_PACKAGE} opus_decode has no decode_fec argument`);
  exports._initialize?.();
  wasm = exports;
  return wasm;
}

/** True when the FEC-capable WASM can be loaded here (the package is installed and valid). */
export function isOpusFecAvailable(): boolean {
  try {
    fecWasm();
    return true;
  } catch {
    return false;
  }
}

/** Owns one libopus decoder state and its heap buffers. */
class FecState {
  readonly w = fecWasm();
  readonly st: number;
  readonly packetPtr: number;
  readonly pcmPtr: number;
  closed = false;

  constructor() {
    this.st = this.w.malloc(this.w.opus_decoder_get_size(1));
    this.packetPtr = this.w.malloc(OPUS_MAX_PACKET_BYTES);
    this.pcmPtr = this.w.malloc(MAX_DECODE_SAMPLES * 2);
    if (!this.st || !this.packetPtr || !this.pcmPtr) {
      this.free();
      throw new OpusError('cannot create OpusFecDecoder: out of WASM memory');
    }
    this.init();
  }

  init(): void {
    const r = this.w.opus_decoder_init(this.st, OPUS_SAMPLE_RATE, 1);
    if (r < 0) throw libopusError('OpusFecDecoder init', r);
  }

  check(): void {
    if (this.closed) throw new OpusError('OpusFecDecoder is closed');
  }

  /** Run opus_decode; `packet` null conceals. Views are made after the call: memory may grow. */
  run(what: string, packet: Uint8Array | null, frameSize: number, fec: 0 | 1): Int16Array {
    const w = this.w;
    if (packet) new Uint8Array(w.memory.buffer, this.packetPtr, packet.length).set(packet);
    const n = w.opus_decode(this.st, packet ? this.packetPtr : 0, packet ? packet.length : 0, this.pcmPtr, frameSize, fec);
    if (n < 0) throw libopusError(what, n);
    if (n > frameSize) throw new OpusError(`${what}: decoder returned ${n} samples`);
    return new Int16Array(w.memory.buffer, this.pcmPtr, n).slice();
  }

  free(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of [this.st, this.packetPtr, this.pcmPtr]) if (p) this.w.free(p);
  }
}

/** Frees native state of decoders that were garbage-collected without close() (a safety net). */
const leaked = new FinalizationRegistry<FecState>((state) => state.free());

function checkSamples(what: string, samples: number): number {
  if (!Number.isInteger(samples) || samples <= 0 || samples % SAMPLE_QUANTUM !== 0 || samples > MAX_DECODE_SAMPLES) {
    throw new OpusError(`${what}: samples must be a positive multiple of ${SAMPLE_QUANTUM} (2.5 ms) up to ${MAX_DECODE_SAMPLES}, got ${samples}`);
  }
  return samples;
}

/**
 * Opus decoder, 48 kHz mono, with concealment and in-band FEC recovery.
 *
 * ```ts
 * const dec = new OpusFecDecoder();
 * // packet n lost, packet n+1 here: first rebuild n from n+1's FEC, then decode n+1 itself.
 * const frameN = dec.decodeFec(packetN1);
 * const frameN1 = dec.decode(packetN1);
 * dec.close();
 * ```
 */
export class OpusFecDecoder {
  /** Default concealment duration in samples. */
  readonly frameSamples: number;
  readonly #s: FecState;
  #decoded = 0;
  #concealed = 0;
  #fec = 0;

  constructor(options: OpusDecoderOptions = {}) {
    const frameMs = options.frameMs ?? 20;
    if (![10, 20, 40, 60].includes(frameMs)) throw new OpusError(`frameMs must be 10, 20, 40 or 60, got ${frameMs}`);
    this.frameSamples = (OPUS_SAMPLE_RATE / 1000) * frameMs;
    this.#s = new FecState();
    leaked.register(this, this.#s, this);
  }

  #packet(what: string, packet: Uint8Array): void {
    this.#s.check();
    if (packet.length === 0) throw new OpusError(`${what}: empty packet`);
    if (packet.length > OPUS_MAX_PACKET_BYTES) throw new OpusError(`${what}: packet of ${packet.length} bytes exceeds ${OPUS_MAX_PACKET_BYTES}`);
  }

  /** Decode one packet (1..3825 bytes) to PCM of the packet's duration. Bad packets throw OpusError. */
  decode(packet: Uint8Array): Int16Array {
    this.#packet('OpusFecDecoder.decode', packet);
    const pcm = this.#s.run('OpusFecDecoder.decode', packet, MAX_DECODE_SAMPLES, 0);
    this.#decoded++;
    return pcm;
  }

  /**
   * Rebuild the frame lost just before `packet` from the in-band FEC that `packet`
   * carries, then (as the caller should) decode `packet` itself with {@link decode}.
   * `samples` is the lost duration, by default `packet`'s own duration; when it is longer
   * than one frame of `packet`, libopus conceals the start and recovers the last frame.
   * Without FEC data (encoder without FEC, CELT mode, first packet) this is concealment.
   */
  decodeFec(packet: Uint8Array, samples?: number): Int16Array {
    this.#packet('OpusFecDecoder.decodeFec', packet);
    const n = checkSamples('OpusFecDecoder.decodeFec', samples ?? opusPacketSamples(packet));
    const pcm = this.#s.run('OpusFecDecoder.decodeFec', packet, n, 1);
    this.#fec++;
    return pcm;
  }

  /**
   * Conceal `samples` of lost audio (a multiple of 120, i.e. 2.5 ms; default one frame)
   * with libopus PLC; fades towards silence over consecutive losses. Before the first
   * packet it returns silence.
   */
  conceal(samples: number = this.frameSamples): Int16Array {
    this.#s.check();
    const pcm = this.#s.run('OpusFecDecoder.conceal', null, checkSamples('OpusFecDecoder.conceal', samples), 0);
    this.#concealed++;
    return pcm;
  }

  /** Decode `packet`, or conceal one frame when it is null/undefined (lost). */
  decodeOrConceal(packet: Uint8Array | null | undefined, samples?: number): Int16Array {
    return packet ? this.decode(packet) : this.conceal(samples);
  }

  /** Float32 variant of {@link decode}. */
  decodeFloat(packet: Uint8Array): Float32Array {
    return int16ToFloat(this.decode(packet));
  }

  /** Float32 variant of {@link decodeFec}. */
  decodeFecFloat(packet: Uint8Array, samples?: number): Float32Array {
    return int16ToFloat(this.decodeFec(packet, samples));
  }

  /** Float32 variant of {@link conceal}. */
  concealFloat(samples?: number): Float32Array {
    return int16ToFloat(this.conceal(samples));
  }

  /** Duration in samples of the last decoded, recovered or concealed audio. */
  get lastPacketDuration(): number {
    this.#s.check();
    return this.#s.w.opus_decoder_ctl_get(this.#s.st, CTL_GET_LAST_PACKET_DURATION);
  }

  /** Counts of decoded packets, concealment calls and FEC decodes (which may have fallen back to concealment). */
  get stats(): { decoded: number; concealed: number; fec: number } {
    return { decoded: this.#decoded, concealed: this.#concealed, fec: this.#fec };
  }

  /** Forget history (stream restart). */
  reset(): void {
    this.#s.check();
    this.#s.init();
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
