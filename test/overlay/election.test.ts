/** Election decisions (pure) and the raw probe parser (fuzzed). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { areaViewOf, DEFAULT_ELECTION_POLICY, DemotionTracker, electionScore, leavesToShed, PromotionGate, promotionReason } from '../../src/overlay/election.ts';
import { encodeDialback, encodeHailAnswer, encodeHailRequest, HAIL_ANSWER_LEN, HAIL_REQUEST_LEN, parseProbe } from '../../src/overlay/probes.ts';

const s = suite('overlay/election and probes');

s('score: unreachable is 0; bandwidth, CPU and uptime weigh 40/30/30', () => {
  assert.is(electionScore({ reachable: false, upstreamKbps: 1e6, cpuHeadroom: 1, uptimeMs: 1e9 }), 0);
  assert.is(electionScore({ reachable: true, upstreamKbps: 2000, cpuHeadroom: 1, uptimeMs: 600_000 }), 100);
  assert.is(electionScore({ reachable: true, upstreamKbps: 1000, cpuHeadroom: 0.5, uptimeMs: 0 }), 35);
  fc.assert(fc.property(fc.boolean(), fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -1e9, max: 1e12, noNaN: true }), (reachable, up, cpu, t) => {
    const v = electionScore({ reachable, upstreamKbps: up, cpuHeadroom: cpu, uptimeMs: t });
    return v >= 0 && v <= 100;
  }));
});

s('promotion: only above the threshold, and only when supernodes are too few or overloaded', () => {
  const area = { knownSupernodes: 10, averageLoadPct: 20, missingAttachments: 0 };
  assert.is(promotionReason(74, { ...area, knownSupernodes: 1 }), undefined);
  assert.match(promotionReason(80, { ...area, knownSupernodes: 2 })!, /too few supernodes/);
  assert.match(promotionReason(80, { ...area, averageLoadPct: 95 })!, /overloaded/);
  assert.is(promotionReason(99, area), undefined);
});

s('area view: attached and usable cached supernodes counted once each; missing attachments count as full', () => {
  const entry = (id: string, lastSeen = 1, failures = 0) => ({ id, lastSeen, failures });
  const v = areaViewOf({
    attachedIds: ['a', 'b', 'a'],
    cacheEntries: [entry('a'), entry('c'), entry('d', 0), entry('e', 5, 2), entry('f')],
    loads: [40, 60],
    missingAttachments: 1,
  });
  assert.is(v.knownSupernodes, 4, 'a, b, c, f: never seen (d) and failing (e) do not count, a once');
  assert.is(v.averageLoadPct, (40 + 60 + 100) / 3);
  assert.is(v.missingAttachments, 1);
  assert.is(areaViewOf({ attachedIds: [], cacheEntries: [], loads: [], missingAttachments: 0 }).averageLoadPct, undefined);
  // The same count as a set of everything, over random caches.
  fc.assert(fc.property(fc.uniqueArray(fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), lastSeen: fc.nat(3), failures: fc.nat(2) }), { selector: (e) => e.id }), fc.subarray(['a', 'b', 'c', 'x']), (cache, attached) => {
    const all = new Set(attached);
    for (const e of cache) if (e.lastSeen > 0 && e.failures === 0) all.add(e.id);
    return areaViewOf({ attachedIds: attached, cacheEntries: cache, loads: [], missingAttachments: 0 }).knownSupernodes === all.size;
  }));
});

s('demotion needs 3 rounds in a row over budget; a calm round resets (hysteresis)', () => {
  const t = new DemotionTracker(DEFAULT_ELECTION_POLICY);
  const over = { sessions: 120, maxSessions: 100, sentKbps: 10, budgetKbps: 1000, cpuHeadroom: 1 };
  const mid = { ...over, sessions: 90 };
  const calm = { ...over, sessions: 50 };
  assert.is(t.update(over), undefined);
  assert.is(t.update(over), undefined);
  assert.is(t.update(mid), undefined, 'between 80 % and 100 %: neither counts nor resets');
  assert.is(t.rounds, 2);
  assert.is(t.update(calm), undefined);
  assert.is(t.rounds, 0);
  t.update(over);
  t.update(over);
  assert.match(t.update(over)!, /sessions 120 > max 100 for 3 rounds/);
  const bw = new DemotionTracker();
  for (let i = 0; i < 2; i++) bw.update({ ...calm, sentKbps: 2000 });
  assert.match(bw.update({ ...calm, sentKbps: 2000 })!, /upstream 2000 kbit\/s > budget 1000/);
});

s('promotion gate: overload must hold 2 rounds, then passes with the configured chance; too few supernodes passes at once', () => {
  const overloaded = promotionReason(80, { knownSupernodes: 10, averageLoadPct: 95, missingAttachments: 0 })!;
  const missing = promotionReason(80, { knownSupernodes: 4, averageLoadPct: 10, missingAttachments: 1 })!;
  const tooFew = promotionReason(80, { knownSupernodes: 1, averageLoadPct: undefined, missingAttachments: 2 })!;
  assert.match(missing, /attachments missing/);
  const always = () => 0;
  const never = () => 0.99;
  const g = new PromotionGate();
  assert.is(g.update(overloaded, always), undefined, 'first round: not yet');
  assert.match(g.update(overloaded, always)!, /overloaded .* for 2 rounds/);
  assert.is(g.update(undefined, always), undefined);
  assert.is(g.rounds, 0, 'a calm round resets');
  assert.is(g.update(missing, always), undefined);
  assert.is(g.update(missing, never), undefined, 'held, but the draw says no');
  assert.match(g.update(missing, always)!, /attachments missing/);
  assert.match(new PromotionGate().update(tooFew, never)!, /too few supernodes/);
  // 100 eligible leaves seeing the same overload: about promoteChance of them promote per round, not all.
  let promoted = 0;
  let x = 1;
  const draw = () => (x = (x * 48271) % 2147483647) / 2147483647;
  for (let i = 0; i < 100; i++) {
    const leaf = new PromotionGate();
    leaf.update(overloaded, draw);
    if (leaf.update(overloaded, draw)) promoted++;
  }
  assert.ok(promoted >= 3 && promoted <= 20, `promoted ${promoted} of 100`);
});

s('shedding: a supernode above shedAbovePct moves the leaves beyond it, none below', () => {
  const at80 = { ...DEFAULT_ELECTION_POLICY, shedAbovePct: 80 };
  assert.is(leavesToShed(80, 100, at80), 0);
  assert.is(leavesToShed(81, 100, at80), 1);
  assert.is(leavesToShed(100, 100, at80), 20);
  assert.is(leavesToShed(38, 38, at80), 8, '38 x 0.8 = 30.4: 30 stay');
  assert.is(leavesToShed(0, 0, at80), 0);
  assert.is(leavesToShed(100, 100), 0, 'by default only leaves beyond the capacity move');
  assert.is(leavesToShed(40, 37), 3);
});

s('probes: round trips, answers never longer than requests, the parser never throws', () => {
  const n8 = new Uint8Array(8).fill(7);
  const key = new Uint8Array(32).fill(9);
  assert.equal(parseProbe(encodeHailRequest(n8)), { type: 'hail-request', nonce: n8 });
  assert.equal(parseProbe(encodeHailAnswer(n8, key)), { type: 'hail-answer', nonce: n8, key });
  const n16 = new Uint8Array(16).fill(3);
  assert.equal(parseProbe(encodeDialback(n16)), { type: 'dialback', nonce: n16 });
  assert.ok(HAIL_ANSWER_LEN <= HAIL_REQUEST_LEN);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (d) => {
    const p = parseProbe(d);
    return p === undefined || ['hail-request', 'hail-answer', 'dialback'].includes(p.type);
  }));
});

s.run();
