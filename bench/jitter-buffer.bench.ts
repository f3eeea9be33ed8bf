/**
 * Jitter buffer benchmark: throughput (packets through insert + pull per second) and
 * the delay / concealment figures under the network models of issue 4, each over 8
 * seeds (60 s of 20 ms packets per run). Reproduce: `npm run bench -- jitter-buffer`.
 *
 * Models (see codecs/jitter-sim.ts): one-way delay = 40 ms + uniform jitter; "±30 ms"
 * is netem's `delay 40ms 30ms` shape (60 ms peak-to-peak, RFC 3550 jitter ~20 ms),
 * with 5 % random loss and the reordering that such jitter causes (~24 % of packets).
 * "Excess concealment" counts every frame not played from its own packet although the
 * packet was sent (concealed, preemptively expanded or FEC-repaired, minus true losses).
 * "Added delay" is playout time minus (send time + the minimum network delay).
 */
import type { Emit } from './bench.ts';
import { JitterBuffer, type RtpPacket } from '../codecs/jitter-buffer.ts';
import { type LinkModel, type LinkResult, simulateLink } from '../codecs/jitter-sim.ts';
import { SeededRandom } from '../src/random.ts';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

function across(model: Omit<LinkModel, 'random'>): LinkResult[] {
  return SEEDS.map((seed) => {
    const r = new SeededRandom(seed);
    return simulateLink({ random: () => r.float(), ...model });
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const max = (xs: number[]) => Math.max(...xs);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function throughput(): number {
  // A 60 s stream with ±30 ms jitter and 5 % loss, pre-built so only the buffer is timed.
  const r = new SeededRandom(42);
  const packets: RtpPacket[] = [];
  for (let n = 0; n < 3000; n++) {
    if (r.float() < 0.05) continue;
    packets.push({ seq: n & 0xffff, timestamp: (n * 960) >>> 0, arrivalMs: n * 20 + 40 + r.float() * 60, payload: new Uint8Array(60) });
  }
  packets.sort((a, b) => a.arrivalMs - b.arrivalMs);
  let count = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < 2000) {
    const jb = new JitterBuffer();
    let i = 0;
    for (let now = 0; now < 3000 * 20 + 200; now += 20) {
      while (i < packets.length && packets[i]!.arrivalMs <= now) jb.insert(packets[i++]!);
      jb.pull(now);
    }
    count += packets.length;
    elapsed = performance.now() - t0;
  }
  return count / (elapsed / 1000);
}

/** See module docs. */
export async function run(emit: Emit): Promise<void> {
  emit({ metric: 'throughput (insert + pull)', value: Math.round(throughput()), unit: 'packets/s' });

  const report = (name: string, model: Omit<LinkModel, 'random'>) => {
    const rs = across({ seconds: 60, ...model });
    const e = rs.map((x) => x.excessConcealedPct);
    const d = rs.map((x) => x.addedDelayMeanMs);
    emit({ metric: `${name}: excess concealment (mean of 8 seeds)`, value: round(mean(e)), unit: '%', worst: round(max(e)) });
    emit({ metric: `${name}: added delay (mean of 8 seeds)`, value: round(mean(d), 1), unit: 'ms', worst: round(max(d), 1), p95Worst: round(max(rs.map((x) => x.addedDelayP95Ms)), 1) });
    emit({ metric: `${name}: time in buffer (mean)`, value: round(mean(rs.map((x) => x.holdMeanMs)), 1), unit: 'ms' });
    emit({ metric: `${name}: target delay at end (mean)`, value: round(mean(rs.map((x) => x.stats.targetDelayMs)), 1), unit: 'ms' });
    return rs;
  };

  const j = report('±30 ms jitter, 5% loss', { jitterMs: 60, loss: 0.05 });
  emit({ metric: '±30 ms jitter, 5% loss: packets reordered (mean)', value: round(mean(j.map((x) => (100 * x.stats.reordered) / x.sent)), 1), unit: '%' });
  emit({ metric: '±30 ms jitter, 5% loss: RFC 3550 jitter of the link', value: round(mean(j.map((x) => x.rfc3550JitterMs)), 1), unit: 'ms' });
  report('30 ms peak-to-peak jitter, 5% loss', { jitterMs: 30, loss: 0.05 });
  report('clean link', { jitterMs: 1, warmupSeconds: 10 });
  report('bursty loss (3%, 30% in bursts of 6), 30 ms p-p', { jitterMs: 30, loss: 0.03, burstProbability: 0.3, burstLength: 6 });
  report('DTX (2 s talk / 1.2 s silence), 30 ms p-p, 5% loss', { jitterMs: 30, loss: 0.05, talkMs: 2000, silenceMs: 1200 });
  report('sender clock +1%, 30 ms p-p, 5% loss', { jitterMs: 30, loss: 0.05, skew: 0.01, seconds: 180 });
  report('sender clock -1%, 30 ms p-p, 5% loss', { jitterMs: 30, loss: 0.05, skew: -0.01, seconds: 180 });
  report('extra reordering (2% held back 1-3 packets), 30 ms p-p, 5% loss', { jitterMs: 30, loss: 0.05, reorder: 0.02 });
}
