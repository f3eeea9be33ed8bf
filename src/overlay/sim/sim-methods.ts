/**
 * The leaf-to-supernode requests of the simulator's stand-in node ({@link SimPeer}):
 * attach (with peer exchange), publish a signed presence record through the supernode,
 * and look a key up through the supernode. Bounded TypeBox schemas like every wire
 * method, so the RPC layer validates them as it validates the DHT's.
 *
 * These are the simulator's until OverlayNode's own leaf protocol replaces them.
 * @module
 */
import { Type } from '@sinclair/typebox';
import { defineMethod } from '../../wire/rpc-method.ts';
import { PresenceRecordSchema, WIRE_MAX_RECORDS, WireContactSchema } from '../dht-wire.ts';

const HexId = Type.String({ pattern: '^[0-9a-f]{64}$', maxLength: 64 });

/** Most supernode contacts returned for peer exchange. */
export const ATTACH_MAX_PEERS = 10;

const Percent = Type.Integer({ minimum: 0, maximum: 100 });

/**
 * `sim.attach`: ask a supernode to serve us; it answers with some of its supernode
 * contacts, its load (percent of its sessions, us counted) and its area-load estimate,
 * as OverlayNode's attach answer.
 */
export const SimAttach = defineMethod('sim.attach', Type.Null(),
  Type.Object({ accepted: Type.Boolean(), peers: Type.Array(WireContactSchema, { maxItems: ATTACH_MAX_PEERS }), load: Percent, area: Percent }, { additionalProperties: false }));

/** `sim.detach`: we no longer use this supernode (an attach answered after we had enough); it stops counting us. */
export const SimDetach = defineMethod('sim.detach', Type.Null(), Type.Null());

/** `sim.move` (supernode to leaf): attach elsewhere, to one of `peers` first (the supernode is full). */
export const SimMove = defineMethod('sim.move', Type.Object({ peers: Type.Array(WireContactSchema, { maxItems: ATTACH_MAX_PEERS }) }, { additionalProperties: false }), Type.Null());

/** `sim.publish`: store our signed record in the DHT (the supernode runs the publish). */
export const SimPublish = defineMethod('sim.publish', Type.Object({ record: PresenceRecordSchema }, { additionalProperties: false }),
  Type.Object({ accepted: Type.Integer({ minimum: 0, maximum: 1000 }), refused: Type.Integer({ minimum: 0, maximum: 1000 }) }, { additionalProperties: false }));

/** `sim.lookup`: the records under a key (name key or node ID), found by the supernode's DHT lookup. */
export const SimLookup = defineMethod('sim.lookup', Type.Object({ key: HexId }, { additionalProperties: false }),
  Type.Object({
    records: Type.Array(PresenceRecordSchema, { maxItems: WIRE_MAX_RECORDS }),
    hops: Type.Integer({ minimum: 0, maximum: 1000 }),
    rpcs: Type.Integer({ minimum: 0, maximum: 100_000 }),
  }, { additionalProperties: false }));
