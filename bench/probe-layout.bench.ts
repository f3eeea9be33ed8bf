/**
 * A sizing model for the simulator's next step, not product code: the logical work of a
 * liveness round trip (probes.bench.ts: a leaf's probe to each of its 3 supernodes
 * through its NAT, and the echoes) with all of its state in typed arrays indexed by node
 * and link (struct of arrays) instead of objects reached through maps. Per round trip:
 * counters on both nodes, the NAT mapping refreshed and a permission written, a loss
 * draw each way, the permission checked inbound, both sides' last-received times, the
 * load carried back, the smoothed RTT; leaves take their turns in a random order, as the
 * event queue hands them out. No timers, no event queue, no real overlay code: the figure
 * bounds what a data-oriented layout could give, against `probeRoundTripUs` (probes bench)
 * for the object graph today (BENCHMARKS.md, "Memory, not instructions").
 *
 * Emits `probeLayoutUs` (wall microseconds per answered round trip) for each size of
 * TINCAN_PROBE_NODES (default `2000,10000`) over 60 simulated seconds.
 *
 * @module
 */
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import type { Emit } from './bench.ts';
import { SeededRandom } from '../src/random.ts';

const PERIOD_MS = 2500;
const ATTACHMENTS = 3;
/** Permission slots per NAT (restricted NATs remember each peer sent to). */
const PERMISSIONS = 8;
const BINDING_MS = 30_000;

/** Wall microseconds per answered round trip over `seconds` simulated seconds. */
function layoutRun(nodes: number, seconds: number): { us: number; echoes: number } {
  const random = new SeededRandom(1);
  const supernodes = Math.max(ATTACHMENTS, Math.round(nodes / 10));
  const leaves = nodes - supernodes;
  const pairs = leaves * ATTACHMENTS;
  const pairSupernode = new Int32Array(pairs);
  const pairHeard = new Float64Array(pairs);
  const pairSent = new Float64Array(pairs);
  const pairSrtt = new Float64Array(pairs);
  const pairLoad = new Uint8Array(pairs);
  const peerHeard = new Float64Array(pairs);
  const sentPackets = new Float64Array(nodes);
  const sentBytes = new Float64Array(nodes);
  const receivedPackets = new Float64Array(nodes);
  const receivedBytes = new Float64Array(nodes);
  const natLastOut = new Float64Array(leaves);
  const natPermission = new Int32Array(leaves * PERMISSIONS).fill(-1);
  const natPermissionAt = new Float64Array(leaves * PERMISSIONS);
  const leafCount = new Int32Array(supernodes);
  for (let p = 0; p < pairs; p++) {
    const leaf = Math.floor(p / ATTACHMENTS);
    const s = (leaf * 7 + (p % ATTACHMENTS) * 13) % supernodes;
    pairSupernode[p] = s;
    leafCount[s]!++;
  }
  const order = new Int32Array(leaves);
  for (let i = 0; i < leaves; i++) order[i] = i;
  for (let i = leaves - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  let echoes = 0;
  const t0 = performance.now();
  for (let now = 0; now < seconds * 1000; now += PERIOD_MS) {
    for (let k = 0; k < leaves; k++) {
      const leaf = order[k]!;
      const node = supernodes + leaf;
      for (let j = 0; j < ATTACHMENTS; j++) {
        const p = leaf * ATTACHMENTS + j;
        const s = pairSupernode[p]!;
        pairSent[p] = now;
        sentPackets[node]!++;
        sentBytes[node]! += 30;
        natLastOut[leaf] = now;
        const slot = leaf * PERMISSIONS + (s % PERMISSIONS);
        natPermission[slot] = s;
        natPermissionAt[slot] = now;
        if (random.float() < 0.001) continue;
        receivedPackets[s]!++;
        receivedBytes[s]! += 30;
        peerHeard[p] = now;
        const load = Math.min(100, Math.round((100 * leafCount[s]!) / 200));
        sentPackets[s]!++;
        sentBytes[s]! += 32;
        if (natPermission[slot] !== s || now - natPermissionAt[slot]! > BINDING_MS || now - natLastOut[leaf]! > BINDING_MS) continue;
        if (random.float() < 0.001) continue;
        receivedPackets[node]!++;
        receivedBytes[node]! += 32;
        pairHeard[p] = now;
        pairSrtt[p] = 0.8 * pairSrtt[p]! + 0.2 * (now - pairSent[p]!);
        pairLoad[p] = load;
        echoes++;
      }
    }
  }
  const wallMs = performance.now() - t0;
  const expected = ((seconds * 1000) / PERIOD_MS) * pairs;
  if (echoes < 0.99 * expected) throw new Error(`only ${echoes} of ${expected} round trips answered`);
  return { us: (wallMs * 1000) / echoes, echoes };
}

export async function run(emit: Emit): Promise<void> {
  const sizes = (process.env.TINCAN_PROBE_NODES ?? '2000,10000').split(',').map(Number);
  layoutRun(2000, 20); // warm the JIT
  for (const nodes of sizes) {
    const r = layoutRun(nodes, 60);
    emit({ metric: 'probeLayoutUs', value: +r.us.toFixed(3), unit: 'us', nodes, roundTrips: r.echoes });
  }
}
