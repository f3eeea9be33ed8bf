import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { SeededRandom, SecureRandom } from '../../src/random.ts';
import { KEY_FILE_NAME, KeyStoreError, loadIdentity, loadOrCreateIdentity, serializeKeyFile } from '../../src/identity/keystore.ts';
import { writeFileAtomic } from '../../src/identity/atomic-write.ts';
import { Identity } from '../../src/identity/identity.ts';

const posix = process.platform !== 'win32';
const clock = { now: () => 1_800_000_000_000 };
const deps = () => ({ random: new SecureRandom(), clock });
let base = '';

async function refusal(home: string): Promise<KeyStoreError> {
  try {
    await loadOrCreateIdentity(home, deps());
  } catch (err) {
    assert.instance(err, KeyStoreError);
    return err as KeyStoreError;
  }
  throw new Error('expected the key store to refuse');
}

const store = suite('identity: key store');
store.before(() => {
  base = mkdtempSync(join(tmpdir(), 'tincan-keystore-'));
});
store.after(() => {
  rmSync(base, { recursive: true, force: true });
});

store('creates the identity on first use with 0700 home and 0600 key file, then reloads it', async () => {
  const home = join(base, 'a', 'nested');
  assert.is(await loadIdentity(home), undefined);
  const first = await loadOrCreateIdentity(home, deps());
  assert.ok(first.created);
  assert.is(first.keyFile, join(home, KEY_FILE_NAME));
  if (posix) {
    assert.is(statSync(first.keyFile).mode & 0o777, 0o600);
    assert.is(statSync(home).mode & 0o777, 0o700);
  }
  const again = await loadOrCreateIdentity(home, deps());
  assert.not.ok(again.created);
  assert.is(again.identity.id, first.identity.id);
  assert.equal(again.identity.secretKey, first.identity.secretKey);
  const doc = JSON.parse(readFileSync(first.keyFile, 'utf8'));
  assert.is(doc.format, 'tincan-identity');
  assert.is(doc.id, first.identity.id);
  assert.is(doc.createdAt, new Date(clock.now()).toISOString());
  // Atomic write leaves no temporary files behind.
  assert.equal(readdirSync(home), [KEY_FILE_NAME]);
});

store('concurrent first starts agree on one identity (creation never overwrites)', async () => {
  const home = join(base, 'race');
  const results = await Promise.all(Array.from({ length: 6 }, () => loadOrCreateIdentity(home, deps())));
  const ids = new Set(results.map((r) => r.identity.id));
  assert.is(ids.size, 1);
  assert.is((await loadIdentity(home))!.identity.id, [...ids][0]);
  assert.equal(readdirSync(home), [KEY_FILE_NAME]);
});

store('refuses a key file readable by others, saying to chmod 600', async () => {
  if (!posix) return;
  const home = join(base, 'perm');
  const { keyFile } = await loadOrCreateIdentity(home, deps());
  for (const mode of [0o644, 0o640, 0o604, 0o620]) {
    chmodSync(keyFile, mode);
    const err = await refusal(home);
    assert.is(err.problem, 'insecure-permissions');
    assert.ok(err.message.includes(`chmod 600 ${keyFile}`), err.message);
    assert.ok(err.message.includes(`mode 0${mode.toString(8)}`), err.message);
    assert.not.ok(err.message.includes('\n'));
  }
  chmodSync(keyFile, 0o600);
  assert.ok(await loadIdentity(home));
});

store('refuses a home directory writable by others', async () => {
  if (!posix) return;
  const home = join(base, 'opendir');
  mkdirSync(home, { mode: 0o700 });
  chmodSync(home, 0o777);
  const err = await refusal(home);
  assert.is(err.problem, 'insecure-permissions');
  assert.match(err.message, /chmod 700/);
});

store('refuses a corrupt key file, saying to restore it or move it aside', async () => {
  const home = join(base, 'corrupt');
  const { keyFile, identity } = await loadOrCreateIdentity(home, deps());
  const other = Identity.generate(new SeededRandom(5));
  const good = JSON.parse(serializeKeyFile(identity, 0));
  const cases: Array<[string | Uint8Array, RegExp]> = [
    ['', /not valid JSON/],
    ['{"format":"tincan-identity"', /not valid JSON/],
    ['[]', /not a JSON object/],
    ['{"hello":1}', /not a tincan identity file/],
    [JSON.stringify({ ...good, version: 2 }), /unsupported version 2/],
    [JSON.stringify({ ...good, secretKey: 'zz' }), /"secretKey" is not 64 lowercase hex/],
    [JSON.stringify({ ...good, publicKey: other.publicKeyHex }), /"publicKey" does not match/],
    [JSON.stringify({ ...good, id: other.id }), /"id" does not match/],
    [Uint8Array.of(0xff, 0xfe, 0x00), /not UTF-8/],
  ];
  for (const [content, why] of cases) {
    writeFileSync(keyFile, content, { mode: 0o600 });
    const err = await refusal(home);
    assert.is(err.problem, 'corrupt');
    assert.match(err.message, why);
    assert.ok(err.message.includes(`mv ${keyFile} ${keyFile}.bad`), err.message);
    assert.not.ok(err.message.includes('\n'));
  }
  // The corrupt file is never replaced behind the user's back.
  assert.equal(readFileSync(keyFile), Buffer.from([0xff, 0xfe, 0x00]));
});

store('a home that is a file is refused clearly', async () => {
  const home = join(base, 'file-home');
  writeFileSync(home, 'x');
  const err = await refusal(home);
  assert.is(err.problem, 'not-a-directory');
  assert.match(err.message, /is not a directory/);
});

store('writeFileAtomic replaces or keeps, sets the mode, leaves no temporary file', async () => {
  const dir = join(base, 'atomic');
  mkdirSync(dir);
  const file = join(dir, 'f');
  const opts = { mode: 0o600, random: new SeededRandom(1) };
  assert.ok(await writeFileAtomic(file, 'one', { ...opts, overwrite: false }));
  assert.not.ok(await writeFileAtomic(file, 'two', { ...opts, overwrite: false }));
  assert.is(readFileSync(file, 'utf8'), 'one');
  assert.ok(await writeFileAtomic(file, 'three', { ...opts, overwrite: true }));
  assert.is(readFileSync(file, 'utf8'), 'three');
  if (posix) assert.is(statSync(file).mode & 0o777, 0o600);
  assert.equal(readdirSync(dir), ['f']);
  // A failed write (the directory is gone) leaves nothing and reports the error.
  await writeFileAtomic(join(dir, 'missing', 'g'), 'x', { ...opts, overwrite: false }).then(
    () => assert.unreachable('should fail'),
    (err: Error) => assert.match(String((err as { code?: string }).code), /ENOENT/),
  );
  assert.equal(readdirSync(dir), ['f']);
});

store.run();
