/**
 * The call audio pipeline end to end over real WebRTC on loopback (a loopback-only
 * namespace): speech from espeak-ng played into one MediaSession is recorded out of the
 * other through Opus, RTP/SRTP, the jitter buffer and the playout.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastJson, runInLoopbackNetns } from '../helpers/loopback-netns.ts';
import { espeakWav, SENTENCES } from '../codecs/speech.ts';

const pipeline = suite('call audio pipeline (werift, loopback namespace)');

let dir = '';
pipeline.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tincan-pipeline-'));
});
pipeline.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Thresholds on test/helpers/warped-similarity.ts figures (piecewise alignment, since the
 * live jitter buffer stretches time): Opus 24 kbit/s alone gives envelope correlation
 * ~0.98 and LSD ~6 dB (codecs/similarity.ts); we measured 0.96-0.98 and 6-8 dB here.
 */
const MIN_ENVELOPE_CORRELATION = 0.9;
const MAX_LSD_DB = 10;

pipeline(`speech in one end comes out of the other: envelope correlation >= ${MIN_ENVELOPE_CORRELATION}, LSD <= ${MAX_LSD_DB} dB; stats every second`, async () => {
  const wav = join(dir, 'speech.wav');
  writeFileSync(wav, espeakWav(SENTENCES[1]!));
  const r = lastJson<{
    setupMs: number; redNegotiated: boolean; referenceMs: number; recordedMs: number;
    similarity: { envelopeCorrelation: number; logSpectralDistanceDb: number; lagSamples: number };
    warped: { envelopeCorrelation: number; meanEnvelopeCorrelation: number; logSpectralDistanceDb: number; pieces: number };
    finalA: Record<string, number | string>; finalB: Record<string, number | string>;
    sourcesB: Record<string, number>; maxRecvKbpsB: number; bestMosB: number; minJitterBufferMsB: number; samplesA: number; samplesB: number;
  }>(await runInLoopbackNetns('test/call/audio-pipeline.script.ts', [wav], 90_000));
  console.log(JSON.stringify({ setupMs: r.setupMs, warped: r.warped, globalEnvelopeCorrelation: r.similarity.envelopeCorrelation, sourcesB: r.sourcesB, statsB: r.finalB }));
  assert.ok(r.redNegotiated, 'RED negotiated between two MediaSessions');
  assert.ok(r.warped.pieces >= 8, `${r.warped.pieces} pieces compared`);
  assert.ok(r.warped.envelopeCorrelation >= MIN_ENVELOPE_CORRELATION, `envelope correlation ${r.warped.envelopeCorrelation}`);
  assert.ok(r.warped.logSpectralDistanceDb <= MAX_LSD_DB, `LSD ${r.warped.logSpectralDistanceDb} dB`);
  assert.ok(r.recordedMs >= r.referenceMs * 0.9, `recorded ${r.recordedMs} ms of ${r.referenceMs} ms`);
  assert.ok(r.samplesA >= 2 && r.samplesB >= 2, 'a stats sample every second');
  const b = r.finalB;
  assert.is(b.path, 'direct');
  assert.ok(Number(b.packetsReceived) > 0 && Number(b.packetsSent) > 0);
  assert.ok(Number(b.lossPct) === 0, `loss ${b.lossPct}% on loopback`);
  assert.ok(Number(b.jitterMs) >= 0 && Number(b.jitterMs) < 40, `jitter ${b.jitterMs} ms`);
  // Per-second samples during the call (the final one is taken after the speech ended).
  assert.ok(r.bestMosB >= 4, `best MOS ${r.bestMosB}`);
  assert.ok(r.maxRecvKbpsB > 5 && r.maxRecvKbpsB < 60, `receive bitrate ${r.maxRecvKbpsB} kbit/s`);
  assert.ok(r.minJitterBufferMsB >= 0 && r.minJitterBufferMsB <= 150, `jitter buffer ${r.minJitterBufferMsB} ms`);
  assert.ok(Number(r.sourcesB.decoded) > 50, 'frames decoded');
});

pipeline.run();
