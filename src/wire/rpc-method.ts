/**
 * RPC method definitions: a name plus bounded schemas for the parameters and the result,
 * compiled once. The requester validates what it sends and what comes back; the
 * responder validates parameters before calling the handler and results before
 * sending them.
 *
 * @example
 * ```ts
 * export const FindNode = defineMethod('dht.find-node',
 *   Type.Object({ target: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
 *   Type.Object({ nodes: Type.Array(NodeInfo, { maxItems: 20 }) }, { additionalProperties: false }));
 * type Params = ParamsOf<typeof FindNode>;
 * ```
 * @module
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { type Validator, compileSchema } from './schema.ts';
import { MESSAGE_TYPE_PATTERN } from './messages.ts';

/** A method: name and compiled parameter/result validators. */
export interface RpcMethod<P = unknown, R = unknown> {
  readonly name: string;
  readonly params: Validator<P>;
  readonly result: Validator<R>;
}

/** Parameter type of a method. */
export type ParamsOf<M> = M extends RpcMethod<infer P, unknown> ? P : never;
/** Result type of a method. */
export type ResultOf<M> = M extends RpcMethod<unknown, infer R> ? R : never;

/**
 * Define a method. Names follow the message type syntax (`area.verb`, <= 64 chars);
 * schemas must be bounded (schema.ts). Use `Type.Null()` for "no parameters" or
 * "no result". Throws on a bad name or an unbounded schema.
 */
export function defineMethod<PS extends TSchema, RS extends TSchema>(name: string, params: PS, result: RS): RpcMethod<Static<PS>, Static<RS>> {
  if (name.length > 64 || !MESSAGE_TYPE_PATTERN.test(name)) throw new Error(`invalid method name "${name}"`);
  try {
    return { name, params: compileSchema(params), result: compileSchema(result) };
  } catch (err) {
    throw new Error(`method ${name}: ${(err as Error).message}`);
  }
}
