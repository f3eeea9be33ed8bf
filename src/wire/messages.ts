/**
 * Wire messages: UTF-8 JSON objects of at most 64 KiB whose `type` field names a
 * registered schema. Modules define their message types with {@link defineMessage}
 * and a node collects them in a {@link MessageRegistry}; every incoming message is
 * decoded by the registry (size, UTF-8, JSON, known type, schema) and either comes back
 * typed or with a clear error, never an exception.
 *
 * The registry starts with the request/response/error envelopes of the RPC layer
 * (`req`, `res`, `err`); the overlay and call signaling add their own types.
 *
 * @example
 * ```ts
 * // overlay/messages.ts
 * export const Ping = defineMessage('overlay.ping', { nonce: Type.Integer({ minimum: 0 }) });
 *
 * // where the node is assembled
 * const registry = createRegistry(Ping, ...otherDefs);
 * const bytes = registry.encode({ type: 'overlay.ping', nonce: 1 });
 * const r = registry.decode(bytes);
 * if (r.ok && Ping.is(r.message)) console.log(r.message.nonce);
 * else if (!r.ok) console.log(r.reason, r.error); // e.g. 'schema', 'overlay.ping: /nonce must be integer'
 * ```
 * @module
 */
import { type Static, type TObject, type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { type BoundedOptions, type Validator, compileSchema } from './schema.ts';
import { MAX_MESSAGE_BYTES } from './fragment.ts';

/** Largest encoded message (64 KiB), the fragmentation limit. */
export const MAX_ENCODED_MESSAGE_BYTES = MAX_MESSAGE_BYTES;

/** Syntax of message type names: lowercase, dot/dash/underscore separated, <= 64 chars. */
export const MESSAGE_TYPE_PATTERN = /^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$/;

/** Any message: an object with a string `type`. */
export interface WireMessage {
  type: string;
  [field: string]: unknown;
}

/** A message type: its name, schema and compiled validator. `M` is the message's TypeScript type. */
export interface MessageDef<M extends { type: string } = WireMessage> {
  readonly type: M['type'];
  /** The closed object schema, `type` included. */
  readonly schema: TSchema;
  readonly validator: Validator<M>;
  /** True when `m` is a message of this type (after decoding: the schema already held). */
  is(m: WireMessage): m is WireMessage & M;
}

/** The TypeScript type of the messages of a {@link MessageDef}. */
export type MessageOf<D> = D extends MessageDef<infer M> ? M : never;

/**
 * Define a message type: `type` plus the other properties' schemas. The object is
 * closed (`additionalProperties: false`) and every property must be bounded (see
 * schema.ts); the schema is compiled once, here. Throws on a bad name or an unbounded
 * schema.
 *
 * @example
 * ```ts
 * export const Offer = defineMessage('call.offer', {
 *   callId: Type.String({ maxLength: 64 }),
 *   sealed: Type.String({ maxLength: 16384 }),
 * });
 * type Offer = MessageOf<typeof Offer>; // { type: 'call.offer', callId: string, sealed: string }
 * ```
 */
export function defineMessage<const T extends string, P extends TProperties>(type: T, properties: P): MessageDef<{ type: T } & Static<TObject<P>>> {
  return define(type, properties, {});
}

function define<const T extends string, P extends TProperties>(type: T, properties: P, options: BoundedOptions): MessageDef<{ type: T } & Static<TObject<P>>> {
  type M = { type: T } & Static<TObject<P>>;
  if (type.length > 64 || !MESSAGE_TYPE_PATTERN.test(type)) throw new Error(`invalid message type name "${type}"`);
  if ('type' in properties) throw new Error(`message ${type}: "type" is implicit, do not declare it`);
  const schema = Type.Object({ type: Type.Literal(type), ...properties }, { additionalProperties: false });
  let validator: Validator<M>;
  try {
    validator = compileSchema(schema, options) as unknown as Validator<M>;
  } catch (err) {
    throw new Error(`message ${type}: ${(err as Error).message}`);
  }
  const def: MessageDef<M> = { type: type as M['type'], schema, validator, is: (m: WireMessage): m is WireMessage & M => m.type === type };
  return def;
}

const RequestId = Type.Integer({ minimum: 0, maximum: 0xffffffff });
const Name = Type.String({ minLength: 1, maxLength: 64, pattern: MESSAGE_TYPE_PATTERN.source });

/** RPC request envelope: `params` is validated again against the method's schema. */
export const RequestMessage = define('req', { id: RequestId, method: Name, params: Type.Unknown() }, { allowUnknown: true });
/** RPC success envelope: `result` is validated against the method's result schema. */
export const ResponseMessage = define('res', { id: RequestId, result: Type.Unknown() }, { allowUnknown: true });
/** RPC error envelope: a machine-readable `code` and a human-readable `message`. */
export const ErrorMessage = define('err', { id: RequestId, code: Name, message: Type.String({ maxLength: 1024 }) }, {});

/** The envelopes every registry contains. */
export const BASE_MESSAGES: readonly MessageDef[] = [RequestMessage, ResponseMessage, ErrorMessage] as unknown as MessageDef[];

/** Why a message could not be decoded. */
export type DecodeReason = 'size' | 'utf8' | 'json' | 'shape' | 'unknown-type' | 'schema';

/** The result of {@link MessageRegistry.decode}. */
export type DecodeResult = { ok: true; message: WireMessage } | { ok: false; reason: DecodeReason; error: string };

/** Thrown by {@link MessageRegistry.encode} for a message that is not valid or too large. */
export class MessageEncodeError extends Error {
  override readonly name = 'MessageEncodeError';
  constructor(
    readonly reason: 'unknown-type' | 'schema' | 'size',
    message: string,
  ) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** The set of message types a node understands; see module docs. */
export class MessageRegistry {
  private readonly defs = new Map<string, MessageDef>();

  /** A registry with the base envelopes plus `defs`. */
  constructor(defs: Iterable<MessageDef> = []) {
    this.add(...BASE_MESSAGES, ...defs);
  }

  /** Register more types; re-adding the same definition is a no-op, a different one with the same name throws. */
  add(...defs: MessageDef[]): this {
    for (const d of defs) {
      const old = this.defs.get(d.type);
      if (old && old !== d) throw new Error(`message type "${d.type}" is already registered`);
      this.defs.set(d.type, d);
    }
    return this;
  }

  /** The definition of `type`, if registered. */
  get(type: string): MessageDef | undefined {
    return this.defs.get(type);
  }

  /** Registered type names. */
  types(): string[] {
    return [...this.defs.keys()];
  }

  /** Decode and validate one message. Never throws. */
  decode(bytes: Uint8Array): DecodeResult {
    if (bytes.length > MAX_ENCODED_MESSAGE_BYTES) return { ok: false, reason: 'size', error: `message of ${bytes.length} bytes exceeds ${MAX_ENCODED_MESSAGE_BYTES}` };
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return { ok: false, reason: 'utf8', error: 'message is not valid UTF-8' };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { ok: false, reason: 'json', error: `message is not valid JSON: ${(err as Error).message.slice(0, 200)}` };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'shape', error: 'message must be a JSON object' };
    const type = (value as { type?: unknown }).type;
    if (typeof type !== 'string') return { ok: false, reason: 'shape', error: 'message has no string "type"' };
    const def = this.defs.get(type);
    if (!def) return { ok: false, reason: 'unknown-type', error: `unknown message type ${JSON.stringify(type.slice(0, 64))}` };
    const v = def.validator.validate(value);
    if (!v.ok) return { ok: false, reason: 'schema', error: `${type}: ${v.error}` };
    return { ok: true, message: value as WireMessage };
  }

  /**
   * Validate and encode a message. Throws {@link MessageEncodeError} for an unregistered
   * type, a schema violation or a result over 64 KiB (all programming errors, or a
   * response too large to send).
   */
  encode(message: WireMessage): Uint8Array {
    const def = this.defs.get(message.type);
    if (!def) throw new MessageEncodeError('unknown-type', `unknown message type "${message.type}"`);
    const v = def.validator.validate(message);
    if (!v.ok) throw new MessageEncodeError('schema', `${message.type}: ${v.error}`);
    const bytes = encoder.encode(JSON.stringify(message));
    if (bytes.length > MAX_ENCODED_MESSAGE_BYTES) throw new MessageEncodeError('size', `${message.type} message of ${bytes.length} bytes exceeds ${MAX_ENCODED_MESSAGE_BYTES}`);
    return bytes;
  }
}

/** A registry of the base envelopes and `defs`. */
export function createRegistry(...defs: MessageDef[]): MessageRegistry {
  return new MessageRegistry(defs);
}

/** Decode with `registry`; see {@link MessageRegistry.decode}. */
export function decodeMessage(bytes: Uint8Array, registry: MessageRegistry): DecodeResult {
  return registry.decode(bytes);
}

/** Encode with `registry`; see {@link MessageRegistry.encode}. */
export function encodeMessage(message: WireMessage, registry: MessageRegistry): Uint8Array {
  return registry.encode(message);
}
