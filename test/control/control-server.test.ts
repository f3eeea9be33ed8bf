/**
 * The JSON-RPC control API (src/control/control-server.ts, control-methods.ts): its
 * methods against real TincanNodes on 127.0.0.1; hostile input (garbage, oversized lines,
 * unknown methods, bad params, batches); its limits (connections, rate, requests in
 * progress); and the socket file (mode 0600 whatever the umask, other users refused,
 * existing paths refused unless a stale socket, removed on close).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, linkSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { Type } from '@sinclair/typebox';
import { compileSchema } from '../../src/wire/schema.ts';
import { ControlServer, type ControlMethods, RpcCode } from '../../src/control/control-server.ts';
import { controlMethods } from '../../src/control/control-methods.ts';
import { ControlClient } from './control-client.ts';
import { clock, startWorld, type World } from './control-world.ts';

const NoParams = compileSchema(Type.Object({}, { additionalProperties: false }));
/** Methods for protocol tests: `ping` answers at once, `hang` never answers. */
const toyMethods: ControlMethods = {
  ping: { params: NoParams, run: () => 'pong' },
  hang: { params: NoParams, run: () => new Promise(() => {}) },
};

let dir = '';
let world: World | undefined;
let server: ControlServer | undefined;
const placed: { name: string; seconds: number }[] = [];
const sock = () => join(dir, 'control.sock');

const api = suite('control API: methods on a running node');
api.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tincan-control-'));
  world = await startWorld();
  // Placing calls is the command line's (node.ts passes call-common's placeCall); here a
  // stand-in records what it was asked (a real call runs in control-process.test.ts).
  const placeCall = async (name: string, seconds: number) => {
    placed.push({ name, seconds });
    return { call: name, ok: false, reason: 'unreachable' };
  };
  server = await ControlServer.listen(sock(), controlMethods(world.alice, { placeCall }), { clock });
});
api.after(async () => {
  await server?.close();
  await world?.close();
});

api('status, lookup, search, calls, hangup and call answer with the node\'s data', async () => {
  const w = world!;
  const c = await ControlClient.connect(sock());
  try {
    const status = await c.request('status');
    assert.is(status.error, undefined, JSON.stringify(status.error));
    assert.is(status.result.id, w.alice.overlay.id);
    assert.is(status.result.name, 'alice');
    assert.is(status.result.role, 'leaf');
    assert.equal(status.result.supernodes.map((s: { id: string }) => s.id), [w.supernode.overlay.id]);
    assert.is(status.result.overlay.role, 'leaf');
    assert.is(typeof status.result.overlay.counters.attaches, 'number');
    assert.ok(status.result.overlay.counters.attaches >= 1);

    const lookups = w.alice.overlay.snapshot().counters.lookups;
    const found = await c.request('lookup', { name: 'bob' });
    assert.is(found.result.records.length, 1, JSON.stringify(found));
    assert.is(found.result.records[0].name, 'bob');
    assert.is(found.result.records[0].publicKey, w.bobKey);
    assert.equal(found.result.records[0].supernodes, [`127.0.0.1:${w.supernode.overlay.address!.port}`]);
    assert.is(w.alice.overlay.snapshot().counters.lookups, lookups + 1, 'the lookup ran on the node');
    assert.equal((await c.request('lookup', { name: 'nobody-here' })).result, { records: [] });

    const search = await c.request('search', { text: 'bo' });
    assert.ok(search.result.results.some((r: { name: string; key: string }) => r.name === 'bob' && r.key === w.bobKey), JSON.stringify(search));

    assert.equal((await c.request('calls')).result, { calls: [], media: {} });
    assert.equal((await c.request('hangup')).result, { hungUp: [] });
    const noCall = await c.request('hangup', { callId: 'c0ffee' });
    assert.is(noCall.error?.code, RpcCode.invalidParams);
    assert.match(noCall.error!.message, /no call c0ffee/);

    // `call` hands name and seconds (default 5) to the call placer and answers with its result.
    const call = await c.request('call', { name: 'nobody-here', seconds: 1.5 });
    assert.equal(call.result, { call: 'nobody-here', ok: false, reason: 'unreachable' });
    assert.equal((await c.request('call', { name: 'bob' })).result.call, 'bob');
    assert.equal(placed, [{ name: 'nobody-here', seconds: 1.5 }, { name: 'bob', seconds: 5 }]);
    // Without a call placer (a supernode), `call` is refused with a clear error.
    const bare = await ControlServer.listen(join(dir, 'bare.sock'), controlMethods(w.alice), { clock });
    const b = await ControlClient.connect(bare.path);
    const refused = await b.request('call', { name: 'bob' });
    assert.is(refused.error?.code, RpcCode.failed);
    assert.match(refused.error!.message, /does not place calls/);
    await b.close();
    await bare.close();
  } finally {
    await c.close();
  }
});

api('hostile input gets JSON-RPC errors and the connection (and node) keep working', async () => {
  const c = await ControlClient.connect(sock());
  try {
    c.send('this is not json\n');
    const parse = await c.next();
    assert.is(parse?.error?.code, RpcCode.parseError);
    assert.is(parse?.id, null);
    c.send('{"jsonrpc":"2.0","id":1,"method":"status"\n');
    assert.is((await c.next())?.error?.code, RpcCode.parseError);
    c.send('42\n');
    assert.is((await c.next())?.error?.code, RpcCode.invalidRequest);
    c.send('[{"jsonrpc":"2.0","id":1,"method":"status"}]\n');
    const batch = await c.next();
    assert.is(batch?.error?.code, RpcCode.invalidRequest);
    assert.match(batch!.error!.message, /batch/);
    c.send('{"jsonrpc":"1.0","id":7,"method":"status"}\n');
    const version = await c.next();
    assert.is(version?.error?.code, RpcCode.invalidRequest);
    assert.is(version?.id, 7);
    c.send('{"jsonrpc":"2.0","id":{"x":1},"method":"status"}\n');
    assert.is((await c.next())?.error?.code, RpcCode.invalidRequest);
    c.send('{"jsonrpc":"2.0","id":8,"method":["status"]}\n');
    assert.is((await c.next())?.error?.code, RpcCode.invalidRequest);

    const unknown = await c.request('reboot');
    assert.is(unknown.error?.code, RpcCode.methodNotFound);
    assert.match(unknown.error!.message, /unknown method "reboot"/);
    // Inherited object properties are not methods.
    assert.is((await c.request('constructor')).error?.code, RpcCode.methodNotFound);
    assert.is((await c.request('__proto__')).error?.code, RpcCode.methodNotFound);

    const wrongType = await c.request('lookup', { name: 5 });
    assert.is(wrongType.error?.code, RpcCode.invalidParams);
    assert.match(wrongType.error!.message, /\/name must be string/);
    const missing = await c.request('lookup', {});
    assert.is(missing.error?.code, RpcCode.invalidParams);
    assert.match(missing.error!.message, /missing property "name"/);
    const extra = await c.request('status', { verbose: true });
    assert.match(extra.error!.message, /unexpected property "verbose"/);
    const positional = await c.request('lookup', ['bob']);
    assert.is(positional.error?.code, RpcCode.invalidParams);
    assert.match(positional.error!.message, /params must be an object/);
    const longName = await c.request('lookup', { name: 'x'.repeat(65) });
    assert.is(longName.error?.code, RpcCode.invalidParams);
    const badSeconds = await c.request('call', { name: 'bob', seconds: -1 });
    assert.is(badSeconds.error?.code, RpcCode.invalidParams);
    assert.match(badSeconds.error!.message, /\/seconds/);

    // A notification (no id) gets no reply: the next reply is the next request's.
    c.send('{"jsonrpc":"2.0","method":"status"}\n{"jsonrpc":"2.0","method":"nope"}\n');
    const after = await c.request('status');
    assert.is(after.result.id, world!.alice.overlay.id);
    // Invalid UTF-8 and NUL bytes are just bad JSON.
    c.send(new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0x0a]));
    assert.is((await c.next())?.error?.code, RpcCode.parseError);
    assert.not.ok(c.isClosed);
  } finally {
    await c.close();
  }
});

api('a line over 64 KiB gets an error and the connection is closed; others are unaffected', async () => {
  const bystander = await ControlClient.connect(sock());
  const c = await ControlClient.connect(sock());
  // Without a newline, in pieces: the limit applies to what is buffered.
  const chunk = 'x'.repeat(16 * 1024);
  for (let i = 0; i < 5 && !c.isClosed; i++) c.send(chunk);
  const r = await c.next();
  assert.is(r?.error?.code, RpcCode.invalidRequest);
  assert.match(r!.error!.message, /line longer than 65536 bytes/);
  await c.closed;
  // With a newline, in one write.
  const d = await ControlClient.connect(sock());
  d.send(`{"jsonrpc":"2.0","id":1,"method":"lookup","params":{"name":"${'y'.repeat(70_000)}"}}\n`);
  assert.match((await d.next())?.error?.message ?? '', /line longer/);
  await d.closed;
  // Just under the limit is parsed (and refused for its params, not its size).
  const e = await ControlClient.connect(sock());
  const padded = `{"jsonrpc":"2.0","id":1,"method":"status","pad":"${'z'.repeat(60_000)}"}\n`;
  e.send(padded);
  assert.is((await e.next())?.result?.id, world!.alice.overlay.id);
  await e.close();
  assert.is((await bystander.request('status')).result.role, 'leaf');
  await bystander.close();
});

api.run();

const limits = suite('control API: limits');
limits.before(() => {
  dir ||= mkdtempSync(join(tmpdir(), 'tincan-control-'));
});

limits('at most 16 connections: the 17th gets an error and is closed; a freed slot is usable again', async () => {
  const path = join(dir, 'flood.sock');
  const s = await ControlServer.listen(path, toyMethods, { clock });
  const held: ControlClient[] = [];
  try {
    for (let i = 0; i < 16; i++) held.push(await ControlClient.connect(path));
    // Each of the 16 is served.
    for (const c of held) assert.is((await c.request('ping')).result, 'pong');
    assert.is(s.connectionCount, 16);
    const extra = await Promise.all(Array.from({ length: 8 }, () => ControlClient.connect(path)));
    for (const x of extra) {
      const r = await x.next();
      assert.is(r?.error?.code, RpcCode.tooManyConnections);
      await x.closed;
    }
    assert.is(s.connectionCount, 16);
    await held.pop()!.close();
    await clock.sleep(50);
    const again = await ControlClient.connect(path);
    held.push(again);
    assert.is((await again.request('ping')).result, 'pong');
  } finally {
    await Promise.all(held.map((c) => c.close()));
    await s.close();
  }
});

limits('per-connection rate limit; pipelined requests wait for a slot, up to a cap', async () => {
  const path = join(dir, 'rate.sock');
  const s = await ControlServer.listen(path, toyMethods, { clock, ratePerSec: 2, burst: 5, maxPending: 2, maxWaiting: 3 });
  try {
    const c = await ControlClient.connect(path);
    c.send(Array.from({ length: 8 }, (_, i) => `{"jsonrpc":"2.0","id":${i},"method":"ping"}\n`).join(''));
    const replies = [];
    for (let i = 0; i < 8; i++) replies.push((await c.next())!);
    const limited = replies.filter((r) => r.error?.code === RpcCode.rateLimited);
    assert.is(replies.filter((r) => r.result === 'pong').length, 5, JSON.stringify(replies));
    assert.is(limited.length, 3);
    assert.equal(limited.map((r) => r.id).sort(), [5, 6, 7]);
    // Another connection has its own budget.
    const other = await ControlClient.connect(path);
    assert.is((await other.request('ping')).result, 'pong');
    // Tokens come back with time (2 a second).
    await clock.sleep(600);
    assert.is((await c.request('ping')).result, 'pong');
    await Promise.all([c.close(), other.close()]);
  } finally {
    await s.close();
  }
  // Two requests that never finish fill the slots and one waits: the fourth is refused.
  const s2 = await ControlServer.listen(path, toyMethods, { clock, maxPending: 2, maxWaiting: 1 });
  try {
    const c = await ControlClient.connect(path);
    c.send(['a', 'b', 'c', 'd'].map((id) => `{"jsonrpc":"2.0","id":"${id}","method":"hang"}\n`).join(''));
    const busy = await c.next();
    assert.is(busy?.id, 'd');
    assert.is(busy?.error?.code, RpcCode.tooManyPending);
    await c.close();
  } finally {
    await s2.close();
  }
});

limits('an idle connection is closed; one waiting for a long request is not', async () => {
  const path = join(dir, 'idle.sock');
  const slow: ControlMethods = { ...toyMethods, slow: { params: NoParams, run: () => clock.sleep(900).then(() => 'done') } };
  const s = await ControlServer.listen(path, slow, { clock, idleTimeoutMs: 300 });
  try {
    const idle = await ControlClient.connect(path);
    const busy = await ControlClient.connect(path);
    const t0 = Date.now();
    const reply = busy.request('slow');
    await Promise.race([idle.closed, clock.sleep(3000)]);
    assert.ok(idle.isClosed, 'idle connection closed');
    assert.ok(Date.now() - t0 < 2000, `idle closed after ${Date.now() - t0} ms`);
    assert.is((await reply).result, 'done', 'the long request was answered');
    assert.not.ok(busy.isClosed);
    // Then it idles too, and is closed.
    await Promise.race([busy.closed, clock.sleep(3000)]);
    assert.ok(busy.isClosed, 'closed once idle');
  } finally {
    await s.close();
  }
});

limits.run();

const file = suite('control API: the socket file');
file.before(() => {
  dir ||= mkdtempSync(join(tmpdir(), 'tincan-control-'));
});
file.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

file('created mode 0600 even with umask 0; other users cannot connect; removed on close', async () => {
  const path = join(dir, 'perm.sock');
  const old = process.umask(0);
  let s: ControlServer;
  try {
    s = await ControlServer.listen(path, toyMethods, { clock });
  } finally {
    process.umask(old);
  }
  try {
    const st = lstatSync(path);
    assert.ok(st.isSocket());
    assert.is((st.mode & 0o777).toString(8), '600');
    // As user "nobody" (the test runs as root): the socket refuses the connection.
    if (process.getuid?.() === 0) {
      chmodSync(dir, 0o755);
      const script = `require('net').connect(${JSON.stringify(path)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',(e)=>{console.log(e.code);process.exit(0)})`;
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', '-e', script], { encoding: 'utf8', timeout: 20_000 });
      chmodSync(dir, 0o700);
      assert.is(r.stdout.trim(), 'EACCES', `${r.stdout} ${r.stderr}`);
    }
    const c = await ControlClient.connect(path);
    assert.is((await c.request('ping')).result, 'pong');
    const closing = c.closed;
    await s.close();
    await closing;
    assert.not.ok(existsSync(path), 'socket file removed');
    await s.close(); // idempotent
  } finally {
    await s.close();
  }
});

file('refuses a path that is a file, a directory or a live socket; replaces a stale socket', async () => {
  const path = join(dir, 'existing');
  writeFileSync(path, 'precious');
  try {
    await ControlServer.listen(path, toyMethods, { clock });
    assert.unreachable('listened over a regular file');
  } catch (err) {
    assert.match((err as Error).message, /exists and is not a socket/);
  }
  assert.is(readFileSync(path, 'utf8'), 'precious', 'file untouched');
  await ControlServer.listen(dir, toyMethods, { clock }).then(
    () => assert.unreachable('listened over a directory'),
    (err: Error) => assert.match(err.message, /not a socket/),
  );

  const live = join(dir, 'live.sock');
  const first = await ControlServer.listen(live, toyMethods, { clock });
  try {
    await ControlServer.listen(live, toyMethods, { clock }).then(
      () => assert.unreachable('took over a live socket'),
      (err: Error) => assert.match(err.message, /in use: another process is serving it/),
    );
    const c = await ControlClient.connect(live);
    assert.is((await c.request('ping')).result, 'pong', 'the first server still serves');
    await c.close();
    // A hard link to the socket outlives the server: a stale socket at that path.
    linkSync(live, join(dir, 'stale.sock'));
  } finally {
    await first.close();
  }
  const stale = join(dir, 'stale.sock');
  assert.ok(lstatSync(stale).isSocket());
  const second = await ControlServer.listen(stale, toyMethods, { clock });
  try {
    const c = await ControlClient.connect(stale);
    assert.is((await c.request('ping')).result, 'pong');
    await c.close();
  } finally {
    await second.close();
  }
  assert.not.ok(existsSync(stale));
});

file.run();
