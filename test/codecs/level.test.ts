import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LevelMeter, peakDbfs, rmsDbfs, toDbfs } from '../../codecs/level.ts';
import { floatToInt16, int16ToFloat } from '../../codecs/pcm.ts';
import { sine } from '../../codecs/tone.ts';

const s = suite('codecs/level');
const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

s('RMS and peak in dBFS: full-scale sine -3.01 / 0 dBFS, -20 dB sine, square 0 dBFS, silence at the floor', () => {
  const full = sine(1000, 48000, 4800, 1);
  close(rmsDbfs(full), -3.01, 0.01, 'sine rms');
  close(peakDbfs(full), 0, 0.01, 'sine peak');
  const quiet = sine(1000, 48000, 4800, 0.1);
  close(rmsDbfs(quiet), -23.01, 0.01, '-20 dB sine rms');
  close(rmsDbfs(new Float32Array(100).fill(1)), 0, 1e-9, 'square');
  assert.is(rmsDbfs(new Float32Array(100)), -120);
  assert.is(rmsDbfs(new Float32Array(0), -96), -96);
  close(rmsDbfs(floatToInt16(quiet)), -23.01, 0.01, 'Int16 input');
  assert.is(toDbfs(0.5).toFixed(2), '-6.02');
});

s('meter: window RMS, fast attack, slow release (VU ballistics)', () => {
  const m = new LevelMeter({ sampleRate: 48000, windowMs: 50, attackMs: 10, releaseMs: 300 });
  const loud = sine(1000, 48000, 960, 0.5);
  const silent = new Float32Array(960);
  let r = m.process(silent);
  assert.is(r.rmsDb, -96);
  r = m.process(loud); // 40 ms seen, half of it tone: -9.03 dB - 3.01 dB
  close(r.rmsDb, -12.04, 0.05, 'first frame');
  for (let i = 0; i < 3; i++) r = m.process(loud);
  close(r.rmsDb, -9.03, 0.05, 'steady rms');
  close(r.peakDb, -6.02, 0.05, 'peak');
  assert.ok(r.smoothedRmsDb > -9.5, `attack reached ${r.smoothedRmsDb} after 80 ms`);
  r = m.process(silent);
  r = m.process(silent);
  r = m.process(silent);
  assert.is(r.rmsDb, -96);
  // 60 ms into silence the smoothed level has fallen, but slowly (release 300 ms).
  assert.ok(r.smoothedRmsDb < -9.5 && r.smoothedRmsDb > -12, `release ${r.smoothedRmsDb}`);
  assert.ok(r.smoothedPeakDb > -9 && r.smoothedPeakDb < -6.02, `peak marker ${r.smoothedPeakDb}`);
  m.reset();
  assert.is(m.process(silent).smoothedRmsDb, -96);
  assert.throws(() => new LevelMeter({ sampleRate: 0 }), /sampleRate/);
});

s('running sum stays exact over long runs (no drift)', () => {
  const m = new LevelMeter({ sampleRate: 8000, windowMs: 10 });
  const x = int16ToFloat(floatToInt16(sine(300, 8000, 80, 0.3)));
  let r = m.process(x);
  for (let i = 0; i < 5000; i++) r = m.process(x);
  close(r.rmsDb, rmsDbfs(x), 1e-6, 'after 400k samples');
});

s.run();
