/**
 * Resampler throughput (codecs/resample.ts) in input samples per second, streaming in
 * 20 ms chunks, for the conversions tincan uses; 44.1 -> 48 kHz is also timed against
 * `sox` (rate effect at its default high quality) on the same 30 s signal, as a whole
 * process including file I/O. Best of 3 runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Emit } from './bench.ts';
import { Resampler } from '../codecs/resample.ts';
import { writeWav } from '../codecs/wav.ts';
import { whiteNoise } from '../codecs/tone.ts';

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
  try {
    execFileSync('sh', ['-c', 'command -v sox'], { stdio: 'ignore' });
  } catch {
    throw new Error('sox not found: install it (Debian: apt-get install sox) - the reference is required');
  }
  const seconds = 30;
  let soxRef = 0;
  for (const [from, to] of [[44100, 48000], [22050, 48000], [48000, 16000], [48000, 8000], [8000, 48000]] as const) {
    const x = whiteNoise(from * seconds, 1, 0.3);
    const chunk = from / 50;
    const s = best(3, () => {
      const rs = new Resampler({ from, to });
      for (let at = 0; at < x.length; at += chunk) rs.process(x.subarray(at, at + chunk));
      rs.flush();
    });
    const value = Math.round(x.length / s);
    const extra = { from, to, realtime: Math.round((seconds / s) * 10) / 10, tapsPerPhase: new Resampler({ from, to }).design.tapsPerPhase, loadAvg1m: Math.round(loadavg()[0]! * 100) / 100 };
    if (from === 44100 && to === 48000) {
      const dir = mkdtempSync(join(tmpdir(), 'tincan-rs-bench-'));
      try {
        writeFileSync(join(dir, 'in.wav'), writeWav({ sampleRate: from, channels: [x] }, 'float32'));
        const refS = best(3, () => execFileSync('sox', [join(dir, 'in.wav'), '-e', 'floating-point', join(dir, 'out.wav'), 'rate', String(to)], { stdio: 'ignore' }));
        soxRef = Math.round(x.length / refS);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      emit({ metric: `samplesPerSec_${from}_${to}`, value, unit: 'samples/s', ref: soxRef, ratio: Math.round((value / soxRef) * 100) / 100, refTool: 'sox rate', ...extra });
    } else {
      emit({ metric: `samplesPerSec_${from}_${to}`, value, unit: 'samples/s', ...extra });
    }
  }
}
