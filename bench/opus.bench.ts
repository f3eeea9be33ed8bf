/**
 * Opus encode/decode speed against native opus-tools, on the same ~30 s speech file.
 *
 * The speech comes from espeak-ng, resampled to 48 kHz mono with codecs/resample.ts and
 * written as 16-bit WAV. Ours: OpusEncoder/OpusDecoder (libopus 1.4 in WASM) at 24 kbit/s
 * VBR, 20 ms frames, complexity 10, application 'audio' - the opusenc defaults apart from
 * the bitrate. Reference: `opusenc --bitrate 24` and `opusdec` on the same file, timed as
 * whole processes (file I/O and Ogg included). Ours after one untimed warm-up pass (WASM
 * tier-up); 5 rounds interleaving ours and the reference, best of each.
 * Prints encodeRealtime and decodeRealtime (x realtime), each with ref and ratio = ours/ref.
 * Issue targets: encode ratio >= 0.5, decode >= 200x realtime.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Emit } from './bench.ts';
import { OpusDecoder, OpusEncoder } from '../codecs/opus.ts';
import { OpusFecDecoder } from '../codecs/opus-fec.ts';
import { readWav, writeWav } from '../codecs/wav.ts';
import { resample } from '../codecs/resample.ts';
import { floatToInt16 } from '../codecs/pcm.ts';

/** Timed rounds; each runs ours and the reference once, interleaved. */
const ROUNDS = 5;

const TEXT = [
  'This is a benchmark of the tincan audio path.',
  'Peer to peer voice calls travel through supernodes when a direct path is blocked by a firewall or a symmetric network address translator.',
  'The quick brown fox jumps over the lazy dog while the radio plays quietly in the kitchen and the kettle begins to whistle.',
  'Seven silver swans swam silently seaward, singing sweet songs of summer evenings, long ago and far away.',
  'Packets may be lost, delayed or reordered, so the receiver keeps an adaptive jitter buffer and conceals what never arrives.',
  'When the loss rate climbs, redundant audio is added to every packet, trading a little bandwidth for a lot of robustness.',
  'Numbers help too: one, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve.',
].join(' ');

function need(tool: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} not found: install it (Debian: apt-get install ${tool.startsWith('opus') ? 'opus-tools' : tool}) - the reference is required, not optional`);
  }
}

function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    min = Math.min(min, performance.now() - t);
  }
  return min / 1000;
}

export async function run(emit: Emit): Promise<void> {
  for (const t of ['espeak-ng', 'opusenc', 'opusdec']) need(t);
  const dir = mkdtempSync(join(tmpdir(), 'tincan-opus-bench-'));
  try {
    execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', join(dir, 'speech22k.wav'), TEXT], { stdio: 'ignore' });
    const src = readWav(new Uint8Array(readFileSync(join(dir, 'speech22k.wav'))));
    const x48 = resample(src.channels[0]!, src.sampleRate, 48000);
    // ~30 s, whole 20 ms frames.
    const pcm = floatToInt16(x48.subarray(0, Math.min(30 * 48000, Math.floor(x48.length / 960) * 960)));
    const seconds = pcm.length / 48000;
    const wavPath = join(dir, 'speech48k.wav');
    writeFileSync(wavPath, writeWav({ sampleRate: 48000, channels: [x48.subarray(0, pcm.length)] }, 'pcm16'));

    const frames: Int16Array[] = [];
    for (let at = 0; at < pcm.length; at += 960) frames.push(pcm.subarray(at, at + 960));
    let packets: Uint8Array[] = [];
    const enc = new OpusEncoder({ bitrate: 24000, complexity: 10, application: 'audio' });
    // Warm-up pass: lets V8 tier the WASM up from its baseline compiler before timing.
    packets = frames.map((f) => enc.encode(f));
    const warm = new OpusDecoder();
    for (const p of packets) warm.decode(p);
    warm.close();
    const oggPath = join(dir, 'speech.opus');
    const timeOurEncode = () =>
      best(1, () => {
        enc.reset();
        packets = frames.map((f) => enc.encode(f));
      });
    const dec = new OpusDecoder();
    const timeOurDecode = () =>
      best(1, () => {
        dec.reset();
        for (const p of packets) dec.decode(p);
      });
    // The decoder calls use (it can also recover lost frames from in-band FEC).
    const fecDec = new OpusFecDecoder();
    for (const p of packets) fecDec.decode(p);
    const timeFecDecode = () =>
      best(1, () => {
        fecDec.reset();
        for (const p of packets) fecDec.decode(p);
      });
    const timeRefEncode = () => best(1, () => execFileSync('opusenc', ['--quiet', '--bitrate', '24', '--comp', '10', '--framesize', '20', wavPath, oggPath], { stdio: 'ignore' }));
    const timeRefDecode = () => best(1, () => execFileSync('opusdec', ['--quiet', '--rate', '48000', oggPath, join(dir, 'decoded.wav')], { stdio: 'ignore' }));
    // Interleave ours and the reference so both see the same machine load; keep the best of each.
    let encS = Infinity;
    let decS = Infinity;
    let refEncS = Infinity;
    let refDecS = Infinity;
    let fecDecS = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      encS = Math.min(encS, timeOurEncode());
      refEncS = Math.min(refEncS, timeRefEncode());
      decS = Math.min(decS, timeOurDecode());
      refDecS = Math.min(refDecS, timeRefDecode());
      fecDecS = Math.min(fecDecS, timeFecDecode());
    }
    fecDec.close();
    enc.close();
    dec.close();

    const kbps = (packets.reduce((a, p) => a + p.length, 0) * 8) / seconds / 1000;
    const encodeRealtime = seconds / encS;
    const refEncode = seconds / refEncS;
    const decodeRealtime = seconds / decS;
    const refDecode = seconds / refDecS;
    const r = (v: number) => Math.round(v * 100) / 100;
    emit({ metric: 'encodeRealtime', value: r(encodeRealtime), unit: 'x', ref: r(refEncode), ratio: r(encodeRealtime / refEncode), refTool: 'opusenc', audioSeconds: r(seconds), kbps: r(kbps), loadAvg1m: r(loadavg()[0]!) });
    emit({ metric: 'decodeRealtime', value: r(decodeRealtime), unit: 'x', ref: r(refDecode), ratio: r(decodeRealtime / refDecode), refTool: 'opusdec', audioSeconds: r(seconds), loadAvg1m: r(loadavg()[0]!) });
    emit({ metric: 'fecDecoderRealtime', value: r(seconds / fecDecS), unit: 'x', ref: r(refDecode), ratio: r(seconds / fecDecS / refDecode), refTool: 'opusdec', decoder: 'OpusFecDecoder (@evan/opus WASM)', audioSeconds: r(seconds), loadAvg1m: r(loadavg()[0]!) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
