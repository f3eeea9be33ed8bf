import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Resampler, ResampleError, resample } from '../../codecs/resample.ts';
import { downmixToMono, mix, upmixMono } from '../../codecs/mix.ts';
import { sine } from '../../codecs/tone.ts';

const s = suite('codecs/resample');
const RATES = [8000, 16000, 24000, 44100, 48000];

function rms(x: Float32Array, from = 0, to = x.length): number {
  let e = 0;
  for (let i = from; i < to; i++) e += x[i]! * x[i]!;
  return Math.sqrt(e / Math.max(1, to - from));
}

s('a sine passes every rate pair with SNR >= 80 dB and no delay (measured worst 88.0 dB)', () => {
  let worst = Infinity;
  for (const from of RATES) {
    for (const to of RATES) {
      if (from === to) continue;
      const f = 0.3 * Math.min(from, to); // well inside both pass bands
      const y = resample(sine(f, from, from / 2, 0.5), from, to);
      assert.is(y.length, to / 2);
      const ref = sine(f, to, y.length, 0.5);
      let e = 0;
      let sig = 0;
      const edge = Math.ceil(to / 100); // skip 10 ms at both ends (filter start-up)
      for (let i = edge; i < y.length - edge; i++) (e += (y[i]! - ref[i]!) ** 2), (sig += ref[i]! ** 2);
      const snr = 10 * Math.log10(sig / e);
      worst = Math.min(worst, snr);
      assert.ok(snr >= 80, `${from}->${to} at ${f} Hz: SNR ${snr.toFixed(1)} dB`);
    }
  }
  console.log(`    resampler worst sine SNR ${worst.toFixed(1)} dB`);
});

s('content above the target Nyquist is attenuated by >= 60 dB (measured least 81.8 dB)', () => {
  let least = Infinity;
  for (const [from, to] of [[48000, 8000], [48000, 16000], [44100, 8000], [48000, 44100], [24000, 16000], [44100, 24000]] as const) {
    for (const f of [to / 2 + 200, to * 0.6, to * 0.9].filter((f) => f < from / 2 - 300)) {
      const x = sine(f, from, from / 2, 0.5);
      const y = resample(x, from, to);
      const att = 20 * Math.log10(rms(x) / rms(y, 100, y.length - 100));
      least = Math.min(least, att);
      assert.ok(att >= 60, `${from}->${to}, ${f.toFixed(0)} Hz: ${att.toFixed(1)} dB`);
    }
  }
  console.log(`    resampler least stop-band attenuation ${least.toFixed(1)} dB`);
});

s('chunked processing equals one-shot, for arbitrary chunkings (property)', () => {
  const x = sine(700, 44100, 6000, 0.4).map((v, i) => v + 0.1 * Math.sin(i * 0.37));
  for (const [from, to] of [[44100, 48000], [48000, 8000], [8000, 48000], [22050, 48000]] as const) {
    const whole = resample(x, from, to);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 1, maxLength: 12 }), (cuts) => {
        const rs = new Resampler({ from, to });
        const parts: Float32Array[] = [];
        let at = 0;
        for (const c of cuts) {
          parts.push(rs.process(x.subarray(at, Math.min(x.length, at + c))));
          at = Math.min(x.length, at + c);
        }
        parts.push(rs.process(x.subarray(at)));
        parts.push(rs.flush());
        const joined = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
        let k = 0;
        for (const p of parts) joined.set(p, (k += p.length) - p.length);
        assert.equal(Array.from(joined), Array.from(whole));
      }),
      { numRuns: 25 },
    );
  }
});

s('lengths: ceil(n * to / from) after flush; process() returns only complete samples', () => {
  for (const n of [0, 1, 2, 147, 160, 441, 1000]) assert.is(resample(new Float32Array(n), 44100, 48000).length, Math.ceil((n * 48000) / 44100));
  const rs = new Resampler({ from: 48000, to: 16000 });
  assert.is(rs.process(new Float32Array(0)).length, 0);
  assert.ok(rs.process(new Float32Array(480)).length <= 160);
});

s('bad rates throw ResampleError', () => {
  assert.throws(() => new Resampler({ from: 0, to: 48000 }), (e: unknown) => e instanceof ResampleError && /input rate/.test((e as Error).message));
  assert.throws(() => new Resampler({ from: 48000, to: 44100.5 }), /output rate/);
  assert.throws(() => new Resampler({ from: 48000, to: 47999 }), /too large a filter/);
});

s('stereo down-mix averages channels; up-mix duplicates; mix sums and clamps', () => {
  const st = new Float32Array([1, 0, 0.5, 0.5, -1, 1]);
  assert.equal(Array.from(downmixToMono(st, 2)), [0.5, 0.5, 0]);
  assert.equal(Array.from(upmixMono(new Float32Array([0.25, -0.5]), 2)), [0.25, 0.25, -0.5, -0.5]);
  assert.equal(Array.from(mix([new Float32Array([0.75, 0.5]), new Float32Array([0.75])])), [1, 0.5]);
  assert.throws(() => downmixToMono(st, 0), /channels/);
});

s.run();
