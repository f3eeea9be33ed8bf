/**
 * The overlay node's own wire methods and messages (besides the DHT's four, see
 * dht-wire.ts): hello, attachment, publish/lookup through a supernode, search,
 * signal relay, dial-back, bandwidth probe, TURN credentials and the "move" notice.
 * Every schema is bounded; see docs/PROTOCOL.md (Overlay).
 *
 * @module
 */
import { Type } from '@sinclair/typebox';
import { defineMethod, type RpcMethod } from '../wire/rpc-method.ts';
import { defineMessage, type MessageDef } from '../wire/messages.ts';
import { DHT_METHODS, PresenceRecordSchema, WIRE_MAX_RECORDS, WireContactSchema } from './dht-wire.ts';

const HexId = Type.String({ pattern: '^[0-9a-f]{64}$', maxLength: 64 });
const Hex16 = Type.String({ pattern: '^[0-9a-f]{16}$', maxLength: 16 });
const WireAddress = Type.Object({ host: Type.String({ minLength: 1, maxLength: 64 }), port: Type.Integer({ minimum: 1, maximum: 65535 }) }, { additionalProperties: false });
const Role = Type.Union([Type.Literal('leaf'), Type.Literal('supernode')]);
const Device = Type.String({ minLength: 1, maxLength: 64 });

/** Most supernode contacts in one peer-exchange answer. */
export const MAX_EXCHANGE_PEERS = 20;
/** Largest sealed signal payload relayed (bytes, before base64). */
export const MAX_SEALED_BYTES = 16_384;
/** Most search results in one answer or hit. */
export const MAX_SEARCH_RESULTS = 50;

/**
 * `ov.hello`: the first request on every link, from the side that opened it. Tells the
 * peer our role, the proof of work of our link key (supernodes: the peer needs it to
 * build our DHT contact) and, for leaves, which user identity and device we are (the
 * user key signs the link key: `proof` = Ed25519(userKey, "tincan-device-v1" ‖ linkKey ‖ device)).
 * The answer tells the opener the same about the answering side, plus the address it
 * saw us at.
 */
export const OvHello = defineMethod('ov.hello',
  Type.Object({
    v: Type.Literal(1),
    role: Role,
    pow: Type.Optional(Hex16),
    user: Type.Optional(Type.Object({ key: HexId, device: Device, proof: Type.String({ pattern: '^[0-9a-f]{128}$', maxLength: 128 }) }, { additionalProperties: false })),
  }, { additionalProperties: false }),
  Type.Object({ v: Type.Literal(1), role: Role, pow: Type.Optional(Hex16), observed: WireAddress }, { additionalProperties: false }));

/** `ov.attach`: a leaf asks a supernode to serve it. The answer carries peer exchange. */
export const OvAttach = defineMethod('ov.attach', Type.Null(),
  Type.Object({
    accepted: Type.Boolean(),
    reason: Type.Optional(Type.String({ maxLength: 64 })),
    peers: Type.Array(WireContactSchema, { maxItems: MAX_EXCHANGE_PEERS }),
    /** The supernode's load (percent of its sessions) with us counted: leaves keep the least loaded. */
    load: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Its estimate of its area's load (area-load.ts): leaves promote by it. */
    area: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  }, { additionalProperties: false }));

/** `ov.detach`: a leaf no longer uses this supernode (it may keep the link for a while). */
export const OvDetach = defineMethod('ov.detach', Type.Null(), Type.Null());

/** `ov.ping`: a leaf's keepalive to its supernode (also keeps NAT bindings open). */
export const OvPing = defineMethod('ov.ping', Type.Null(), Type.Object({ attached: Type.Boolean(), load: Type.Number({ minimum: 0, maximum: 100 }) }, { additionalProperties: false }));

/** `ov.peers`: peer exchange, a few known supernodes. */
export const OvPeers = defineMethod('ov.peers', Type.Null(), Type.Object({ peers: Type.Array(WireContactSchema, { maxItems: MAX_EXCHANGE_PEERS }) }, { additionalProperties: false }));

/** `ov.publish`: store our signed presence record in the DHT (the supernode runs the publish). */
export const OvPublish = defineMethod('ov.publish', Type.Object({ record: PresenceRecordSchema }, { additionalProperties: false }),
  Type.Object({ accepted: Type.Integer({ minimum: 0, maximum: 1000 }), refused: Type.Integer({ minimum: 0, maximum: 1000 }), error: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }));

/** `ov.lookup`: the records under a key (name key or node ID), found by the supernode's DHT. */
export const OvLookup = defineMethod('ov.lookup', Type.Object({ key: HexId }, { additionalProperties: false }),
  Type.Object({
    records: Type.Array(PresenceRecordSchema, { maxItems: WIRE_MAX_RECORDS }),
    hops: Type.Integer({ minimum: 0, maximum: 1000 }),
  }, { additionalProperties: false }));

/** One search result: a name and the key that published it. */
export const SearchResultSchema = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), key: HexId }, { additionalProperties: false });

/** `ov.search`: a leaf asks its supernode to run a flooded partial-name search. */
export const OvSearch = defineMethod('ov.search', Type.Object({ text: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
  Type.Object({ results: Type.Array(SearchResultSchema, { maxItems: MAX_SEARCH_RESULTS }) }, { additionalProperties: false }));

/** `ov.flood`: one search-flood message between supernodes (query or hit; see search-flood.ts). */
export const OvFlood = defineMessage('ov.flood', {
  m: Type.Union([
    Type.Object({ type: Type.Literal('query'), id: Type.String({ pattern: '^[0-9a-f]{32}$', maxLength: 32 }), text: Type.String({ maxLength: 256 }), ttl: Type.Integer({ minimum: 0, maximum: 16 }), hops: Type.Integer({ minimum: 0, maximum: 16 }) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('hit'), queryId: Type.String({ pattern: '^[0-9a-f]{32}$', maxLength: 32 }), results: Type.Array(SearchResultSchema, { maxItems: MAX_SEARCH_RESULTS }) }, { additionalProperties: false }),
  ]),
});

/** A signal envelope on the wire (`sealed` in base64). */
export const WireEnvelopeSchema = Type.Object({
  from: HexId,
  to: HexId,
  callId: Type.String({ minLength: 1, maxLength: 64 }),
  fromDevice: Type.Optional(Device),
  toDevice: Type.Optional(Device),
  sealed: Type.Optional(Type.String({ maxLength: Math.ceil(MAX_SEALED_BYTES / 3) * 4 })),
  notice: Type.Optional(Type.Union([Type.Literal('tampered'), Type.Literal('undeliverable')])),
}, { additionalProperties: false });

const Delivered = Type.Object({ delivered: Type.Integer({ minimum: 0, maximum: 1000 }), error: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false });

/**
 * `ov.signal`: leaf -> its supernode: route this envelope to the callee's devices.
 * `via` lists the callee's supernodes (from its records; the leaf looked them up).
 */
export const OvSignal = defineMethod('ov.signal',
  Type.Object({ env: WireEnvelopeSchema, via: Type.Array(Type.Object({ id: HexId, address: WireAddress }, { additionalProperties: false }), { maxItems: 8 }) }, { additionalProperties: false }),
  Delivered);

/** `ov.relay`: supernode -> the callee's supernode: deliver to your leaves of `env.to`. */
export const OvRelay = defineMethod('ov.relay', Type.Object({ env: WireEnvelopeSchema }, { additionalProperties: false }), Delivered);

/** `ov.deliver`: supernode -> leaf: an envelope for you. */
export const OvDeliver = defineMethod('ov.deliver', Type.Object({ env: WireEnvelopeSchema }, { additionalProperties: false }), Type.Null());

/** `ov.dialback`: a candidate asks a supernode to send `nonce` from a different address. */
export const OvDialback = defineMethod('ov.dialback', Type.Object({ nonce: Type.String({ pattern: '^[0-9a-f]{32}$', maxLength: 32 }) }, { additionalProperties: false }),
  Type.Object({ sent: Type.Boolean() }, { additionalProperties: false }));

/** Padding of the bandwidth probe (characters). */
export const BW_PROBE_BYTES = 24_000;
/** `ov.bw`: upstream probe: a large request, a tiny answer. */
export const OvBandwidth = defineMethod('ov.bw', Type.Object({ pad: Type.String({ maxLength: BW_PROBE_BYTES }) }, { additionalProperties: false }),
  Type.Object({ n: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }));

/** `ov.turn`: a leaf asks its supernode for short-lived TURN credentials. */
export const OvTurn = defineMethod('ov.turn', Type.Null(),
  Type.Object({
    ok: Type.Boolean(),
    username: Type.Optional(Type.String({ maxLength: 256 })),
    password: Type.Optional(Type.String({ maxLength: 256 })),
    ttlSec: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86_400 })),
    urls: Type.Optional(Type.Array(WireAddress, { maxItems: 4 })),
  }, { additionalProperties: false }));

/** `ov.move`: supernode -> its leaves: I am leaving or overloaded; attach elsewhere (peers suggested). */
export const OvMove = defineMessage('ov.move', {
  reason: Type.String({ maxLength: 64 }),
  peers: Type.Array(WireContactSchema, { maxItems: MAX_EXCHANGE_PEERS }),
});

/** Every overlay method. */
export const OVERLAY_METHODS: readonly RpcMethod[] = [
  OvHello, OvAttach, OvDetach, OvPing, OvPeers, OvPublish, OvLookup, OvSearch, OvSignal, OvRelay, OvDeliver, OvDialback, OvBandwidth, OvTurn,
  ...DHT_METHODS,
] as unknown as readonly RpcMethod[];

/** Every one-way overlay message (to add to the registry). */
export const OVERLAY_MESSAGES: readonly MessageDef[] = [OvFlood, OvMove] as unknown as readonly MessageDef[];
