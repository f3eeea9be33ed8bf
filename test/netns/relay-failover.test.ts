/**
 * Relay failover: two supernode namespaces each run our TURN server; both leaves sit
 * behind symmetric NATs, so the call must relay. Mid-call the relaying TURN server is
 * SIGKILLed: the path watchdog fires within 5 s, the caller re-offers through the test's
 * signaling relay (as CallManager's 'restart-offer' does), and media resumes through
 * the other supernode within 5 s.
 *
 * How the caller re-offers: exactly as CallManager does, `MediaSession.offer({iceRestart:
 * true})`, answered by the callee's `MediaSession.answer()`. werift 0.24 takes only the
 * *first* STUN and TURN URL of its configuration (parseIceServers in werift's utils.js)
 * and an in-place ICE restart re-gathers from that same, dead, relay, so MediaSession
 * restarts on a new peer connection with the other supernodes first (and the callee,
 * seeing a new DTLS fingerprint, does the same); the audio pipeline does not notice.
 * `TINCAN_FAILOVER_RESTART=fresh` instead moves the pipeline to a new MediaSession.
 *
 * Reproduce (as root): `npm test -- relay-failover` or `deno task test relay-failover`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { NatLab, canUseNetns } from '../helpers/netns.ts';
import { labIceServers, spawnLeaf, startLabTurn, type LabTurn } from '../helpers/call-lab.ts';
import { connectLeaves, finishLeaves, type Leaf } from '../helpers/media-leaf.ts';
import { espeakWav, SENTENCES } from '../codecs/speech.ts';

const failover = suite('netns relay failover (calls)');

let lab: NatLab;
let turns: LabTurn[] = [];
let dir = '';
const leaves: Leaf[] = [];

failover.before(async () => {
  assert.ok(canUseNetns(), 'network-namespace tests need root, iproute2 and nftables (CI installs them)');
  dir = mkdtempSync(join(tmpdir(), 'tincan-failover-'));
  lab = new NatLab();
  turns = await Promise.all([startLabTurn(lab, lab.addPublicHost('sn1')), startLabTurn(lab, lab.addPublicHost('sn2'))]);
});

failover.after(() => {
  for (const l of leaves) l.kill();
  lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const DEAD_AFTER_MS = 2000;

failover('killing the relaying supernode mid-call: watchdog <= 5 s, media back through the other supernode within 5 s', async () => {
  const wav = join(dir, 'speech.wav');
  writeFileSync(wav, espeakWav(`${SENTENCES[0]} ${SENTENCES[2]}`));
  const ha = lab.addSite('fa', 'symmetric');
  const hb = lab.addSite('fb', 'symmetric');
  const restart = (process.env.TINCAN_FAILOVER_RESTART as 'ice' | 'fresh' | undefined) ?? 'ice';
  const common = { wav, deadAfterMs: DEAD_AFTER_MS, gatherTimeoutMs: 1500, restart };
  const a = spawnLeaf(lab, ha, 'caller', { ...common, iceServers: labIceServers(turns, 'fa') });
  const b = spawnLeaf(lab, hb, 'callee', { ...common, iceServers: labIceServers(turns, 'fb') });
  leaves.push(a, b);
  const { setupMs } = await connectLeaves(a, b, 20_000);
  const playing = Promise.all([a.waitFor('playing', 10_000), b.waitFor('playing', 10_000)]);
  a.send({ cmd: 'play' });
  b.send({ cmd: 'play' });
  await playing;
  await new Promise((r) => setTimeout(r, 1500));
  // The first stats may predate the selected pair; wait for one naming a path.
  let statsBefore = a.events.filter((e) => e.type === 'stats').pop();
  for (let i = 0; i < 10 && statsBefore?.path !== 'relay'; i++) statsBefore = await a.waitFor('stats', 3000);
  assert.is(statsBefore!.path, 'relay', 'symmetric <-> symmetric relays');
  const relayIp = String(statsBefore!.via ?? '').split(':')[0];
  const victim = turns.find((t) => t.host.ip === relayIp);
  assert.ok(victim, `relay ${statsBefore!.via} is one of our supernodes`);
  const survivor = turns.find((t) => t !== victim)!;

  const killedAt = Date.now();
  victim!.child.kill('SIGKILL');
  const dead = await a.waitFor('pathDead', 8000);
  const resumedA = await a.waitFor('resumed', 10_000);
  const resumedB = await b.waitFor('resumed', 10_000, true);
  await new Promise((r) => setTimeout(r, 1500));
  const statsAfter = a.events.filter((e) => e.type === 'stats').pop()!;
  const [ra, rb] = await finishLeaves([a, b]);
  const figures = {
    setupMs,
    viaBefore: statsBefore!.via,
    viaAfter: statsAfter.via,
    pathAfter: statsAfter.path,
    watchdogMs: Number(dead.atMs) - killedAt,
    restartToMediaMs: Number(resumedA.atMs) - Number(dead.atMs),
    gapAtCallerMs: Number(resumedA.gapMs),
    gapAtCalleeMs: Number(resumedB.gapMs),
    killToMediaMs: Math.max(Number(resumedA.atMs), Number(resumedB.atMs)) - killedAt,
    restart,
    packetsAfter: { a: ra.packetsReceived, b: rb.packetsReceived },
    similarity: { a: ra.envelopeCorrelation, b: rb.envelopeCorrelation },
  };
  console.log('\n' + JSON.stringify(figures));
  assert.ok(figures.watchdogMs <= 5000, `watchdog fired ${figures.watchdogMs} ms after the kill`);
  assert.ok(figures.restartToMediaMs <= 5000, `media resumed ${figures.restartToMediaMs} ms after the restart began`);
  assert.is(statsAfter.path, 'relay');
  assert.ok(String(statsAfter.via).startsWith(survivor.host.ip + ':'), `now relayed via ${statsAfter.via}, expected ${survivor.host.ip}`);
  assert.ok(Number(ra.packetsReceived) > 20 && Number(rb.packetsReceived) > 20, 'media flows on the new path both ways');
});

failover.run();
