import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UdpNet } from '../../src/net/udp.ts';
import type { Address } from '../../src/net/net.ts';
import { netCompliance } from './compliance.ts';

for (const host of ['127.0.0.1', '::1']) {
  netCompliance(`UdpNet ${host}`, async () => {
    const net = new UdpNet();
    return { a: net, b: net, bindHost: host, settle: () => sleep(10), close: async () => {} };
  });
}

const s = suite('UdpNet specifics');

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    const sock = (await p) as { close(): void };
    sock.close();
    assert.unreachable(`expected rejection matching ${re}`);
  } catch (err) {
    assert.match((err as Error).message, re);
  }
}

s('bind errors say what is wrong and never do DNS', async () => {
  const net = new UdpNet();
  await rejects(net.bind({ host: 'localhost' }), /cannot listen on localhost:0: host must be an IPv4 or IPv6 address/);
  await rejects(net.bind({ host: '192.0.2.1', port: 0 }), /cannot listen on 192\.0\.2\.1:0: no such local address/);
  await rejects(net.bind({ host: '127.0.0.1', port: 70000 }), /port must be an integer 0-65535/);
  await rejects(net.bind({ host: '::1', port: -1 }), /cannot listen on \[::1\]:-1: port must be/);
});

s('a dual-stack socket on :: talks to IPv4 and IPv6 peers', async () => {
  const net = new UdpNet();
  const server = await net.bind({ host: '::', port: 0 });
  const v4 = await net.bind({ host: '127.0.0.1' });
  const v6 = await net.bind({ host: '::1' });
  try {
    const seen: Address[] = [];
    server.onMessage((data, from) => {
      seen.push(from);
      server.send(data, from);
    });
    const echoes = { v4: 0, v6: 0 };
    v4.onMessage(() => echoes.v4++);
    v6.onMessage(() => echoes.v6++);
    v4.send(Uint8Array.of(4), { host: '127.0.0.1', port: server.address.port });
    v6.send(Uint8Array.of(6), { host: '::1', port: server.address.port });
    for (let i = 0; i < 100 && echoes.v4 + echoes.v6 < 2; i++) await sleep(10);
    assert.equal(echoes, { v4: 1, v6: 1 });
    // Replying to a plain IPv4 address from the dual-stack socket works too.
    server.send(Uint8Array.of(9), v4.address);
    for (let i = 0; i < 100 && echoes.v4 < 2; i++) await sleep(10);
    assert.is(echoes.v4, 2);
    assert.is(server.stats().sendErrors, 0);
  } finally {
    server.close();
    v4.close();
    v6.close();
  }
});

s('an IPv4-only socket counts IPv6 destinations as send errors (and vice versa)', async () => {
  const net = new UdpNet();
  const v4 = await net.bind({ host: '127.0.0.1' });
  const v6 = await net.bind({ host: '::1' });
  try {
    v4.send(Uint8Array.of(1), v6.address);
    v6.send(Uint8Array.of(1), v4.address);
    assert.is(v4.stats().sendErrors, 1);
    assert.is(v6.stats().sendErrors, 1);
  } finally {
    v4.close();
    v6.close();
  }
});

s.run();
