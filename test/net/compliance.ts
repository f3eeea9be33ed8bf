/**
 * The one compliance suite for every {@link Net} implementation: run against UdpNet on
 * 127.0.0.1 and ::1 (udp.test.ts) and against SimNet (sim.test.ts). Anything a component
 * may rely on about sockets is asserted here, so the overlay behaves the same on real
 * UDP and in the simulator.
 *
 * @module
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Address, DatagramSocket, Net } from '../../src/net/net.ts';
import { sameAddress } from '../../src/net/net.ts';

/** What a factory provides for one test. */
export interface NetFixture {
  /** Two networks whose sockets can reach each other (may be the same object). */
  a: Net;
  b: Net;
  /** Host to bind to (undefined: the implementation's default). */
  bindHost?: string;
  /** Let datagrams in flight arrive (UdpNet: a short real wait; SimNet: advance the clock). */
  settle(): Promise<void>;
  /** Release everything the fixture created. */
  close(): Promise<void>;
}

/** Register and run the compliance suite `net compliance: NAME` for a fixture factory. */
export function netCompliance(name: string, factory: () => Promise<NetFixture>): void {
  const s = suite(`net compliance: ${name}`);

  /** Run `body` with a fresh fixture and sockets that are closed afterwards. */
  const withFixture = (body: (fx: NetFixture, bind: (net: Net, port?: number) => Promise<DatagramSocket>) => Promise<void>) => async () => {
    const fx = await factory();
    const sockets: DatagramSocket[] = [];
    const bind = async (net: Net, port = 0) => {
      const sock = await net.bind({ host: fx.bindHost, port });
      sockets.push(sock);
      return sock;
    };
    try {
      await body(fx, bind);
    } finally {
      for (const sock of sockets) sock.close();
      await fx.close();
    }
  };

  /** Settle until `cond` holds (at most ~100 rounds). */
  const until = async (fx: NetFixture, cond: () => boolean, what: string) => {
    for (let i = 0; i < 100 && !cond(); i++) await fx.settle();
    assert.ok(cond(), `timed out waiting for ${what}`);
  };

  const bytes = (...xs: number[]) => Uint8Array.from(xs);

  s(
    'bind with port 0 gives a real, distinct port',
    withFixture(async (fx, bind) => {
      const x = await bind(fx.a);
      const y = await bind(fx.a);
      for (const sock of [x, y]) {
        assert.ok(Number.isInteger(sock.address.port) && sock.address.port > 0 && sock.address.port < 65536, `port ${sock.address.port}`);
        if (fx.bindHost) assert.is(sock.address.host, fx.bindHost);
        assert.is(sock.closed, false);
      }
      assert.is.not(x.address.port, y.address.port);
    }),
  );

  s(
    'echo round trip; the reply comes from the server address',
    withFixture(async (fx, bind) => {
      const server = await bind(fx.b);
      const client = await bind(fx.a);
      server.onMessage((data, from) => server.send(data, from));
      const got: [Uint8Array, Address][] = [];
      client.onMessage((data, from) => got.push([data.slice(), from]));
      client.send(new TextEncoder().encode('hello'), server.address);
      await until(fx, () => got.length > 0, 'the echo');
      assert.is(new TextDecoder().decode(got[0]![0]), 'hello');
      assert.ok(sameAddress(got[0]![1], server.address), `reply from ${JSON.stringify(got[0]![1])}`);
      await fx.settle();
      assert.is(got.length, 1);
    }),
  );

  s(
    'many datagrams arrive exactly once',
    withFixture(async (fx, bind) => {
      const server = await bind(fx.b);
      const client = await bind(fx.a);
      const seen = new Map<number, number>();
      server.onMessage((data) => {
        const i = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
        seen.set(i, (seen.get(i) ?? 0) + 1);
      });
      const total = 1000;
      const batch = 50; // bounded bursts: real socket buffers are finite
      for (let i = 0; i < total; i += batch) {
        for (let j = i; j < i + batch; j++) {
          const msg = new Uint8Array(64);
          new DataView(msg.buffer).setUint32(0, j);
          client.send(msg, server.address);
        }
        await until(fx, () => seen.size >= i + batch, `datagrams ${i}..${i + batch - 1}`);
      }
      await fx.settle();
      assert.is(seen.size, total);
      for (const [i, n] of seen) assert.is(n, 1, `datagram ${i} arrived ${n} times`);
    }),
  );

  s(
    'binary payloads arrive intact, including empty and large ones',
    withFixture(async (fx, bind) => {
      const server = await bind(fx.b);
      const client = await bind(fx.a);
      const got: Uint8Array[] = [];
      server.onMessage((data) => got.push(data.slice()));
      const sizes = [0, 1, 256, 1200, 9000, 60000];
      const sent = sizes.map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + k * 7 + (i >> 8)) & 0xff));
      for (const msg of sent) {
        client.send(msg, server.address);
        await until(fx, () => got.length === sent.indexOf(msg) + 1, `payload of ${msg.length} bytes`);
      }
      for (let k = 0; k < sent.length; k++) assert.equal(got[k], sent[k], `payload ${k} (${sizes[k]} bytes)`);
    }),
  );

  s(
    'the receiver never sees the sender mutate a buffer after send',
    withFixture(async (fx, bind) => {
      const server = await bind(fx.b);
      const client = await bind(fx.a);
      const got: Uint8Array[] = [];
      server.onMessage((data) => got.push(data.slice()));
      const buf = bytes(1, 2, 3, 4);
      client.send(buf, server.address);
      buf.fill(9);
      await until(fx, () => got.length === 1, 'the datagram');
      assert.equal(got[0], bytes(1, 2, 3, 4));
    }),
  );

  s(
    'close is idempotent and handlers are not called afterwards',
    withFixture(async (fx, bind) => {
      const server = await bind(fx.b);
      const client = await bind(fx.a);
      let calls = 0;
      server.onMessage(() => calls++);
      client.send(bytes(1), server.address);
      await until(fx, () => calls === 1, 'the first datagram');
      // One more in flight while the receiver closes: it must not reach the handler.
      client.send(bytes(2), server.address);
      server.close();
      server.close();
      assert.is(server.closed, true);
      client.send(bytes(3), server.address);
      await fx.settle();
      await fx.settle();
      assert.is(calls, 1);
      // A handler added after close is never called and its unsubscribe is harmless.
      server.onMessage(() => calls++)();
    }),
  );

  s(
    'sending after close is a silent no-op',
    withFixture(async (fx, bind) => {
      const server = await bind(fx.b);
      const client = await bind(fx.a);
      let calls = 0;
      server.onMessage(() => calls++);
      client.close();
      const before = client.stats();
      client.send(bytes(1, 2, 3), server.address);
      await fx.settle();
      assert.equal(client.stats(), before);
      assert.is(calls, 0);
    }),
  );

  s(
    'unsubscribe removes only that handler and is idempotent',
    withFixture(async (fx, bind) => {
      const server = await bind(fx.b);
      const client = await bind(fx.a);
      const calls = { first: 0, second: 0 };
      const off = server.onMessage(() => calls.first++);
      server.onMessage(() => calls.second++);
      client.send(bytes(1), server.address);
      await until(fx, () => calls.second === 1, 'the first datagram');
      off();
      off();
      client.send(bytes(2), server.address);
      await until(fx, () => calls.second === 2, 'the second datagram');
      assert.equal(calls, { first: 1, second: 2 });
    }),
  );

  s(
    'a handler may unsubscribe itself while being called',
    withFixture(async (fx, bind) => {
      const server = await bind(fx.b);
      const client = await bind(fx.a);
      let once = 0;
      let always = 0;
      const off = server.onMessage(() => {
        once++;
        off();
      });
      server.onMessage(() => always++);
      client.send(bytes(1), server.address);
      client.send(bytes(2), server.address);
      await until(fx, () => always === 2, 'both datagrams');
      assert.is(once, 1);
    }),
  );

  s(
    'binding a port in use fails clearly; after close the port is free again',
    withFixture(async (fx, bind) => {
      const first = await bind(fx.a);
      const port = first.address.port;
      try {
        await bind(fx.a, port);
        assert.unreachable('second bind should fail');
      } catch (err) {
        assert.instance(err, Error);
        assert.match((err as Error).message, /address already in use/);
        assert.match((err as Error).message, String(port));
      }
      first.close();
      const again = await bind(fx.a, port);
      assert.is(again.address.port, port);
    }),
  );

  s(
    'stats count datagrams and payload bytes both ways',
    withFixture(async (fx, bind) => {
      const server = await bind(fx.b);
      const client = await bind(fx.a);
      let n = 0;
      server.onMessage(() => n++);
      for (const size of [10, 20, 30]) client.send(new Uint8Array(size), server.address);
      await until(fx, () => n === 3, 'three datagrams');
      await until(fx, () => client.stats().sentPackets === 3, 'send completions');
      assert.equal(client.stats(), { sentPackets: 3, sentBytes: 60, receivedPackets: 0, receivedBytes: 0, sendErrors: 0 });
      assert.equal(server.stats(), { sentPackets: 0, sentBytes: 0, receivedPackets: 3, receivedBytes: 60, sendErrors: 0 });
    }),
  );

  s(
    'invalid destinations and oversized datagrams never throw and count as send errors',
    withFixture(async (fx, bind) => {
      const client = await bind(fx.a);
      const server = await bind(fx.b);
      let calls = 0;
      server.onMessage(() => calls++);
      const bad: Address[] = [
        { host: 'not-an-ip', port: 4000 },
        { host: '', port: 4000 },
        { host: server.address.host, port: 0 },
        { host: server.address.host, port: 70000 },
        { host: server.address.host, port: 1.5 },
        { host: server.address.host, port: -1 },
      ];
      for (const to of bad) client.send(bytes(1), to);
      client.send(new Uint8Array(70_000), server.address);
      await fx.settle();
      await until(fx, () => client.stats().sendErrors === bad.length + 1, 'send errors');
      assert.is(client.stats().sentPackets, 0);
      assert.is(calls, 0);
      // The socket still works.
      client.send(bytes(7), server.address);
      await until(fx, () => calls === 1, 'a valid datagram after the bad ones');
    }),
  );

  s.run();
}
