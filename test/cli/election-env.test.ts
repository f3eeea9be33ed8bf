/**
 * `TINCAN_ELECTION`: election overrides for tests and experiments are parsed strictly;
 * anything malformed is refused with a warning and the defaults apply.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger, type Logger } from '../../src/log.ts';
import { electionOverrides } from '../../src/cli/commands/overlay-common.ts';

function recordingLogger(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log = { ...silentLogger(), warn: (_: unknown, msg?: string) => void warnings.push(String(msg)) } as Logger;
  return { log, warnings };
}

const s = suite('cli: TINCAN_ELECTION');

s('unset or empty: no overrides', () => {
  const { log, warnings } = recordingLogger();
  assert.equal(electionOverrides({}, log), { policy: {} });
  assert.equal(electionOverrides({ TINCAN_ELECTION: '' }, log), { policy: {} });
  assert.equal(warnings, []);
});

s('round time, CPU headroom and policy values', () => {
  const { log, warnings } = recordingLogger();
  const o = electionOverrides({ TINCAN_ELECTION: '{"roundMs":2000,"cpuHeadroom":1,"fullUptimeMs":4000,"threshold":60}' }, log);
  assert.equal(o, { roundMs: 2000, cpuHeadroom: 1, policy: { fullUptimeMs: 4000, threshold: 60 } });
  // Rounds faster than 1 s and headroom above 1 are clamped.
  assert.equal(electionOverrides({ TINCAN_ELECTION: '{"roundMs":10,"cpuHeadroom":7}' }, log), { roundMs: 1000, cpuHeadroom: 1, policy: {} });
  // The promotion gate and the shed mark; a chance above 1 is clamped.
  assert.equal(electionOverrides({ TINCAN_ELECTION: '{"promoteAfterRounds":1,"promoteChance":3,"shedAbovePct":95}' }, log), { policy: { promoteAfterRounds: 1, promoteChance: 1, shedAbovePct: 95 } });
  assert.equal(warnings, []);
});

s('malformed values are refused with a warning', () => {
  for (const bad of ['nope', '[]', 'null', '7', '{"roundMs":"fast"}', '{"roundMs":-1}', '{"unknown":1}', '{"threshold":1e999}', '{"__proto__":{"x":1}}']) {
    const { log, warnings } = recordingLogger();
    assert.equal(electionOverrides({ TINCAN_ELECTION: bad }, log), { policy: {} }, bad);
    assert.is(warnings.length, 1, bad);
    assert.match(warnings[0]!, /TINCAN_ELECTION ignored/);
  }
});

s.run();
