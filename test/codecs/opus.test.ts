import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OpusDecoder, OpusEncoder, OpusError, isDtxPacket, opusPacketSamples } from '../../codecs/opus.ts';
import { floatToInt16 } from '../../codecs/pcm.ts';
import { compareAudio, type Similarity } from '../../codecs/similarity.ts';
import { seededRandom, sine, sweep, whiteNoise } from '../../codecs/tone.ts';
import { RedEncoder, expandRed } from '../../codecs/red.ts';
import { SENTENCES, speech48k } from './speech.ts';

const s = suite('codecs/opus');

function frames(pcm: Int16Array, n: number): Int16Array[] {
  const out: Int16Array[] = [];
  for (let at = 0; at < pcm.length; at += n) {
    const f = new Int16Array(n);
    f.set(pcm.subarray(at, at + n));
    out.push(f);
  }
  return out;
}

function energy(x: Int16Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return e / Math.max(1, x.length);
}

let speech: Float32Array;
let otherSpeech: Float32Array;
const fmt = (v: number) => v.toFixed(3);

/** Encode speech at 24 kbit/s in 20 ms frames; drop packets with a seeded 10% loss; decode with PLC (and RED if asked). */
function roundTrip(loss: number, opts: { red?: boolean; fec?: boolean } = {}): { sim: Similarity; kbps: number; lost: number; recovered: number } {
  const enc = new OpusEncoder({ bitrate: 24000, fec: opts.fec ?? false, packetLossPercent: opts.fec ? 10 : 0 });
  const dec = new OpusDecoder();
  const red = new RedEncoder({ payloadType: 111, distance: 1 });
  const rnd = seededRandom(20261126);
  const input = frames(floatToInt16(speech), 960);
  const received = new Map<number, Uint8Array>();
  let bytes = 0;
  let lost = 0;
  input.forEach((f, i) => {
    const packet = enc.encode(f);
    bytes += packet.length;
    const wire = opts.red ? red.encode(packet, i * 960) : packet;
    if (rnd() < loss) {
      lost++;
      return;
    }
    if (!opts.red) return void received.set(i, wire);
    for (const fr of expandRed(wire, i * 960)) if (!received.has(fr.timestamp / 960)) received.set(fr.timestamp / 960, fr.data);
  });
  const out = new Int16Array(input.length * 960);
  let recovered = 0;
  for (let i = 0; i < input.length; i++) {
    const p = received.get(i);
    out.set(dec.decodeOrConceal(p), i * 960);
    if (p) recovered++;
  }
  enc.close();
  dec.close();
  return { sim: compareAudio(speech, out, { sampleRate: 48000 }), kbps: (bytes * 8) / (speech.length / 48000) / 1000, lost, recovered: recovered - (input.length - lost) };
}

s.before(() => {
  speech = speech48k(SENTENCES[0]!);
  otherSpeech = speech48k(SENTENCES[1]!);
});

s('encodes 10/20/40/60 ms frames; packets decode to the frame duration', () => {
  for (const frameMs of [10, 20, 40, 60] as const) {
    const enc = new OpusEncoder({ frameMs });
    const dec = new OpusDecoder({ frameMs });
    const pcm = floatToInt16(sine(440, 48000, enc.frameSamples * 5, 0.3));
    for (const f of frames(pcm, enc.frameSamples)) {
      const p = enc.encode(f);
      assert.is(opusPacketSamples(p), enc.frameSamples);
      assert.is(dec.decode(p).length, enc.frameSamples);
    }
    assert.is(dec.lastPacketDuration, enc.frameSamples);
    enc.close();
    dec.close();
  }
});

s('a sweep survives 24 kbit/s (delay = lookahead 312 samples, SNR > 10 dB)', () => {
  const enc = new OpusEncoder();
  const dec = new OpusDecoder();
  assert.is(enc.lookahead, 312);
  const x = sweep(200, 4000, 48000, 48000, 0.3);
  const out = new Int16Array(48000);
  frames(floatToInt16(x), 960).forEach((f, i) => out.set(dec.decode(enc.encode(f)), i * 960));
  const sim = compareAudio(x, out, { sampleRate: 48000 });
  assert.ok(Math.abs(sim.lagSamples - 312) <= 6, `lag ${sim.lagSamples}`);
  assert.ok(sim.snrDb > 10, `snr ${sim.snrDb}`);
  enc.close();
  dec.close();
});

s('CTLs take effect: bitrate scales packet size, CBR fixes it, DTX shrinks silence to <= 2 bytes', () => {
  const pcm = floatToInt16(speech);
  const meanSize = (o: ConstructorParameters<typeof OpusEncoder>[0]) => {
    const enc = new OpusEncoder(o);
    const sizes = frames(pcm, 960).map((f) => enc.encode(f).length);
    enc.close();
    return sizes.reduce((a, b) => a + b, 0) / sizes.length;
  };
  const low = meanSize({ bitrate: 12000 });
  const high = meanSize({ bitrate: 64000 });
  assert.ok(high > 3 * low, `64k ${high} vs 12k ${low} bytes/packet`);
  const cbr = new OpusEncoder({ bitrate: 32000, vbr: false });
  const cbrSizes = new Set(frames(pcm, 960).slice(0, 50).map((f) => cbr.encode(f).length));
  cbr.close();
  assert.is(cbrSizes.size, 1, `CBR sizes ${[...cbrSizes]}`);
  const dtx = new OpusEncoder({ dtx: true });
  const silent = new Int16Array(960);
  const sizes = Array.from({ length: 60 }, () => dtx.encode(silent).length);
  // After ~200 ms of silence only 1-byte packets, with a comfort-noise refresh every 400 ms.
  const tiny = sizes.slice(20).filter((n) => n <= 2).length;
  assert.ok(tiny >= 36, `DTX sizes ${sizes}`);
  assert.ok(isDtxPacket(dtx.encode(silent)));
  assert.ok(dtx.inDtx);
  dtx.close();
});

s('in-band FEC is signalled: SILK packets carry the LBRR flag only when fec is on', () => {
  // TOC config < 16 = SILK or hybrid; for one 20 ms mono SILK frame the first two range-coded
  // bits (equiprobable, so the top bits of byte 1) are the VAD and LBRR flags (RFC 6716 4.2.3).
  const pcm = floatToInt16(speech);
  const lbrrShare = (fec: boolean) => {
    const enc = new OpusEncoder({ bitrate: 24000, fec, packetLossPercent: fec ? 10 : 0 });
    let silk = 0;
    let lbrr = 0;
    for (const f of frames(pcm, 960)) {
      const p = enc.encode(f);
      if (p.length > 2 && p[0]! >> 3 < 16) {
        silk++;
        if ((p[1]! >> 6) & 1) lbrr++;
      }
    }
    enc.close();
    return lbrr / Math.max(1, silk);
  };
  const off = lbrrShare(false);
  const on = lbrrShare(true);
  assert.is(off, 0);
  assert.ok(on > 0.5, `LBRR in ${(on * 100).toFixed(0)}% of SILK packets`);
});

s('PLC: conceal() continues a tone after a loss and fades over a long gap; silence before any packet', () => {
  const dec = new OpusDecoder();
  assert.equal(energy(dec.conceal()), 0);
  const enc = new OpusEncoder();
  const pcm = floatToInt16(sine(300, 48000, 960 * 20, 0.3));
  let last: Int16Array = new Int16Array(0);
  for (const f of frames(pcm, 960)) last = dec.decode(enc.encode(f));
  const first = dec.conceal();
  assert.is(first.length, 960);
  assert.ok(energy(first) > 0.3 * energy(last), `first concealed frame energy ${energy(first)} vs ${energy(last)}`);
  let later = first;
  for (let i = 0; i < 15; i++) later = dec.conceal();
  assert.ok(energy(later) < 0.1 * energy(first), 'concealment fades');
  assert.is(dec.conceal(1920).length, 1920);
  assert.is(dec.conceal(480).length, 480);
  assert.throws(() => dec.conceal(500), (e: unknown) => e instanceof OpusError && /multiple of 480/.test((e as Error).message));
  assert.is(dec.stats.concealed, 19);
  enc.close();
  dec.close();
});

s('close() frees state, is idempotent, and use after close is a clear OpusError', () => {
  const enc = new OpusEncoder();
  const dec = new OpusDecoder();
  enc.close();
  enc.close();
  dec.close();
  dec.close();
  assert.ok(enc.closed && dec.closed);
  assert.throws(() => enc.encode(new Int16Array(960)), (e: unknown) => e instanceof OpusError && /OpusEncoder is closed/.test((e as Error).message));
  assert.throws(() => enc.setBitrate(20000), /closed/);
  assert.throws(() => dec.decode(new Uint8Array([0xf8, 1, 2])), (e: unknown) => e instanceof OpusError && /OpusDecoder is closed/.test((e as Error).message));
  assert.throws(() => dec.conceal(), /closed/);
});

s('many live instances do not disturb each other (upstream OpusScript class would alias heap buffers)', () => {
  const x = floatToInt16(whiteNoise(960 * 10, 7, 0.2));
  const solo = new OpusEncoder();
  const expect = frames(x, 960).map((f) => solo.encode(f));
  solo.close();
  const crowd = Array.from({ length: 40 }, () => new OpusEncoder());
  const decs = Array.from({ length: 40 }, () => new OpusDecoder());
  frames(x, 960).forEach((f, i) => {
    for (const [j, e] of crowd.entries()) {
      const p = e.encode(f);
      assert.equal(p, expect[i], `encoder ${j} frame ${i}`);
      decs[j]!.decode(p);
    }
  });
  for (const e of crowd) e.close();
  for (const d of decs) d.close();
});

s('bad input gets clear errors', () => {
  assert.throws(() => new OpusEncoder({ frameMs: 30 as 20 }), /frameMs must be 10, 20, 40 or 60/);
  assert.throws(() => new OpusEncoder({ bitrate: 1000 }), /bitrate must be an integer in 6000..510000/);
  assert.throws(() => new OpusEncoder({ complexity: 11 }), /complexity/);
  assert.throws(() => new OpusEncoder({ packetLossPercent: 101 }), /packetLossPercent/);
  const enc = new OpusEncoder();
  assert.throws(() => enc.encode(new Int16Array(100)), /needs 960 samples/);
  enc.close();
  const dec = new OpusDecoder();
  assert.throws(() => dec.decode(new Uint8Array(0)), /empty packet/);
  assert.throws(() => dec.decode(new Uint8Array(5000)), /exceeds/);
  // Code-3 packet announcing 63 frames of 60 ms: invalid.
  assert.throws(() => dec.decode(new Uint8Array([0x1b, 0x3f, 0, 0])), (e: unknown) => e instanceof OpusError && /invalid packet|buffer too small/.test((e as Error).message));
  assert.throws(() => opusPacketSamples(new Uint8Array([0x1b, 0x3f])), /exceeds 120 ms/);
  // The decoder keeps working after a bad packet.
  const enc2 = new OpusEncoder();
  assert.is(dec.decode(enc2.encode(new Int16Array(960))).length, 960);
  enc2.close();
  dec.close();
});

s('float PCM in and out', () => {
  const enc = new OpusEncoder();
  const dec = new OpusDecoder();
  const out = dec.decodeFloat(enc.encodeFloat(sine(440, 48000, 960, 0.5)));
  assert.ok(out instanceof Float32Array && out.length === 960);
  assert.ok(dec.concealFloat() instanceof Float32Array);
  enc.close();
  dec.close();
});

s('speech at 24 kbit/s: envelope correlation >= 0.95, log-spectral distance <= 7.5 dB (measured 0.981 / 6.0 dB)', () => {
  const r = roundTrip(0);
  console.log(`    opus 24k clean: ${r.kbps.toFixed(1)} kbit/s, envCorr ${fmt(r.sim.envelopeCorrelation)}, LSD ${fmt(r.sim.logSpectralDistanceDb)} dB, lag ${r.sim.lagSamples}`);
  assert.ok(r.kbps > 20 && r.kbps < 28, `bitrate ${r.kbps}`);
  assert.ok(Math.abs(r.sim.lagSamples - 312) < 48, `lag ${r.sim.lagSamples}`);
  assert.ok(r.sim.envelopeCorrelation >= 0.95, `envCorr ${r.sim.envelopeCorrelation}`);
  assert.ok(r.sim.logSpectralDistanceDb <= 7.5, `LSD ${r.sim.logSpectralDistanceDb}`);
  // The measure separates different speech clearly.
  const other = compareAudio(speech, otherSpeech, { sampleRate: 48000 });
  assert.ok(other.envelopeCorrelation < 0.3, `different sentence envCorr ${other.envelopeCorrelation}`);
  assert.ok(other.logSpectralDistanceDb > 15, `different sentence LSD ${other.logSpectralDistanceDb}`);
});

s('speech with 10% seeded loss + PLC (+ in-band FEC sent): envelope correlation >= 0.85, LSD <= 9.5 dB (measured 0.907 / 8.2 dB)', () => {
  const r = roundTrip(0.1, { fec: true });
  console.log(`    opus 24k 10% loss PLC: lost ${r.lost}, envCorr ${fmt(r.sim.envelopeCorrelation)}, LSD ${fmt(r.sim.logSpectralDistanceDb)} dB`);
  assert.ok(r.lost > 15, `lost ${r.lost}`);
  assert.ok(r.sim.envelopeCorrelation >= 0.85, `envCorr ${r.sim.envelopeCorrelation}`);
  assert.ok(r.sim.logSpectralDistanceDb <= 9.5, `LSD ${r.sim.logSpectralDistanceDb}`);
});

s('speech with 10% seeded loss + RED distance 1: recovers isolated losses (26 of 32), envelope correlation >= 0.93, LSD <= 7.5 dB (measured 0.954 / 6.8 dB)', () => {
  const r = roundTrip(0.1, { red: true });
  console.log(`    opus 24k 10% loss RED: lost ${r.lost}, recovered ${r.recovered}, envCorr ${fmt(r.sim.envelopeCorrelation)}, LSD ${fmt(r.sim.logSpectralDistanceDb)} dB`);
  assert.ok(r.recovered >= 0.75 * r.lost, `recovered ${r.recovered} of ${r.lost}`);
  assert.ok(r.sim.envelopeCorrelation >= 0.93, `envCorr ${r.sim.envelopeCorrelation}`);
  assert.ok(r.sim.logSpectralDistanceDb <= 7.5, `LSD ${r.sim.logSpectralDistanceDb}`);
});

s.run();
