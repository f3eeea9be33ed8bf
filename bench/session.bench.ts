/**
 * Session layer throughput on one core, in memory (no sockets):
 *
 * - `handshakesPerSec`: complete session handshakes between two SessionManagers (Noise
 *   XX with Ed25519 identity proofs: 3 messages, 8 X25519 operations and 2 Ed25519
 *   verifications in all (each manager signs its static key once, at start), plus the
 *   confirming keepalive), closing the sessions after each so the next connect is a full
 *   handshake. Both sides run on the one core, so a node answering handshakes alone
 *   manages roughly twice this rate.
 * - `noiseXXPerSec`: bare Noise_XX_25519_ChaChaPoly_SHA256 handshakes (HandshakeState only).
 * - `sealedMsgsPerSec` / `sealMBps`: 1 KB payloads sealed into DATA packets; `ref` is
 *   native ChaCha20-Poly1305 from node:crypto (OpenSSL) on the same payloads, `ratio` =
 *   ours / native (higher is better).
 * - `openedMsgsPerSec` / `openMBps`: the full receive path (parse, index lookup, replay
 *   window, decrypt, deliver) through `SessionManager.receive`.
 *
 * - `x25519OpsPerSec`: raw @noble X25519 scalar multiplications in the same run, as a
 *   calibration of the machine (a handshake costs 8 of them plus 2 Ed25519 verifications).
 *
 * Size it with TINCAN_SESSION_BENCH_MS (time per measurement, default 1500).
 * @module
 */
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { createCipheriv } from 'node:crypto';
import type { Emit } from './bench.ts';
import { VirtualClock } from '../src/virtual-clock.ts';
import { SeededRandom } from '../src/random.ts';
import type { Address } from '../src/net/net.ts';
import { SessionManager } from '../src/wire/session-manager.ts';
import { identityFromSecretKey, nodeIdOf } from '../src/wire/session/identity-binding.ts';
import { HandshakeState } from '../src/wire/noise/handshake-state.ts';
import { dh, dhKeyPairFromSecret } from '../src/wire/noise/crypto.ts';
import { XX } from '../src/wire/noise/patterns.ts';

const BUDGET_MS = Number(process.env.TINCAN_SESSION_BENCH_MS ?? 1500);
const A: Address = { host: '10.0.0.1', port: 1 };
const B: Address = { host: '10.0.0.2', port: 2 };

/** Two managers wired back to back through a synchronous queue. */
function pair() {
  const clock = new VirtualClock();
  const queue: [Uint8Array, Address, Address][] = [];
  const random = new SeededRandom(1);
  const ida = identityFromSecretKey(random.bytes(32));
  const idb = identityFromSecretKey(random.bytes(32));
  const options = { handshakeBurst: 1e9, handshakesPerSecond: 1e9, rekeyAfterMessages: 2 ** 40 };
  const a: SessionManager = new SessionManager({ identity: ida, clock, random: random.fork(), send: (d, to) => queue.push([d, A, to]), options });
  const b: SessionManager = new SessionManager({ identity: idb, clock, random: random.fork(), send: (d, to) => queue.push([d, B, to]), options });
  const flush = () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const [d, from, to] = item;
      (to.port === 1 ? a : b).receive(d, from);
    }
  };
  return { clock, a, b, idb, flush, queue };
}

function measure(fn: () => number): { perSec: number; n: number; ms: number } {
  fn(); // warm-up
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < BUDGET_MS) {
    n += fn();
    t = performance.now();
  }
  return { perSec: (n * 1000) / (t - t0), n, ms: t - t0 };
}

async function handshakes(): Promise<number> {
  const { a, b, idb, flush } = pair();
  const bId = nodeIdOf(idb.publicKey);
  const one = (): number => {
    void a.connect(B, bId);
    flush();
    // connect resolves in a microtask, but the session is registered synchronously
    const s = a.get(bId);
    if (!s) throw new Error('handshake did not complete');
    s.close();
    for (const x of b.sessions()) x.close();
    return 1;
  };
  const r = measure(() => {
    for (let i = 0; i < 10; i++) one();
    return 10;
  });
  a.close();
  b.close();
  await Promise.resolve();
  return r.perSec;
}

function noiseOnly(): number {
  const random = new SeededRandom(2);
  const si = dhKeyPairFromSecret(random.bytes(32));
  const sr = dhKeyPairFromSecret(random.bytes(32));
  const empty = new Uint8Array(0);
  return measure(() => {
    const i = new HandshakeState({ pattern: XX, initiator: true, s: si, random });
    const r = new HandshakeState({ pattern: XX, initiator: false, s: sr, random });
    r.readMessage(i.writeMessage(empty));
    i.readMessage(r.writeMessage(empty));
    r.readMessage(i.writeMessage(empty));
    i.split();
    r.split();
    return 1;
  }).perSec;
}

async function transport(emit: Emit): Promise<void> {
  const { a, b, idb, flush, queue } = pair();
  const bId = nodeIdOf(idb.publicKey);
  void a.connect(B, bId);
  flush();
  const s = a.get(bId)!;
  const payload = new Uint8Array(1024).fill(0x5a);
  // seal only: capture packets instead of delivering them
  const sealed: Uint8Array[] = [];
  const seal = measure(() => {
    for (let i = 0; i < 100; i++) s.send(payload);
    sealed.push(...queue.splice(0, queue.length).slice(0, 1).map((q) => q[0]));
    return 100;
  });
  // native reference on the same payload size
  const key = new Uint8Array(32).fill(1);
  const nonce = new Uint8Array(12);
  const ref = measure(() => {
    for (let i = 0; i < 100; i++) {
      nonce[4] = i;
      const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      c.update(payload);
      c.final();
      c.getAuthTag();
    }
    return 100;
  });
  const mb = (perSec: number) => (perSec * payload.length) / 1e6;
  emit({ metric: 'sealedMsgsPerSec', value: Math.round(seal.perSec), unit: 'msg/s', ref: Math.round(ref.perSec), ratio: round(seal.perSec / ref.perSec, 3), payloadBytes: 1024 });
  emit({ metric: 'sealMBps', value: round(mb(seal.perSec), 1), unit: 'MB/s', ref: round(mb(ref.perSec), 1), ratio: round(seal.perSec / ref.perSec, 3) });
  // full receive path: seal a batch, then time only the deliveries
  let delivered = 0;
  b.onMessage(() => delivered++);
  let openMs = 0;
  let opened = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < BUDGET_MS * 2 && openMs < BUDGET_MS) {
    queue.length = 0;
    for (let i = 0; i < 200; i++) s.send(payload);
    const batch = queue.splice(0, queue.length);
    const t = performance.now();
    for (const [d, from] of batch) b.receive(d, from);
    openMs += performance.now() - t;
    opened += batch.length;
  }
  if (delivered !== opened) throw new Error(`receive path lost packets: ${delivered} of ${opened}`);
  const openPerSec = (opened * 1000) / openMs;
  emit({ metric: 'openedMsgsPerSec', value: Math.round(openPerSec), unit: 'msg/s', payloadBytes: 1024 });
  emit({ metric: 'openMBps', value: round(mb(openPerSec), 1), unit: 'MB/s' });
  a.close();
  b.close();
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Entry point for bench/run.ts. */
export async function run(emit: Emit): Promise<void> {
  emit({ metric: 'handshakesPerSec', value: round(await handshakes(), 1), unit: 'handshakes/s', note: 'XX + Ed25519 identity binding, both sides, one core' });
  emit({ metric: 'noiseXXPerSec', value: round(noiseOnly(), 1), unit: 'handshakes/s' });
  const random = new SeededRandom(3);
  const k = dhKeyPairFromSecret(random.bytes(32));
  const peer = dhKeyPairFromSecret(random.bytes(32)).publicKey;
  emit({
    metric: 'x25519OpsPerSec',
    value: Math.round(
      measure(() => {
        dh(k, peer);
        return 1;
      }).perSec,
    ),
    unit: 'ops/s',
  });
  await transport(emit);
}
