/**
 * tincan codecs: pure audio building blocks (no I/O, nothing of ours imported).
 * - opus.ts: Opus encoder/decoder (48 kHz mono, PLC) on opusscript WASM
 * - g711.ts: mu-law / A-law, bit-exact with ITU-T G.191
 * - red.ts: RFC 2198 redundant audio
 * - resample.ts: band-limited streaming resampler
 * - wav.ts: WAV reader/writer on bytes
 * - level.ts: RMS/peak dBFS meter with ballistics
 * - mix.ts, pcm.ts: down-mix, mixing, sample-format conversion
 * - tone.ts: test signals; similarity.ts: objective similarity for tests
 * @module
 */
export * from './opus.ts';
export * from './g711.ts';
export * from './red.ts';
export * from './resample.ts';
export * from './wav.ts';
export * from './level.ts';
export * from './mix.ts';
export * from './pcm.ts';
export * from './tone.ts';
export * from './similarity.ts';
