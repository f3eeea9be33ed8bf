/**
 * The NAT traversal matrix: a public supernode namespace running our STUN/TURN server,
 * and for every pair of NAT kinds two leaves, each behind its own NAT router
 * (test/helpers/netns.ts), placing a call with MediaSession + the audio pipeline. The
 * test process relays the SDP (the signaling). Every pair must connect; the path must be
 * what ICE can achieve: port-restricted or symmetric facing symmetric relays through
 * TURN; symmetric facing a cone NAT goes direct via peer-reflexive candidates; the rest
 * go direct. Then 10% loss on one leaf: the call holds and the stats show it.
 *
 * Reproduce (as root): `npm test -- nat-matrix` or `deno task test nat-matrix`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { NAT_KINDS, NatLab, canUseNetns, type NatKind } from '../helpers/netns.ts';
import { labIceServers, spawnLeaf, startLabTurn, type LabTurn } from '../helpers/call-lab.ts';
import { connectLeaves, finishLeaves, type Leaf, type LeafEvent } from '../helpers/media-leaf.ts';
import { espeakWav, SENTENCES } from '../codecs/speech.ts';

const matrix = suite('netns NAT traversal matrix (calls)');

let lab: NatLab;
let turn: LabTurn;
let dir = '';
let wav = '';
const leaves: Leaf[] = [];
const PLAY_MS = 3000;

matrix.before(async () => {
  assert.ok(canUseNetns(), 'network-namespace tests need root, iproute2 and nftables (CI installs them)');
  dir = mkdtempSync(join(tmpdir(), 'tincan-matrix-'));
  wav = join(dir, 'speech.wav');
  writeFileSync(wav, espeakWav(`${SENTENCES[0]} ${SENTENCES[1]}`));
  lab = new NatLab();
  turn = await startLabTurn(lab, lab.addPublicHost('sn'));
});

matrix.after(() => {
  for (const l of leaves) l.kill();
  lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What ICE can achieve between two NAT kinds. */
export function expectedPath(a: NatKind, b: NatKind): 'direct' | 'relay' {
  const hard = (x: NatKind, y: NatKind) => y === 'symmetric' && (x === 'port-restricted' || x === 'symmetric');
  return hard(a, b) || hard(b, a) ? 'relay' : 'direct';
}

interface PairResult {
  a: NatKind;
  b: NatKind;
  expected: 'direct' | 'relay';
  setupMs?: number;
  resA?: LeafEvent;
  resB?: LeafEvent;
  error?: string;
}

let site = 0;
async function runPair(a: NatKind, b: NatKind, opts: { lossOnB?: number; playMs?: number } = {}): Promise<PairResult> {
  const n = ++site;
  const ha = lab.addSite(`a${n}`, a);
  const hb = lab.addSite(`b${n}`, b);
  const la = spawnLeaf(lab, ha, `${a}`, { iceServers: labIceServers([turn], `a${n}`), wav });
  const lb = spawnLeaf(lab, hb, `${b}`, { iceServers: labIceServers([turn], `b${n}`), wav });
  leaves.push(la, lb);
  const out: PairResult = { a, b, expected: expectedPath(a, b) };
  try {
    out.setupMs = (await connectLeaves(la, lb, 20_000)).setupMs;
    // Loss hits the established call (as on a link that degrades mid-call).
    if (opts.lossOnB) lab.addLoss(hb, opts.lossOnB);
    const playing = Promise.all([la.waitFor('playing', 10_000), lb.waitFor('playing', 10_000)]);
    la.send({ cmd: 'play' });
    lb.send({ cmd: 'play' });
    await playing;
    await new Promise((r) => setTimeout(r, opts.playMs ?? PLAY_MS));
    [out.resA, out.resB] = await finishLeaves([la, lb], 20_000);
  } catch (err) {
    out.error = (err as Error).message;
  } finally {
    la.kill();
    lb.kill();
  }
  return out;
}

function row(r: PairResult): string {
  const A: LeafEvent = r.resA ?? { type: 'none' };
  const B: LeafEvent = r.resB ?? { type: 'none' };
  const f = (x: unknown) => (typeof x === 'number' ? x.toFixed(2) : String(x ?? '-'));
  const best = (e: LeafEvent) => (e.envelopeCorrelation === undefined ? undefined : Math.max(Number(e.envelopeCorrelation), Number(e.globalEnvelopeCorrelation)));
  return `| ${r.a} | ${r.b} | ${r.error ? 'no' : 'yes'} | ${r.setupMs ?? '-'} | ${A.path ?? '-'} (expected ${r.expected}) | ${A.localType ?? '-'} / ${A.remoteType ?? '-'} | ${A.packetsSent ?? '-'} / ${B.packetsReceived ?? '-'} | ${B.packetsSent ?? '-'} / ${A.packetsReceived ?? '-'} | ${f(best(B))} / ${f(best(A))} |`;
}

const HEADER = [
  '| caller NAT | callee NAT | connected | setup ms | path | caller candidates local / remote | A->B sent / received | B->A sent / received | similarity at B / at A |',
  '|---|---|---|---|---|---|---|---|---|',
];

/**
 * Envelope correlation each leaf's recording must reach: the better of the piecewise
 * (test/helpers/warped-similarity.ts, median over 300 ms pieces) and the global
 * alignment. A floor that says "this is the speech that was played" (two different
 * sentences score about 0): 3 s of speech on a loaded 2-vCPU machine usually score
 * 0.8-0.99, but a jitter buffer settling hard at the start has given 0.5 with every
 * packet received. Checked when the peer sent >= 120 of its 150 frames (a sender
 * starved of CPU sends fewer, and the recording is then mostly concealment); a pair that
 * falls short while a sender's pacing slipped runs once more (see `starved`). Audio quality proper is held to 0.9 by test/call/audio-pipeline.test.ts
 * and to 0.75 under 10% loss below.
 */
const MIN_SIMILARITY = 0.4;

/** Frames a leaf sends in the 3 s it plays (50 per second). */
const FRAMES_PLAYED = 150;

/** What is wrong with one pair's call (empty: nothing). */
function pairProblems(r: PairResult): string[] {
  const tag = `${r.a} <-> ${r.b}`;
  if (r.error || !r.resA || !r.resB) return [`${tag}: ${r.error ?? 'no result'}`];
  const problems: string[] = [];
  if (!r.resA.connected || !r.resB.connected) problems.push(`${tag}: not connected`);
  if (r.resA.path !== r.expected || r.resB.path !== r.expected) problems.push(`${tag}: path ${r.resA.path}/${r.resB.path}, expected ${r.expected}`);
  if (r.expected === 'direct' && (r.a === 'symmetric' || r.b === 'symmetric') && r.a !== 'none' && r.b !== 'none') {
    const sym = r.a === 'symmetric' ? r.resB : r.resA; // the cone side sees the symmetric side as peer-reflexive
    if (sym.remoteType !== 'prflx') problems.push(`${tag}: expected a peer-reflexive remote candidate at the cone side, got ${sym.remoteType}`);
  }
  for (const [side, res, peer] of [['A', r.resA, r.resB], ['B', r.resB, r.resA]] as const) {
    // The path carries what the peer sent (a starved sender on a loaded machine sends
    // fewer frames: the capture pacer slips rather than bursting).
    const got = Number(res.packetsReceived);
    const sent = Number(peer.packetsSent);
    if (!(got >= 25 && got >= 0.95 * sent - 2)) problems.push(`${tag}: ${side} received ${got} of ${sent} packets`);
    const sim = Math.max(Number(res.envelopeCorrelation), Number(res.globalEnvelopeCorrelation));
    if (sent >= 120 && !(sim >= MIN_SIMILARITY)) problems.push(`${tag}: ${side} similarity ${res.envelopeCorrelation} (piecewise) / ${res.globalEnvelopeCorrelation} (global)`);
  }
  return problems;
}

/**
 * A leaf's pacing slipped: it sent clearly fewer frames than it played (its process was
 * starved of CPU) or clearly more (it caught up in a burst after a stall).
 */
function starved(r: PairResult): boolean {
  return [r.resA, r.resB].some((res) => res !== undefined && Math.abs(Number(res.packetsSent) - FRAMES_PLAYED) > 5);
}

matrix('every pair of NAT kinds connects, on the path ICE can achieve, and carries speech', async () => {
  let pairs: Array<[NatKind, NatKind]> = [];
  for (let i = 0; i < NAT_KINDS.length; i++) for (let j = i; j < NAT_KINDS.length; j++) pairs.push([NAT_KINDS[i]!, NAT_KINDS[j]!]);
  // Debugging aid: TINCAN_MATRIX_PAIRS="none:full-cone,symmetric:symmetric" runs only those.
  const only = process.env.TINCAN_MATRIX_PAIRS;
  if (only) pairs = pairs.filter(([a, b]) => only.split(',').includes(`${a}:${b}`));
  const results: PairResult[] = [];
  const retried: string[] = [];
  // One call at a time: on 2 shared cores, two concurrent calls (four werift processes)
  // starve ICE consent checks and make the figures noisy.
  for (const [a, b] of pairs) {
    let r = await runPair(a, b);
    // A call whose sender was starved of CPU (the shared machine, not the call) and that
    // fell short is run once more; the second call must pass on its own.
    if (pairProblems(r).length > 0 && starved(r)) {
      retried.push(`${a} <-> ${b}: ${pairProblems(r).join('; ')} (senders ${r.resA?.packetsSent} / ${r.resB?.packetsSent} frames)`);
      r = await runPair(a, b);
    }
    results.push(r);
  }
  console.log('\n' + [...HEADER, ...results.map(row)].join('\n'));
  if (retried.length > 0) console.log(`run again after a starved sender: ${retried.join(' | ')}`);
  assert.equal(results.flatMap(pairProblems), []);
});

matrix('10% loss on one leaf: the call holds, FEC/RED and concealment show in the stats', async () => {
  const r = await runPair('port-restricted', 'full-cone', { lossOnB: 0.1, playMs: 5000 });
  assert.ok(!r.error && r.resA && r.resB, r.error);
  const A = r.resA!;
  const B = r.resB!;
  const sA = A.stats as Record<string, number>;
  const sB = B.stats as Record<string, number>;
  console.log('\nloss A (clean leaf)', JSON.stringify({ mediaRed: A.redRecovered, lossPct: sA.lossPct, remoteLossPct: sA.remoteLossPct, residual: sA.residualLossPct, concealed: sA.concealed, fec: sA.fecRecovered, red: sA.redRecovered, redDistance: sA.redDistance, encoderLoss: sA.encoderLossPct, mos: sA.mos, jb: sA.jitterBufferMs, rtt: sA.rttMs, sim: A.envelopeCorrelation, frames: A.frameSources }));
  console.log('loss B (lossy leaf)', JSON.stringify({ mediaRed: B.redRecovered, lossPct: sB.lossPct, remoteLossPct: sB.remoteLossPct, residual: sB.residualLossPct, concealed: sB.concealed, fec: sB.fecRecovered, red: sB.redRecovered, redDistance: sB.redDistance, encoderLoss: sB.encoderLossPct, mos: sB.mos, jb: sB.jitterBufferMs, rtt: sB.rttMs, sim: B.envelopeCorrelation, frames: B.frameSources }));
  for (const [name, res, s] of [['A', A, sA], ['B', B, sB]] as const) {
    assert.ok(res.connected, `${name} connected`);
    assert.ok(Number(res.maxGapMs) < 1000, `${name}: media kept flowing (largest gap ${res.maxGapMs} ms)`);
    assert.ok(s.lossPct >= 3 && s.lossPct <= 20, `${name}: measured loss ${s.lossPct}% (10% on the lossy leaf)`);
    assert.ok(s.concealed + s.fecRecovered + s.redRecovered > 0, `${name}: recovery or concealment counted`);
    assert.ok(s.fecRecovered + s.redRecovered > 0, `${name}: FEC or RED recovered frames`);
    assert.ok(s.encoderLossPct > 0, `${name}: encoder expects loss (${s.encoderLossPct}%)`);
    assert.ok(s.redDistance >= 1, `${name}: RED on (distance ${s.redDistance})`);
    assert.ok(Number(res.envelopeCorrelation) >= 0.75, `${name}: similarity ${res.envelopeCorrelation}`);
  }
});

matrix.run();
