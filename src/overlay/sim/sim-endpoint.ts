/**
 * The simulator's message path: an {@link RpcEndpoint} that hands each message across a
 * {@link SimLink} as the object it is, instead of validating it, encoding it to JSON,
 * cutting it into fragments, and on the other side reassembling, decoding and validating
 * it again. The simulated wire still carries exactly the datagrams the real path would
 * send: a message's size is the UTF-8 length of its JSON (what `MessageRegistry.encode`
 * produces), split into fragments of the sizes `FragmentedChannel` gives (9-byte header,
 * at most 1,100 bytes each), each in a DATA packet of the session's size; the message
 * arrives only if all its fragments do (a lost fragment loses the message, as in the
 * reassembler). The object itself waits in a {@link SimPostOffice} under the id the
 * fragments carry.
 *
 * What is skipped is CPU only: every message in the simulation is built by the
 * simulator's own code, so the schemas always hold and the JSON round trip is a deep
 * copy. Receivers get the sender's object, not a copy; nothing on either side mutates a
 * message after sending or receiving it. Both claims are checked by {@link SimWireCheck}
 * (`PeerConfig.wireCheck`): messages are then encoded and validated by the real registry,
 * deep-frozen at send (a later write throws), and the receiver gets the registry's decoded
 * copy, compared with the object sent; RPC validation is on too. test/overlay/sim-wire.test.ts
 * runs a scenario both ways and requires the same figures, and compares the datagrams of
 * sample messages with the real FragmentedChannel's.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { HandlerSet } from '../../wire/channel.ts';
import { MessageEncodeError, type MessageDef, type MessageRegistry, MAX_ENCODED_MESSAGE_BYTES, type WireMessage } from '../../wire/messages.ts';
import type { RpcEndpoint, RpcReceiver } from '../../wire/rpc.ts';
import type { ParcelSink, SimLink, SimParcel } from './sim-links.ts';

/** Counters of the checked path (see module docs). */
export class SimWireCheck {
  /** Messages encoded and decoded by the real registry. */
  checked = 0;
  /** Messages whose decoded copy differed from the object sent, or did not decode. */
  mismatches = 0;
  firstMismatch: string | undefined;

  mismatch(what: string): void {
    this.mismatches++;
    this.firstMismatch ??= what;
  }
}

/** Encoded size of `message` as `MessageRegistry.encode` would produce it (UTF-8 bytes of its JSON). */
export function encodedSize(message: WireMessage): number {
  // Signed records and wire contacts are immutable and travel in many messages (40 STOREs
  // per publish; the same supernodes in every FIND_NODE answer): their sizes are computed
  // once. The message's JSON is the JSON of the same message with each such field replaced
  // by `0` (or an array of them by `[]`), plus their sizes and the commas between them.
  const body = message.type === 'req' ? message.params : message.type === 'res' ? message.result : undefined;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return utf8Length(message);
  const b = body as Record<string, unknown>;
  let outer: Record<string, unknown> | undefined;
  let extra = 0;
  for (const key in b) {
    const v = b[key];
    if (isImmutable(v)) {
      (outer ??= { ...b })[key] = 0;
      extra += immutableSize(v) - 1;
    } else if (Array.isArray(v) && v.length > 0 && v.every(isImmutable)) {
      (outer ??= { ...b })[key] = [];
      extra += v.length - 1;
      for (const x of v) extra += immutableSize(x);
    }
  }
  if (outer === undefined) return utf8Length(message);
  return utf8Length(message.type === 'req' ? { ...message, params: outer } : { ...message, result: outer }) + extra;
}

function utf8Length(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

const sizes = new WeakMap<object, number>();

/** A presence record (signed: immutable once made) or a frozen object (wire contacts). */
function isImmutable(x: unknown): x is object {
  return x !== null && typeof x === 'object' && !Array.isArray(x) && (Object.isFrozen(x) || typeof (x as { signature?: unknown }).signature === 'string');
}

function immutableSize(x: object): number {
  let n = sizes.get(x);
  if (n === undefined) sizes.set(x, (n = utf8Length(x)));
  return n;
}

const NO_TYPES: readonly string[] = Object.freeze([]);
const NO_SETS: readonly HandlerSet<WireMessage>[] = Object.freeze([]);

/** See module docs. */
export class SimEndpoint implements RpcEndpoint, ParcelSink {
  /** The endpoint is its own registry (no object and closure per link). */
  readonly registry: { encode(message: WireMessage): SimParcel } = this;
  // Handlers by message type, in two parallel arrays: an endpoint serves three types (an
  // RPC peer's request, response and error), and a simulated node holds hundreds of them.
  // Replaced, never changed in place: an endpoint without handlers (one that serves an RPC peer) shares the empty lists.
  private types: readonly string[] = NO_TYPES;
  private sets: readonly HandlerSet<WireMessage>[] = NO_SETS;
  /** Made at the first `onClose` (an endpoint serving an RPC peer needs none). */
  private closeHandlers: HandlerSet<string> | undefined;
  /** The RPC peer that takes every envelope and the close ({@link serve}). */
  private receiver: RpcReceiver | undefined;
  private closed = false;

  constructor(
    private readonly link: SimLink,
    private readonly real: MessageRegistry,
    private readonly check?: SimWireCheck,
  ) {
    // The endpoint closes only with its link (either closing closes the other).
    link.attach(this);
  }

  /** @internal {@link ParcelSink}: the link closed. */
  onLinkClose(reason: string): void {
    this.shutdown(reason, false);
  }

  /** Hand every RPC envelope and the close to `receiver` (see `RpcEndpoint.serve`). */
  serve(receiver: RpcReceiver): void {
    this.receiver = receiver;
  }

  /** Send an encoded message (a parcel from {@link registry}). */
  sendEncoded(parcel: SimParcel): void {
    if (this.closed) return;
    this.link.sendParcel(parcel);
  }

  on<M extends { type: string }>(def: MessageDef<M>, handler: (message: M) => void): () => void {
    if (this.real.get(def.type) !== (def as unknown)) throw new Error(`message type "${def.type}" is not in this endpoint's registry`);
    let i = this.types.indexOf(def.type);
    if (i < 0) {
      // concat, not push: a pushed-to array keeps spare room, and a node holds hundreds of endpoints.
      i = this.types.length;
      this.types = this.types.concat([def.type]);
      this.sets = this.sets.concat([new HandlerSet()]);
    }
    return this.sets[i]!.add(handler as unknown as (m: WireMessage) => void);
  }

  onClose(handler: (reason: string) => void): () => void {
    return (this.closeHandlers ??= new HandlerSet()).add(handler);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(reason = 'endpoint closed'): void {
    this.shutdown(reason, true);
  }

  /** The parcel of `message` (see module docs); throws as `MessageRegistry.encode` does. */
  encode(message: WireMessage): SimParcel {
    if (this.check) {
      const bytes = this.real.encode(message); // validates; throws as the real path does
      deepFreeze(message);
      return { message, length: bytes.length, bytes };
    }
    if (this.real.get(message.type) === undefined) throw new MessageEncodeError('unknown-type', `unknown message type "${message.type}"`);
    const length = encodedSize(message);
    if (length > MAX_ENCODED_MESSAGE_BYTES) throw new MessageEncodeError('size', `${message.type} message of ${length} bytes exceeds ${MAX_ENCODED_MESSAGE_BYTES}`);
    return { message, length, bytes: undefined };
  }

  /** @internal {@link ParcelSink}: a parcel arrived on the link. */
  onParcel(parcel: SimParcel): void {
    if (this.closed) return;
    let message = parcel.message as WireMessage;
    const check = this.check;
    if (check && parcel.bytes) {
      check.checked++;
      const r = this.real.decode(parcel.bytes);
      if (!r.ok) {
        check.mismatch(`${message.type}: ${r.reason}: ${r.error}`);
        return;
      }
      if (JSON.stringify(r.message) !== JSON.stringify(message)) check.mismatch(`${message.type}: changed after sending`);
      message = r.message;
    }
    const r = this.receiver;
    const type = message.type;
    if (r !== undefined && (type === 'req' || type === 'res' || type === 'err')) {
      try {
        r.receive(message);
      } catch {
        // as HandlerSet: a handler's error stays with it
      }
      return;
    }
    const i = this.types.indexOf(type);
    if (i < 0) return;
    this.sets[i]!.emit(message);
  }

  private shutdown(reason: string, closeLink: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.types = NO_TYPES;
    this.sets = NO_SETS;
    if (closeLink) this.link.close();
    const r = this.receiver;
    this.receiver = undefined;
    if (r !== undefined) {
      try {
        r.endpointClosed(reason);
      } catch {
        // as HandlerSet
      }
    }
    this.closeHandlers?.emit(reason);
    this.closeHandlers = undefined;
  }
}

function deepFreeze(x: unknown): void {
  if (x === null || typeof x !== 'object' || Object.isFrozen(x)) return;
  Object.freeze(x);
  for (const v of Object.values(x)) deepFreeze(v);
}
