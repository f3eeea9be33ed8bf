/** The wire stack over real UDP on 127.0.0.1 (unencrypted test channel through the Demux). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Type } from '@sinclair/typebox';
import { RealClock } from '../../src/clock.ts';
import { SecureRandom } from '../../src/random.ts';
import { UdpNet } from '../../src/net/udp.ts';
import { FragmentedChannel } from '../../src/wire/fragment-channel.ts';
import { MessageEndpoint } from '../../src/wire/message-endpoint.ts';
import { createRegistry, defineMessage } from '../../src/wire/messages.ts';
import { defineMethod } from '../../src/wire/rpc-method.ts';
import { RpcPeer } from '../../src/wire/rpc.ts';
import { plainUdpChannel } from './wire-helpers.ts';

const s = suite('wire/udp loopback');

const Digest = defineMethod(
  'test.digest',
  Type.Object({ data: Type.String({ maxLength: 60_000 }) }, { additionalProperties: false }),
  Type.Object({ length: Type.Integer(), sum: Type.Integer() }, { additionalProperties: false }),
);
const Hello = defineMessage('test.hello', { from: Type.String({ maxLength: 16 }) });

s('RPC with fragmented 50 KB requests and one-way messages over real sockets', async () => {
  const net = new UdpNet();
  const clock = new RealClock();
  const random = new SecureRandom();
  const sa = await net.bind({ host: '127.0.0.1', port: 0 });
  const sb = await net.bind({ host: '127.0.0.1', port: 0 });
  const registry = createRegistry(Hello);
  const build = (sock: typeof sa, peer: typeof sa) => {
    const channel = plainUdpChannel(sock, peer.address);
    const endpoint = new MessageEndpoint(new FragmentedChannel(channel, { clock }), registry);
    return { channel, endpoint, rpc: new RpcPeer(endpoint, { clock, random }) };
  };
  const a = build(sa, sb);
  const b = build(sb, sa);
  try {
    let runs = 0;
    b.rpc.handle(Digest, ({ data }) => {
      runs++;
      let sum = 0;
      for (let i = 0; i < data.length; i++) sum = (sum + data.charCodeAt(i)) % 65521;
      return { length: data.length, sum };
    });
    const hello = new Promise<string>((resolve) => b.endpoint.on(Hello, (m) => resolve(m.from)));
    a.endpoint.send({ type: 'test.hello', from: 'a' });
    assert.is(await hello, 'a');

    const jobs = Array.from({ length: 40 }, (_, i) => {
      const data = String.fromCharCode(97 + (i % 26)).repeat(i % 4 === 0 ? 50_000 : 100 + i);
      let sum = 0;
      for (let k = 0; k < data.length; k++) sum = (sum + data.charCodeAt(k)) % 65521;
      return a.rpc.request(Digest, { data }, { timeoutMs: 5000 }).then((r) => assert.equal(r, { length: data.length, sum }));
    });
    await Promise.all(jobs);
    assert.is(runs, 40);
    // Other protocols and junk on the same port are classified and counted, not crashes.
    sa.send(new Uint8Array([0x00, 0x01, 0x00, 0x00]), sb.address); // STUN, no handler here
    sa.send(new Uint8Array([0xff, 0xff]), sb.address); // unknown
    await clock.sleep(100);
    const d = b.channel.demux.stats();
    assert.is(d.dropped.noHandler, 1);
    assert.is(d.dropped.unknown, 1);
    assert.ok(d.received.overlay > 40);
  } finally {
    a.rpc.close('test over');
    b.rpc.close('test over');
    sa.close();
    sb.close();
  }
});

s.run();
