/**
 * werift's DTLS client with a slow server: the server's answer to the first ClientHello
 * is late, so the client retransmits it and gets two HelloVerifyRequests. Without
 * src/call/werift-fixes.ts werift's client throws on the second and the call fails;
 * with it, the handshake completes. Real werift DtlsClient/DtlsServer, real keys; the
 * link between them is an in-memory datagram pipe that can hold packets back.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Connection, createSelfSignedCertificate, DtlsClient, DtlsServer } from 'werift';
import { EARLY_DTLS_MAX } from '../../src/call/werift-fixes.ts';

interface Pipe {
  onData: (buf: Buffer) => void;
  send: (buf: Buffer) => Promise<void>;
  close: () => Promise<void>;
  closed: boolean;
  type: string;
  address: object;
}

/**
 * Two ends of a datagram pipe. The first `held` datagrams from b to a are held back and
 * delivered together, in order, when the last of them is sent (a busy server process
 * that answers two ClientHellos at once).
 */
function pipePair(held: number): { a: Pipe; b: Pipe; timers: Set<ReturnType<typeof setTimeout>>; fromB: () => number } {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let nB = 0;
  const queue: Buffer[] = [];
  const make = (): Pipe => ({ onData: () => {}, send: async () => {}, close: async () => {}, closed: false, type: 'udp', address: {} });
  const a = make();
  const b = make();
  const deliver = (to: Pipe, bufs: Buffer[]) => {
    const t = setTimeout(() => {
      timers.delete(t);
      for (const buf of bufs) if (!to.closed) to.onData(Buffer.from(buf));
    }, 1);
    timers.add(t);
  };
  a.send = async (buf) => deliver(b, [buf]);
  b.send = async (buf) => {
    nB++;
    if (nB > held) return deliver(a, [buf]);
    queue.push(Buffer.from(buf));
    if (nB === held) deliver(a, queue.splice(0));
  };
  return { a, b, timers, fromB: () => nB };
}

const dtls = suite('werift fixes');

dtls('a DTLS client completes the handshake when a slow server sends two HelloVerifyRequests', async () => {
  const keys = () => createSelfSignedCertificate({ signature: 3, hash: 4 } as never, 23 as never);
  const [ck, sk] = await Promise.all([keys(), keys()]);
  // The server's HelloVerifyRequest is late: the client resends its ClientHello after
  // 500 ms, and both HelloVerifyRequests reach it back to back.
  const { a, b, timers, fromB } = pipePair(2);
  const common = { srtpProfiles: [1], extendedMasterSecret: true };
  const server = new DtlsServer({ cert: sk.certPem, key: sk.keyPem, signatureHash: sk.signatureHash, transport: b as never, certificateRequest: true, ...common } as never);
  const client = new DtlsClient({ cert: ck.certPem, key: ck.keyPem, signatureHash: ck.signatureHash, transport: a as never, ...common } as never);
  const errors: string[] = [];
  client.onError.subscribe((e: Error) => errors.push(`client: ${e.stack ?? e}`));
  server.onError.subscribe((e: Error) => errors.push(`server: ${e.stack ?? e}`));
  const connected = Promise.all([new Promise<void>((r) => client.onConnect.once(() => r())), new Promise<void>((r) => server.onConnect.once(() => r()))]);
  void client.connect();
  const outcome = await Promise.race([connected.then(() => 'connected'), new Promise<string>((r) => setTimeout(() => r('timeout'), 8000))]);
  const helloVerifyRequests = fromB();
  for (const end of [client, server]) {
    try {
      await end.close();
    } catch {
      // closing a half-open handshake may throw; not what this test checks
    }
  }
  a.closed = b.closed = true;
  for (const t of timers) clearTimeout(t);
  assert.equal(errors, []);
  assert.is(outcome, 'connected', errors.join('\n'));
  // The retransmission really happened: the server sent more than one flight-2 datagram.
  assert.ok(helloVerifyRequests >= 3, `server datagrams ${helloVerifyRequests}`);
});

dtls('a ClientHello that arrives before the DTLS server exists is answered at once, not after a retransmission', async () => {
  const keys = () => createSelfSignedCertificate({ signature: 3, hash: 4 } as never, 23 as never);
  const [ck, sk] = await Promise.all([keys(), keys()]);
  // The server side's ICE agent: werift's Connection, started (connect() fails at once
  // here: no candidates were gathered, which is not what this test is about).
  const ice = new Connection(true, { iceServers: [] } as never) as unknown as {
    connect(): Promise<void>;
    onData: { execute(buf: Buffer): void; subscribe(fn: (buf: Buffer) => void): unknown };
    close(): Promise<void>;
  };
  await ice.connect().catch(() => {});
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, 1);
    timers.add(t);
  };
  // The client's datagrams reach the server's ICE connection, as werift's ICE delivers them.
  let clientDatagrams = 0;
  const clientEnd = { onData: (_: Buffer) => {}, send: async (buf: Buffer) => {
    clientDatagrams++;
    later(() => ice.onData.execute(Buffer.from(buf)));
  }, close: async () => {}, closed: false, type: 'udp', address: {} };
  // werift's IceTransport: DTLS datagrams from the ICE connection to the DTLS endpoint.
  const serverEnd = { ice, onData: (_: Buffer) => {}, send: async (buf: Buffer) => later(() => clientEnd.onData(Buffer.from(buf))), close: async () => {}, closed: false, type: 'ice', address: {} };
  ice.onData.subscribe((buf) => serverEnd.onData(buf));
  const common = { srtpProfiles: [1], extendedMasterSecret: true };
  const client = new DtlsClient({ cert: ck.certPem, key: ck.keyPem, signatureHash: ck.signatureHash, transport: clientEnd as never, ...common } as never);
  const clientConnected = new Promise<void>((r) => client.onConnect.once(() => r()));
  void client.connect();
  // The ClientHello is on its way before the server exists (its ICE is not up yet).
  await new Promise((r) => setTimeout(r, 50));
  const beforeServer = clientDatagrams;
  const server = new DtlsServer({ cert: sk.certPem, key: sk.keyPem, signatureHash: sk.signatureHash, transport: serverEnd as never, certificateRequest: true, ...common } as never);
  const outcome = await Promise.race([clientConnected.then(() => 'connected'), new Promise<string>((r) => setTimeout(() => r('timeout'), 5000))]);
  const started = Date.now();
  for (const end of [client, server]) {
    try {
      await end.close();
    } catch {
      // not what this test checks
    }
  }
  clientEnd.closed = serverEnd.closed = true;
  for (const t of timers) clearTimeout(t);
  await ice.close().catch(() => {});
  assert.is(beforeServer, 1, 'one ClientHello sent before the server existed');
  assert.is(outcome, 'connected');
  // Flight 1, flight 3 (ClientHello with cookie) and flight 5: no retransmission, which
  // werift's client makes after 500 ms when the first ClientHello went unanswered.
  assert.ok(clientDatagrams <= 3 + 4, `client datagrams ${clientDatagrams}`);
  assert.ok(Date.now() - started < 2000);
});

dtls('an ICE connection keeps at most EARLY_DTLS_MAX early DTLS datagrams', async () => {
  const ice = new Connection(true, { iceServers: [] } as never) as unknown as {
    connect(): Promise<void>;
    onData: { execute(buf: Buffer): void };
    close(): Promise<void>;
  };
  await ice.connect().catch(() => {});
  for (let i = 0; i < EARLY_DTLS_MAX * 4; i++) ice.onData.execute(Buffer.from([22, 254, 253, i]));
  ice.onData.execute(Buffer.from([0, 1, 0, 0])); // a STUN-range byte: not DTLS, not kept
  const early = (ice as unknown as Record<symbol, { packets: Buffer[] }>)[Symbol.for('tincan.werift.earlyDtls')];
  assert.ok(early, 'the connection keeps early DTLS datagrams');
  assert.is(early!.packets.length, EARLY_DTLS_MAX);
  assert.equal([...early!.packets[0]!], [22, 254, 253, 0]);
  await ice.close().catch(() => {});
});

dtls.run();
