import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bestLag, compareAudio, fft } from '../../codecs/similarity.ts';
import { sweep, whiteNoise } from '../../codecs/tone.ts';

const s = suite('codecs/similarity');

s('fft matches a direct DFT and inverts', () => {
  const n = 64;
  const x = whiteNoise(n, 3);
  const re = Float64Array.from(x);
  const im = new Float64Array(n);
  fft(re, im);
  for (const k of [0, 1, 5, 31, 32, 63]) {
    let r = 0;
    let i = 0;
    for (let t = 0; t < n; t++) (r += x[t]! * Math.cos((-2 * Math.PI * k * t) / n)), (i += x[t]! * Math.sin((-2 * Math.PI * k * t) / n));
    assert.ok(Math.abs(r - re[k]!) < 1e-9 && Math.abs(i - im[k]!) < 1e-9, `bin ${k}`);
  }
  fft(re, im, true);
  for (let t = 0; t < n; t++) assert.ok(Math.abs(re[t]! - x[t]!) < 1e-9);
  assert.throws(() => fft(new Float64Array(3), new Float64Array(3)), /power of two/);
});

s('finds the delay of a shifted copy (either direction) and scores it as identical', () => {
  const x = sweep(100, 6000, 16000, 16000, 0.5);
  for (const lag of [0, 37, -120, 800]) {
    const y = new Float32Array(x.length);
    for (let i = 0; i < y.length; i++) y[i] = x[i - lag] ?? 0;
    assert.is(bestLag(x, y, 1000).lag, lag);
    const sim = compareAudio(x, y, { sampleRate: 16000 });
    assert.is(sim.lagSamples, lag);
    assert.ok(sim.envelopeCorrelation > 0.999, `envCorr ${sim.envelopeCorrelation}`);
    assert.ok(sim.logSpectralDistanceDb < 0.01, `LSD ${sim.logSpectralDistanceDb}`);
    assert.ok(sim.snrDb > 100);
  }
});

s('scores degraded and unrelated signals lower: noise added at 10 dB SNR vs unrelated noise', () => {
  const x = sweep(100, 6000, 16000, 16000, 0.5);
  const n = whiteNoise(x.length, 9, 0.5 * Math.SQRT1_2 * 10 ** (-10 / 20) * Math.sqrt(3));
  const noisy = x.map((v, i) => v + n[i]!);
  const a = compareAudio(x, noisy, { sampleRate: 16000 });
  assert.ok(Math.abs(a.snrDb - 10) < 0.5, `snr ${a.snrDb}`);
  assert.ok(a.logSpectralDistanceDb > 1, `LSD ${a.logSpectralDistanceDb}`);
  const b = compareAudio(x, whiteNoise(x.length, 10, 0.3), { sampleRate: 16000 });
  assert.ok(b.xcorr < 0.1, `xcorr ${b.xcorr}`);
  assert.ok(b.logSpectralDistanceDb > a.logSpectralDistanceDb);
});

s.run();
