/**
 * Test harness for the session layer: an in-memory datagram network on a VirtualClock
 * with configurable loss, duplication, delay jitter (reordering) and a tamper hook, and
 * helpers that build session managers on it.
 * @module
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { type Address, formatAddress } from '../../src/net/net.ts';
import { SessionManager } from '../../src/wire/session-manager.ts';
import { identityFromSecretKey, nodeIdOf, type SessionIdentity } from '../../src/wire/session/identity-binding.ts';
import type { SessionOptions } from '../../src/wire/session/options.ts';
import type { Session } from '../../src/wire/session.ts';

/** Impairments of the pipe. */
export interface PipeOptions {
  loss?: number;
  duplicate?: number;
  latencyMs?: number;
  /** Uniform extra delay in [0, jitterMs): reorders packets. */
  jitterMs?: number;
}

type Handler = (data: Uint8Array, from: Address) => void;

/** Datagrams between addresses on a virtual clock. */
export class LossyPipe {
  private readonly endpoints = new Map<string, Handler>();
  /** Rewrite or drop (return undefined) a datagram in flight. */
  tamper: ((data: Uint8Array, from: Address, to: Address) => Uint8Array | undefined) | undefined;
  /** Observe every datagram when it is delivered. */
  onDeliver: ((data: Uint8Array, from: Address, to: Address) => void) | undefined;
  sent = 0;
  delivered = 0;

  constructor(
    readonly clock: VirtualClock,
    private readonly random: SeededRandom,
    public options: PipeOptions = {},
  ) {}

  /** Register the receiver at `address`. */
  attach(address: Address, handler: Handler): void {
    this.endpoints.set(formatAddress(address), handler);
  }

  /** Remove the receiver at `address`. */
  detach(address: Address): void {
    this.endpoints.delete(formatAddress(address));
  }

  /** Send a datagram from `from` to `to`, subject to the impairments. */
  send(data: Uint8Array, from: Address, to: Address): void {
    this.sent++;
    const o = this.options;
    if (this.random.float() < (o.loss ?? 0)) return;
    const copies = this.random.float() < (o.duplicate ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let bytes: Uint8Array | undefined = data.slice();
      if (this.tamper) bytes = this.tamper(bytes, from, to);
      if (!bytes) continue;
      const delay = (o.latencyMs ?? 5) + this.random.float() * (o.jitterMs ?? 0);
      const b = bytes;
      this.clock.setTimeout(() => {
        const h = this.endpoints.get(formatAddress(to));
        if (!h) return;
        this.delivered++;
        this.onDeliver?.(b, from, to);
        h(b, { ...from });
      }, delay);
    }
  }
}

/** One node on the pipe. */
export interface TestNode {
  manager: SessionManager;
  identity: SessionIdentity;
  nodeId: string;
  address: Address;
  /** Messages delivered to this node, as text, with the sender's node ID. */
  inbox: { text: string; from: string; bytes: Uint8Array }[];
  /** Move this node to a new address (NAT rebinding): old address stops receiving. */
  moveTo(address: Address): void;
}

/** Deterministic Ed25519 identity from a seed. */
export function testIdentity(seed: number): SessionIdentity {
  return identityFromSecretKey(new SeededRandom(seed * 7919 + 1).bytes(32));
}

/** An identity whose signatures are garbage (a broken or lying peer). */
export function badSignatureIdentity(seed: number): SessionIdentity {
  const good = testIdentity(seed);
  return { publicKey: good.publicKey, sign: (m) => ed25519.sign(m, new SeededRandom(seed + 99).bytes(32)) };
}

/** Build a node listening on `address`. */
export function makeNode(
  pipe: LossyPipe,
  seed: number,
  address: Address,
  options: Partial<SessionOptions> = {},
  identity: SessionIdentity = testIdentity(seed),
): TestNode {
  const node: TestNode = {
    manager: undefined as unknown as SessionManager,
    identity,
    nodeId: nodeIdOf(identity.publicKey),
    address,
    inbox: [],
    moveTo(a: Address) {
      pipe.detach(node.address);
      node.address = a;
      pipe.attach(a, (d, from) => node.manager.receive(d, from));
    },
  };
  node.manager = new SessionManager({
    identity,
    clock: pipe.clock,
    random: new SeededRandom(seed),
    send: (data, to) => pipe.send(data, node.address, to),
    options,
  });
  node.manager.onMessage((payload, s: Session) => node.inbox.push({ text: new TextDecoder().decode(payload), from: s.nodeId, bytes: payload }));
  pipe.attach(address, (d, from) => node.manager.receive(d, from));
  return node;
}

/** A pipe and two nodes A (10.0.0.1:1000) and B (10.0.0.2:2000). */
export function makePair(seed = 1, pipeOptions: PipeOptions = {}, options: Partial<SessionOptions> = {}) {
  const clock = new VirtualClock();
  const pipe = new LossyPipe(clock, new SeededRandom(seed * 31 + 5), pipeOptions);
  const a = makeNode(pipe, seed * 2 + 1, { host: '10.0.0.1', port: 1000 }, options);
  const b = makeNode(pipe, seed * 2 + 2, { host: '10.0.0.2', port: 2000 }, options);
  const close = () => {
    a.manager.close();
    b.manager.close();
  };
  return { clock, pipe, a, b, close };
}

/** Run the clock until `p` settles (or `maxMs` passes); returns the outcome. */
export async function settle<T>(clock: VirtualClock, p: Promise<T>, maxMs = 60_000, stepMs = 10): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let result: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  p.then(
    (value) => (result = { ok: true, value }),
    (error) => (result = { ok: false, error }),
  );
  for (let t = 0; t < maxMs && !result; t += stepMs) await clock.advance(stepMs);
  await clock.advance(0);
  if (!result) throw new Error(`promise did not settle within ${maxMs} virtual ms`);
  return result;
}

/** Text to bytes. */
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
