/**
 * The node's control API methods (served by control-server.ts over `--control SOCKET`):
 *
 * - `status` -> the node's snapshot (what the terminal UI shows) with the overlay's own
 *   snapshot under `overlay` (role, score, counters, LAN discovery, ...);
 * - `lookup {name}` -> `{records: [{name, id, publicKey, fingerprint, supernodes, seq, expires}]}`;
 * - `search {text}` -> `{results: [{name, key}]}`;
 * - `call {name, seconds?}` -> places a call, keeps it up `seconds` (default 5, at most
 *   3600), hangs up and answers with `tincan call --json`'s object (`{call, ok, setupMs,
 *   path, rttMs, ...}`), as the `call NAME [S]` stdin line does;
 * - `hangup {callId?}` -> hangs up that call (or every call not ended): `{hungUp: [ids]}`;
 * - `calls` -> `{calls: [CallSnapshot], media: {callId: figures}}`.
 *
 * The target is structural (a `TincanNode` fits), so this module needs nothing above the
 * overlay; placing a call is handed in by the command line, which owns that logic.
 *
 * @example
 * ```ts
 * const server = await ControlServer.listen(path, controlMethods(tincan, { placeCall: (name, s) => ... }), { clock });
 * // {"jsonrpc":"2.0","id":1,"method":"lookup","params":{"name":"bob"}}
 * // {"jsonrpc":"2.0","id":1,"result":{"records":[{"name":"bob","id":"...",...}]}}
 * ```
 * @module
 */
import { Type } from '@sinclair/typebox';
import { compileSchema } from '../wire/schema.ts';
import type { CallSnapshot } from '../call/call.ts';
import type { PresenceRecord } from '../overlay/presence-record.ts';
import { OverlayNode } from '../overlay/overlay-node.ts';
import type { OverlaySnapshot } from '../overlay/overlay-types.ts';
import { type ControlMethods, RpcCode, RpcError } from './control-server.ts';

/** Longest name or search text, characters (as on the command line). */
const MAX_NAME_LENGTH = 64;

/** What the methods act on; a `TincanNode` fits. */
export interface ControlTarget {
  snapshot(): { calls: readonly CallSnapshot[]; media: Record<string, unknown> };
  overlay: {
    snapshot(): OverlaySnapshot;
    lookup(name: string): Promise<PresenceRecord[]>;
    searchNames(text: string): Promise<{ name: string; key: string }[]>;
  };
  calls: { calls(): CallSnapshot[]; hangup(callId: string): void };
}

/** What the command line adds. */
export interface ControlMethodsOptions {
  /** Place a call to `name` for `seconds` and resolve with its result object (`call --json`'s). */
  placeCall?: (name: string, seconds: number) => Promise<Record<string, unknown>>;
}

const NoParams = compileSchema(Type.Object({}, { additionalProperties: false }));
const NameParams = compileSchema(Type.Object({ name: Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH }) }, { additionalProperties: false }));
const TextParams = compileSchema(Type.Object({ text: Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH }) }, { additionalProperties: false }));
const CallParams = compileSchema(
  Type.Object({ name: Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH }), seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3600 })) }, { additionalProperties: false }),
);
const HangupParams = compileSchema(Type.Object({ callId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) }, { additionalProperties: false }));

/** The methods; see module docs. */
export function controlMethods(node: ControlTarget, o: ControlMethodsOptions = {}): ControlMethods {
  return {
    status: { params: NoParams, run: () => ({ ...node.snapshot(), overlay: node.overlay.snapshot() }) },
    lookup: { params: NameParams, run: async (p: { name: string }) => ({ records: OverlayNode.describe(await node.overlay.lookup(p.name)) }) },
    search: { params: TextParams, run: async (p: { text: string }) => ({ results: await node.overlay.searchNames(p.text) }) },
    call: {
      params: CallParams,
      run: (p: { name: string; seconds?: number }) => {
        if (!o.placeCall) throw new RpcError(RpcCode.failed, 'this node does not place calls');
        return o.placeCall(p.name, p.seconds ?? 5);
      },
    },
    hangup: {
      params: HangupParams,
      run: (p: { callId?: string }) => {
        const live = node.calls.calls().filter((c) => c.state !== 'ended');
        if (p.callId !== undefined && !live.some((c) => c.callId === p.callId)) throw new RpcError(RpcCode.invalidParams, `no call ${p.callId.slice(0, 64)} in progress`);
        const ids = p.callId !== undefined ? [p.callId] : live.map((c) => c.callId);
        for (const id of ids) node.calls.hangup(id);
        return { hungUp: ids };
      },
    },
    calls: { params: NoParams, run: () => ({ calls: node.calls.calls(), media: node.snapshot().media }) },
  };
}
