/**
 * Test helper (not a suite): synthesises speech with espeak-ng (installed here and in CI)
 * and returns it as 48 kHz mono Float32, resampled from espeak's 22050 Hz with our
 * resampler. Fails loudly when espeak-ng is missing (no skipping).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWav } from '../../codecs/wav.ts';
import { resample } from '../../codecs/resample.ts';
import { downmixToMono } from '../../codecs/mix.ts';

export const SENTENCES = [
  'The quick brown fox jumps over the lazy dog while the radio plays quietly in the kitchen.',
  'Peer to peer voice calls travel through supernodes when a direct path is blocked.',
  'Seven silver swans swam silently seaward, singing sweet songs of summer evenings.',
];

/** espeak-ng output as a WAV byte buffer. */
export function espeakWav(text: string, options: { speed?: number; voice?: string } = {}): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'tincan-speech-'));
  try {
    const file = join(dir, 'speech.wav');
    execFileSync('espeak-ng', ['-v', options.voice ?? 'en-us', '-s', String(options.speed ?? 160), '-w', file, text], { stdio: ['ignore', 'ignore', 'pipe'] });
    return new Uint8Array(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Speech at 48 kHz mono (Float32 in [-1, 1]). */
export function speech48k(text: string, options: { speed?: number; voice?: string } = {}): Float32Array {
  const wav = readWav(espeakWav(text, options));
  const mono = wav.channels.length === 1 ? wav.channels[0]! : downmixToMono(interleave2(wav.channels), wav.channels.length);
  return resample(mono, wav.sampleRate, 48000);
}

function interleave2(ch: Float32Array[]): Float32Array {
  const out = new Float32Array(ch[0]!.length * ch.length);
  for (let i = 0; i < ch[0]!.length; i++) for (let c = 0; c < ch.length; c++) out[i * ch.length + c] = ch[c]![i]!;
  return out;
}
