import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { silentLogger } from '../../src/log.ts';
import { Attr, Method, StunClass } from '../../supernodes/stun/constants.ts';
import * as A from '../../supernodes/stun/attributes.ts';
import { StunWriter } from '../../supernodes/stun/message.ts';
import { TurnClient } from '../../supernodes/turn/client.ts';
import { mintTurnCredentials, longTermKey } from '../../supernodes/turn/credentials.ts';
import { TurnServer } from '../../supernodes/turn/server.ts';
import { MemNet, settle } from '../fixtures/turn/mem-net.ts';

const f = suite('turn fuzz');

f('the server never throws on random datagrams or mutated requests, and keeps serving', async () => {
  const net = new MemNet();
  const clock = new VirtualClock();
  const random = new SeededRandom(3);
  const serverSocket = await net.bind({ host: '198.51.100.1', port: 3478 });
  const server = new TurnServer({
    env: { clock, random, net, log: silentLogger() },
    send: (d, to) => serverSocket.send(d, to),
    secret: 's',
    realm: 'r',
    relayHost: '198.51.100.1',
    allowPrivatePeers: true,
  });
  serverSocket.onMessage((d, from) => server.handle(d, from));
  // A real allocation, so mutated requests can reach the authenticated paths.
  const csock = await net.bind({ host: '203.0.113.10' });
  const creds = mintTurnCredentials({ secret: 's', user: 'u', now: clock.now() });
  const client = new TurnClient({ socket: csock, clock, random, server: serverSocket.address, ...creds });
  const { relayed } = await client.allocate();
  await client.channelBind({ host: '203.0.113.20', port: 5 }, 0x4000);
  const key = longTermKey(creds.username, 'r', creds.password);
  const from = csock.address;
  const tid = new Uint8Array(12).fill(1);
  // The client's current nonce, so unmutated templates pass authentication.
  const nonce = (client as unknown as { nonce: string }).nonce;
  const templates = [Method.Allocate, Method.Refresh, Method.CreatePermission, Method.ChannelBind, Method.Send, Method.Binding].map((m) =>
    new StunWriter(m, m === Method.Send ? StunClass.Indication : StunClass.Request, tid)
      .add(Attr.XorPeerAddress, A.encodeAddress({ host: '203.0.113.20', port: 5 }, true, tid))
      .add(Attr.ChannelNumber, A.encodeChannelNumber(0x4001))
      .add(Attr.Lifetime, A.encodeU32(600))
      .add(Attr.RequestedTransport, A.encodeRequestedTransport(17))
      .add(Attr.Data, new Uint8Array([1, 2, 3]))
      .add(Attr.Username, A.encodeText(creds.username))
      .add(Attr.Realm, A.encodeText('r'))
      .add(Attr.Nonce, A.encodeText(nonce))
      .encode({ integrityKey: key, fingerprint: true }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 1600 }),
        fc.tuple(fc.constantFrom(...templates), fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(200)).map(
          ([t, edits, cut]) => {
            const b = t.slice();
            for (const [i, v] of edits) if (i < b.length) b[i] = v;
            return b.subarray(0, Math.max(cut, 20));
          },
        ),
        fc.uint8Array({ minLength: 4, maxLength: 60 }).map((b) => {
          b[0] = 0x40 | (b[0]! & 0x3f);
          return b;
        }),
      ),
      fc.boolean(),
      async (bytes, toRelay) => {
        server.handle(bytes, from);
        server.handle(bytes, { host: '::1', port: 1 });
        if (toRelay) net.deliver(bytes, { host: '203.0.113.20', port: 5 }, relayed);
        await settle(2);
      },
    ),
    { numRuns: 1500 },
  );
  // Still serving: a fresh request works.
  assert.is(await client.refresh(600), 600);
  assert.ok(server.stats().drops.malformed! > 0);
  client.close();
  server.close();
});

f.run();
