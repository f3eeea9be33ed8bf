/**
 * Interop on real UDP (loopback): coturn's own tools against our server, and our TS
 * client through our server between two loopback sockets. Needs the coturn package
 * (turnutils_uclient, turnutils_stunclient); CI installs it.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { RealClock } from '../../src/clock.ts';
import { SecureRandom } from '../../src/random.ts';
import { silentLogger } from '../../src/log.ts';
import { UdpNet } from '../../src/net/udp.ts';
import { TurnClient } from '../../supernodes/turn/client.ts';
import { mintTurnCredentials } from '../../supernodes/turn/credentials.ts';
import { startStandaloneTurn, type StandaloneTurn } from '../../supernodes/turn/standalone.ts';

const SECRET = 'interop-secret';
const env = { clock: new RealClock(), random: new SecureRandom(), net: new UdpNet(), log: silentLogger() };

function run(cmd: string, args: string[], timeoutMs = 90_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${err.message} (install the coturn package)`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

async function server(): Promise<StandaloneTurn> {
  return startStandaloneTurn({
    env,
    listen: { host: '127.0.0.1', port: 0 },
    secret: SECRET,
    realm: 'tincan.test',
    relayHost: '127.0.0.1',
    allowPrivatePeers: true, // -y relays between loopback relayed addresses
    userQuota: 100,
  });
}

function uclientOk(out: string, expected: number): void {
  const lost = /Total lost packets (\d+)/.exec(out);
  const counts = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m.exec(out);
  assert.ok(lost && counts, `no summary in uclient output:\n${out.slice(-800)}`);
  assert.is(Number(lost![1]), 0, `loss reported:\n${out.slice(-500)}`);
  assert.is(Number(counts![1]), expected);
  assert.is(Number(counts![2]), expected);
}

const t = suite('turn interop (coturn tools, real UDP)');

for (const [name, flags] of [
  ['ChannelData, no RTCP (-y -c)', ['-y', '-c']],
  ['EVEN-PORT + RESERVATION-TOKEN pairs (-y)', ['-y']],
  ['Send/Data indications (-y -c -s)', ['-y', '-c', '-s']],
] as const) {
  t(`turnutils_uclient ${name} -W secret: success, no loss`, async () => {
    const s = await server();
    try {
      const { code, out } = await run('turnutils_uclient', [...flags, '-m', '4', '-n', '30', '-z', '5', '-W', SECRET, '-u', 'interop', '-p', String(s.address.port), '127.0.0.1']);
      assert.is(code, 0, out.slice(-500));
      uclientOk(out, 4 * 30);
      const st = s.server.stats();
      assert.ok(st.allocationsCreated >= 4);
      assert.is(st.relayedToPeerPackets, 120);
    } finally {
      s.close();
    }
  });
}

t('turnutils_uclient with a wrong secret is refused (401)', async () => {
  const s = await server();
  try {
    const { code, out } = await run('turnutils_uclient', ['-y', '-c', '-m', '2', '-n', '5', '-W', 'wrong', '-u', 'x', '-p', String(s.address.port), '127.0.0.1']);
    assert.is.not(code, 0, out.slice(-300));
    assert.is(s.server.stats().allocationsCreated, 0);
    assert.ok(s.server.stats().errors[401]! > 0);
  } finally {
    s.close();
  }
});

t('turnutils_stunclient: Binding answered with the reflexive address', async () => {
  const s = await server();
  try {
    const { code, out } = await run('turnutils_stunclient', ['-p', String(s.address.port), '127.0.0.1'], 20_000);
    assert.is(code, 0, out);
    assert.match(out, /UDP reflexive addr: 127\.0\.0\.1:\d+/);
    assert.ok(s.server.stats().bindingResponses >= 1);
  } finally {
    s.close();
  }
});

t('TS client: allocate, permit, bind a channel, relay between two loopback sockets', async () => {
  const s = await server();
  const a = await env.net.bind({ host: '127.0.0.1' });
  const peer = await env.net.bind({ host: '127.0.0.1' });
  const creds = mintTurnCredentials({ secret: SECRET, user: 'leaf', now: env.clock.now(), ttlSeconds: 600 });
  const c = new TurnClient({ socket: a, clock: env.clock, random: env.random, server: s.address, ...creds });
  try {
    const { relayed } = await c.allocate();
    assert.is(relayed.host, '127.0.0.1');
    await c.createPermission(peer.address);
    const atPeer: string[] = [];
    peer.onMessage((d, from) => {
      atPeer.push(new TextDecoder().decode(d));
      peer.send(new TextEncoder().encode(`echo ${new TextDecoder().decode(d)}`), from);
    });
    const atClient: string[] = [];
    c.onData((d) => atClient.push(new TextDecoder().decode(d)));
    c.send(peer.address, new TextEncoder().encode('by Send indication'));
    await waitFor(() => atClient.length === 1);
    await c.channelBind(peer.address, 0x4000);
    c.send(peer.address, new TextEncoder().encode('by ChannelData'));
    await waitFor(() => atClient.length === 2);
    assert.equal(atPeer, ['by Send indication', 'by ChannelData']);
    assert.equal(atClient, ['echo by Send indication', 'echo by ChannelData']);
    assert.is(await c.refresh(0), 0);
  } finally {
    c.close();
    a.close();
    peer.close();
    s.close();
  }
});

t('TS client against coturn turnserver (--use-auth-secret): the same flow works', async () => {
  const probe = await env.net.bind({ host: '127.0.0.1' });
  const port = probe.address.port;
  probe.close();
  const coturn = spawn(
    'turnserver',
    ['-n', '--listening-ip', '127.0.0.1', '--listening-port', String(port), '--relay-ip', '127.0.0.1',
      '--use-auth-secret', '--static-auth-secret', SECRET, '--realm', 'coturn.test', '--allow-loopback-peers',
      '--no-cli', '--no-tls', '--no-dtls', '--log-file', 'stdout', '--simple-log', '--pidfile', `/tmp/tincan-test-coturn-${port}.pid`],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => coturn.on('close', () => r()));
  const a = await env.net.bind({ host: '127.0.0.1' });
  const peer = await env.net.bind({ host: '127.0.0.1' });
  const creds = mintTurnCredentials({ secret: SECRET, user: 'leaf', now: env.clock.now(), ttlSeconds: 600 });
  const c = new TurnClient({ socket: a, clock: env.clock, random: env.random, server: { host: '127.0.0.1', port }, ...creds });
  try {
    await waitFor(() => coturn.exitCode === null, 1000);
    let relayed;
    for (let i = 0; ; i++) {
      try {
        relayed = (await c.allocate()).relayed;
        break;
      } catch (err) {
        if (i > 20) throw err;
        await new Promise((r) => setTimeout(r, 250)); // coturn still starting
      }
    }
    assert.is(relayed.host, '127.0.0.1');
    await c.channelBind(peer.address, 0x4000);
    const got: string[] = [];
    c.onData((d) => got.push(new TextDecoder().decode(d)));
    peer.onMessage((d, from) => peer.send(d, from));
    c.send(peer.address, new TextEncoder().encode('through coturn'));
    await waitFor(() => got.length === 1);
    assert.equal(got, ['through coturn']);
    assert.is(await c.refresh(0), 0);
  } finally {
    c.close();
    a.close();
    peer.close();
    coturn.kill('SIGTERM');
    await exited;
  }
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.run();
