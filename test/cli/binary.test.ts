import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { REPO_ROOT, inBatches, runTincan } from '../helpers/cli.ts';
import { COMMANDS } from '../../src/cli/commands/index.ts';

let base = '';
let env: Record<string, string> = {};
const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string;

const bin = suite('cli: the real binary');
bin.before(() => {
  base = mkdtempSync(join(tmpdir(), 'tincan-bin-'));
  env = { TINCAN_HOME: join(base, 'default-home') };
});
bin.after(() => rmSync(base, { recursive: true, force: true }));

bin('--version prints the package version', async () => {
  const r = await runTincan(['--version'], { env });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `tincan ${version}\n`);
});

bin('--help lists every subcommand, and every subcommand has --help (exit 0)', async () => {
  const main = await runTincan(['--help'], { env });
  assert.is(main.code, 0, main.stderr);
  for (const c of COMMANDS) assert.match(main.stdout, new RegExp(`^  ${c.name} `, 'm'));
  const runs = await inBatches(COMMANDS.map((c) => () => runTincan([c.name, '--help'], { env })));
  for (const [i, r] of runs.entries()) {
    const name = COMMANDS[i]!.name;
    assert.is(r.code, 0, `${name} --help: ${r.stderr}`);
    assert.ok(r.stdout.startsWith(`Usage: tincan ${name}`), r.stdout);
    assert.is(r.stderr, '');
  }
});

bin('id --json creates the identity once and prints {id, publicKey, fingerprint, home}', async () => {
  const home = join(base, 'alice');
  const first = await runTincan(['id', '--json', '--home', home], { env });
  assert.is(first.code, 0, first.stderr);
  assert.is(first.stdout.trim().split('\n').length, 1);
  const a = JSON.parse(first.stdout);
  assert.is(a.ok, true);
  assert.match(a.id, /^[0-9a-f]{64}$/);
  assert.match(a.publicKey, /^[0-9a-f]{64}$/);
  assert.match(a.fingerprint, /^(\d{5} ){11}\d{5}$/);
  assert.is(a.home, home);
  assert.is(a.created, true);
  if (process.platform !== 'win32') assert.is(statSync(join(home, 'identity.json')).mode & 0o777, 0o600);
  const second = await runTincan(['id', '--json', '--home', home], { env });
  const b = JSON.parse(second.stdout);
  assert.equal({ ...b, created: true }, a);
  assert.is(b.created, false);
});

bin('id refuses a world-readable key file with the fix in the message', async () => {
  if (process.platform === 'win32') return;
  const home = join(base, 'leaky');
  assert.is((await runTincan(['id', '--home', home], { env })).code, 0);
  chmodSync(join(home, 'identity.json'), 0o644);
  const r = await runTincan(['id', '--home', home], { env });
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /^tincan id: key file .* can be accessed by other users \(mode 0644\); restrict it with: chmod 600 .*identity\.json/);
});

bin('an unknown flag: one line on stderr, exit 2', async () => {
  const r = await runTincan(['call', 'bob', '--seed', '127.0.0.1:4000', '--foo'], { env });
  assert.is(r.code, 2);
  assert.is(r.stdout, '');
  assert.is(r.stderr, 'tincan call: unknown option --foo (see tincan call --help)\n');
});

bin('a bad HOST:PORT: one line on stderr, exit 2', async () => {
  const r = await runTincan(['node', '--name', 'alice', '--seed', '127.0.0.1:99999'], { env });
  assert.is(r.code, 2);
  assert.is(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^tincan node: invalid --seed "127\.0\.0\.1:99999": expected HOST:PORT/);
});

bin('a command not built yet says so and exits non-zero; --json gives {ok:false,error}', async () => {
  const r = await runTincan(['stream', 'radio', '--seed', '127.0.0.1:4000', '--tone', '440'], { env });
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /^tincan stream: not available yet in this build/);
  const j = await runTincan(['listen', 'alice', '--seed', '127.0.0.1:4000', '--json'], { env });
  assert.is(j.code, 1);
  const obj = JSON.parse(j.stdout);
  assert.is(obj.ok, false);
  assert.match(obj.error, /not available yet in this build/);
});

// Without a terminal, bare `tincan` runs the real demo (a call): that runs in a
// loopback-only namespace in test/cli/bare-demo.test.ts.

bin.run();
