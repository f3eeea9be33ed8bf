/**
 * The simulator's supernode election (sim-election.ts): the stand-in nodes run the real
 * rule of election.ts, so the supernode ratio is what the rule reaches, not a target the
 * scenario holds. Small populations, a few simulated minutes, fixed seeds.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { maxSessionsFor, runScenario } from '../../src/overlay/sim/scenario.ts';

const s = suite('overlay/sim election');

const base = { nodes: 300, churnPerHour: 0.69, lookups: 60, seeds: 6 };

s('the capacity follows the configured ratio', () => {
  assert.is(maxSessionsFor(0.1, 3), 37);
  assert.is(maxSessionsFor(0.05, 3), 75);
  assert.ok(maxSessionsFor(0.2, 3) < maxSessionsFor(0.1, 3));
});

s('too few supernodes at the start: leaves promote until the ratio is within the band, a few per round', async () => {
  const r = await runScenario({ ...base, durationS: 900, seed: 41, election: { startRatio: 0.05 } });
  console.log(JSON.stringify({ test: 'sim-election-short', supernodeRatio: r.supernodeRatio, promotions: r.promotions, reasons: r.promotionReasons, perRound: r.maxPromotionsPerRound, shed: r.leavesShed, success: r.lookupSuccess }));
  assert.ok(r.supernodeRatio.min < r.supernodeRatio.band[0], `started short: ${JSON.stringify(r.supernodeRatio)}`);
  assert.ok(r.promotions >= 10, `promotions ${r.promotions}`);
  const { last, band } = r.supernodeRatio;
  assert.ok(last >= band[0] && last <= band[1], `ends within the band: ${JSON.stringify(r.supernodeRatio)}`);
  // No stampede: about 30 public leaves see the same shortage in the same minute.
  assert.ok(r.maxPromotionsPerRound <= 8, `promotions in one round ${r.maxPromotionsPerRound}`);
  assert.is(r.demotions, 0);
  assert.ok(r.lookupSuccess >= 0.95, `success ${r.lookupSuccess}`);
});

s('enough supernodes at the start: nobody promotes without a reason', async () => {
  const r = await runScenario({ ...base, durationS: 600, seed: 43, election: { startRatio: 0.2 } });
  console.log(JSON.stringify({ test: 'sim-election-plenty', supernodeRatio: r.supernodeRatio, promotions: r.promotions, reasons: r.promotionReasons }));
  assert.ok(r.promotions <= 1, `promotions ${r.promotions}: ${JSON.stringify(r.promotionReasons)}`);
  assert.ok(r.supernodeRatio.min > 0.15, JSON.stringify(r.supernodeRatio));
});

s('over budget: supernodes demote themselves after 3 rounds, their leaves attach elsewhere; seeds stay', async () => {
  // A budget of 0 kbit/s: every non-seed supernode is over it every round.
  const r = await runScenario({ ...base, nodes: 200, durationS: 300, seed: 47, lookups: 60, election: { budgetShare: 0 } });
  console.log(JSON.stringify({ test: 'sim-election-budget', supernodeRatio: r.supernodeRatio, promotions: r.promotions, demotions: r.demotions, reasons: r.demotionReasons, success: r.lookupSuccess }));
  assert.ok(r.demotions >= 10, `demotions ${r.demotions}`);
  assert.equal(Object.keys(r.demotionReasons), ['upstream']);
  assert.ok(r.supernodeRatio.last < 0.075, `supernodes left ${JSON.stringify(r.supernodeRatio)}`);
  assert.ok(r.supernodeRatio.min >= 5.5 / 200, 'the seeds stay supernodes');
  assert.ok(r.lookupSuccess >= 0.9, `leaves moved to the remaining supernodes: success ${r.lookupSuccess}`);
});

s.run();
