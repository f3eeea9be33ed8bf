/**
 * The DHT on the RPC layer: bounded TypeBox schemas for the four DHT methods
 * (`dht.ping`, `dht.find-node`, `dht.find-value`, `dht.store`), conversion between the
 * in-memory {@link DhtRequest}/{@link DhtAnswer} (byte IDs, {@link Contact}s) and their
 * JSON wire forms (hex IDs, {@link WireContact}s), and the glue in both directions:
 * {@link registerDhtHandlers} answers a session's requests with a {@link DhtService},
 * {@link dhtSendOverRpc} turns "an RPC peer for this contact" into the {@link DhtSend}
 * that {@link dhtRpc} / {@link Dht} need.
 *
 * Every answer but an error may carry `load`: the answering supernode's sessions in
 * percent of its capacity (optional, so nodes that do not report it still interoperate).
 * Supernodes collect these into their `AreaLoad` estimate (area-load.ts).
 *
 * @example
 * ```ts
 * // Per authenticated session (the peer's key is known; `peerContact` includes its PoW nonce):
 * registerDhtHandlers(session.rpc, service, peerContact);
 * // Client side:
 * const send = dhtSendOverRpc((to, signal) => sessions.rpcFor(to, signal), { timeoutMs: 2000 });
 * const dht = new Dht({ ..., rpc: dhtRpc(send) });
 * ```
 * @module
 */
import { type Static, Type } from '@sinclair/typebox';
import { defineMethod, type RpcMethod } from '../wire/rpc-method.ts';
import type { RpcContext } from '../wire/rpc.ts';
import { type Contact, contactFromWire, contactToWire } from './contact.ts';
import type { DhtSend } from './dht.ts';
import type { DhtAnswer, DhtRequest, DhtService } from './dht-service.ts';
import { nodeIdFromHex, toHex } from './node-id.ts';
import { MAX_NAME_LENGTH, MAX_RECORD_ADDRESSES, MAX_RECORD_SUPERNODES, type PresenceRecord } from './presence-record.ts';

const HexId = Type.String({ pattern: '^[0-9a-f]{64}$', maxLength: 64 });
const WireAddress = Type.Object({ host: Type.String({ minLength: 1, maxLength: 64 }), port: Type.Integer({ minimum: 1, maximum: 65535 }) }, { additionalProperties: false });

/** Schema of a contact on the wire (see {@link WireContact}). */
export const WireContactSchema = Type.Object({
  key: HexId,
  pow: Type.String({ pattern: '^[0-9a-f]{16}$', maxLength: 16 }),
  host: Type.String({ minLength: 1, maxLength: 64 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
}, { additionalProperties: false });

/** Schema of a presence record on the wire (same shape as {@link PresenceRecord}). */
export const PresenceRecordSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH }),
  publicKey: HexId,
  nodeId: HexId,
  supernodes: Type.Array(Type.Object({ id: HexId, address: WireAddress }, { additionalProperties: false }), { maxItems: MAX_RECORD_SUPERNODES }),
  addresses: Type.Array(WireAddress, { maxItems: MAX_RECORD_ADDRESSES }),
  seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  issuedAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  expiresAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  signature: Type.String({ pattern: '^[0-9a-f]{128}$', maxLength: 128 }),
}, { additionalProperties: false });

/** Contacts per answer and records per FIND_VALUE answer on the wire. */
export const WIRE_MAX_CONTACTS = 20;
export const WIRE_MAX_RECORDS = 16;

/** The answering supernode's load in percent (see module docs). */
const Load = Type.Optional(Type.Integer({ minimum: 0, maximum: 100 }));
const ErrorAnswer = Type.Object({ type: Type.Literal('error'), error: Type.Union([Type.Literal('rate-limited'), Type.Literal('invalid')]) }, { additionalProperties: false });
const Contacts = Type.Array(WireContactSchema, { maxItems: WIRE_MAX_CONTACTS });

/** `dht.ping`: liveness. */
export const DhtPing = defineMethod('dht.ping', Type.Null(), Type.Union([Type.Object({ type: Type.Literal('pong'), load: Load }, { additionalProperties: false }), ErrorAnswer]));
/** `dht.find-node`: the k closest contacts to `target`. */
export const DhtFindNode = defineMethod('dht.find-node',
  Type.Object({ target: HexId }, { additionalProperties: false }),
  Type.Union([Type.Object({ type: Type.Literal('nodes'), contacts: Contacts, load: Load }, { additionalProperties: false }), ErrorAnswer]));
/** `dht.find-value`: records under `key`, or the closest contacts. */
export const DhtFindValue = defineMethod('dht.find-value',
  Type.Object({ key: HexId }, { additionalProperties: false }),
  Type.Union([Type.Object({ type: Type.Literal('value'), records: Type.Array(PresenceRecordSchema, { maxItems: WIRE_MAX_RECORDS }), contacts: Contacts, load: Load }, { additionalProperties: false }), ErrorAnswer]));
/** `dht.store`: store a record under `key`. */
export const DhtStore = defineMethod('dht.store',
  Type.Object({ key: HexId, record: PresenceRecordSchema }, { additionalProperties: false }),
  Type.Union([
    Type.Object({ type: Type.Literal('stored'), status: Type.Union([Type.Literal('stored'), Type.Literal('replaced'), Type.Literal('unchanged')]), load: Load }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('refused'), error: Type.String({ maxLength: 32 }), load: Load }, { additionalProperties: false }),
    ErrorAnswer,
  ]));

/** Every DHT method, e.g. for registering with a message registry. */
export const DHT_METHODS: readonly RpcMethod[] = [DhtPing, DhtFindNode, DhtFindValue, DhtStore] as readonly RpcMethod[];

type PingResult = Static<typeof DhtPing.result.schema>;
type WireContacts = Static<typeof Contacts>;

function contactsToWire(cs: readonly Contact[]): WireContacts {
  return cs.slice(0, WIRE_MAX_CONTACTS).map(contactToWire);
}

/** Decode wire contacts; malformed ones are dropped (the schema already bounded them). */
function contactsFromWire(ws: readonly unknown[]): Contact[] {
  const out: Contact[] = [];
  for (const w of ws) {
    const c = contactFromWire(w);
    if (c) out.push(c);
  }
  return out;
}

/** The subset of the RPC peer the handlers need. */
export interface RpcHandlerHost {
  handle<P, R>(method: RpcMethod<P, R>, handler: (params: P, ctx: RpcContext) => R | Promise<R>): void;
}

/**
 * Answer DHT requests arriving on one authenticated session. `sender` is the peer's
 * contact as established by the session (its key from the handshake, its PoW nonce from
 * its hello, its observed address), or, for handlers shared by many sessions
 * (`RpcHandlers`), a function giving it for the request's peer. With `loadPct`, answers
 * report this node's load.
 */
export function registerDhtHandlers(rpc: RpcHandlerHost, service: DhtService, sender: Contact | ((ctx: RpcContext) => Contact), loadPct?: () => number): void {
  const from = typeof sender === 'function' ? sender : () => sender;
  const answer = (ctx: RpcContext, request: DhtRequest) => withLoad(answerToWire(service.handle(from(ctx), request)), loadPct);
  rpc.handle(DhtPing, (_p, ctx) => answer(ctx, { type: 'ping' }) as PingResult);
  rpc.handle(DhtFindNode, (p, ctx) => answer(ctx, { type: 'find_node', target: nodeIdFromHex(p.target) }) as Static<typeof DhtFindNode.result.schema>);
  rpc.handle(DhtFindValue, (p, ctx) => answer(ctx, { type: 'find_value', key: nodeIdFromHex(p.key) }) as Static<typeof DhtFindValue.result.schema>);
  rpc.handle(DhtStore, (p, ctx) => answer(ctx, { type: 'store', key: nodeIdFromHex(p.key), record: p.record }) as Static<typeof DhtStore.result.schema>);
}

/** A DHT answer in its wire form (contacts as {@link WireContact}s, at most the wire caps). */
export function answerToWire(a: DhtAnswer): unknown {
  switch (a.type) {
    case 'nodes':
      return { type: 'nodes', contacts: contactsToWire(a.contacts) };
    case 'value':
      return { type: 'value', records: a.records.slice(0, WIRE_MAX_RECORDS), contacts: contactsToWire(a.contacts) };
    default:
      return a;
  }
}

/** `a` with this node's load added, unless it is an error (or there is no load to add). */
function withLoad(a: unknown, loadPct: (() => number) | undefined): unknown {
  if (!loadPct || (a as { type: string }).type === 'error') return a;
  return { ...(a as object), load: Math.max(0, Math.min(100, Math.round(loadPct()))) };
}

/** The subset of the RPC peer the client needs. */
export interface RpcRequester {
  request<P, R>(method: RpcMethod<P, R>, params: P, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<R>;
}

/** Options for {@link dhtSendOverRpc}. */
export interface DhtSendOptions {
  /** Deadline per request including retransmissions (default 2000 ms). */
  timeoutMs?: number;
  /** Called with each load an answer reports (see module docs). */
  onLoad?: (from: Contact, loadPct: number) => void;
}

/**
 * Build the {@link DhtSend} for {@link dhtRpc} from a function that returns (opening if
 * needed) the RPC peer of an authenticated session with `to`.
 */
export function dhtSendOverRpc(rpcFor: (to: Contact, signal: AbortSignal) => Promise<RpcRequester>, options: DhtSendOptions = {}): DhtSend {
  const timeoutMs = options.timeoutMs ?? 2000;
  const { onLoad } = options;
  const noteLoad = (to: Contact, a: object) => {
    const load = (a as { load?: unknown }).load;
    if (onLoad && typeof load === 'number') onLoad(to, load);
  };
  return async (to, request, signal) => {
    const rpc = await rpcFor(to, signal);
    const opts = { timeoutMs, signal };
    switch (request.type) {
      case 'ping': {
        const a = await rpc.request(DhtPing, null, opts);
        noteLoad(to, a);
        return a.type === 'pong' ? { type: 'pong' } : a;
      }
      case 'find_node': {
        const a = await rpc.request(DhtFindNode, { target: toHex(request.target) }, opts);
        noteLoad(to, a);
        return a.type === 'nodes' ? { type: 'nodes', contacts: contactsFromWire(a.contacts) } : a;
      }
      case 'find_value': {
        const a = await rpc.request(DhtFindValue, { key: toHex(request.key) }, opts);
        noteLoad(to, a);
        return a.type === 'value' ? { type: 'value', records: a.records as PresenceRecord[], contacts: contactsFromWire(a.contacts) } : a;
      }
      case 'store': {
        const a = await rpc.request(DhtStore, { key: toHex(request.key), record: request.record as Static<typeof PresenceRecordSchema> }, opts);
        noteLoad(to, a);
        return a.type === 'stored' ? { type: 'stored', status: a.status } : a.type === 'refused' ? { type: 'refused', error: a.error } as DhtAnswer : a;
      }
    }
  };
}
