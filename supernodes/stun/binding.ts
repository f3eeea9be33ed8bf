/**
 * STUN Binding (RFC 8489): answers a Binding request with the sender's reflexive
 * transport address. {@link BindingServer} is a datagram handler so it can share the
 * supernode's one UDP port (see supernodes/turn/server.ts, which embeds it).
 *
 * @module
 */
import type { Address } from '../../src/net/net.ts';
import { Attr, ErrorCode, Method, StunClass, isComprehensionRequired } from './constants.ts';
import { encodeAddress, encodeErrorCode, encodeText, encodeUnknownAttributes } from './attributes.ts';
import { fingerprintOk } from './integrity.ts';
import { StunError, StunWriter, parseStun, type StunMessage } from './message.ts';

/** Attributes a Binding request may carry that we understand (or may safely ignore). */
const BINDING_KNOWN = new Set<number>([
  Attr.Username,
  Attr.MessageIntegrity,
  Attr.MessageIntegritySha256,
  Attr.Realm,
  Attr.Nonce,
  Attr.Fingerprint,
  0x0003, // CHANGE-REQUEST (RFC 5780): understood as "no change", ignored
  0x0026, // PADDING (RFC 5780)
  0x0024, // PRIORITY (ICE connectivity checks sent to a STUN server)
  0x0025, // USE-CANDIDATE (ICE)
]);

/**
 * The response to a Binding request from `from`: XOR-MAPPED-ADDRESS (and MAPPED-ADDRESS
 * for RFC 3489-era clients), SOFTWARE if given, FINGERPRINT if the request had one; or a
 * 420 listing unknown comprehension-required attributes.
 */
export function bindingResponse(msg: StunMessage, from: Address, software?: string): Uint8Array {
  const tid = msg.transactionId;
  const unknown = msg.attributes.filter((a) => isComprehensionRequired(a.type) && !BINDING_KNOWN.has(a.type)).map((a) => a.type);
  const fingerprint = msg.fingerprintOffset >= 0;
  if (unknown.length > 0) {
    return new StunWriter(Method.Binding, StunClass.ErrorResponse, tid)
      .add(Attr.ErrorCode, encodeErrorCode(ErrorCode.UnknownAttribute))
      .add(Attr.UnknownAttributes, encodeUnknownAttributes(unknown))
      .encode({ fingerprint });
  }
  const w = new StunWriter(Method.Binding, StunClass.SuccessResponse, tid)
    .add(Attr.XorMappedAddress, encodeAddress(from, true, tid))
    .add(Attr.MappedAddress, encodeAddress(from, false, tid));
  if (software) w.add(Attr.Software, encodeText(software));
  return w.encode({ fingerprint });
}

/** Counters of a {@link BindingServer}. */
export interface BindingStats {
  requests: number;
  responses: number;
  dropped: number;
}

/** Options for {@link BindingServer}. */
export interface BindingServerOptions {
  /** Sends a datagram out of the socket the request came in on. */
  send(data: Uint8Array, to: Address): void;
  /** SOFTWARE attribute value; omitted if undefined. */
  software?: string;
}

/** A STUN Binding server fed datagrams by its owner. */
export class BindingServer {
  private readonly counters: BindingStats = { requests: 0, responses: 0, dropped: 0 };

  constructor(private readonly options: BindingServerOptions) {}

  /**
   * Handle one datagram. Returns true if it was a STUN message (answered or dropped as
   * malformed), false if it is not STUN and belongs to someone else.
   */
  handle(data: Uint8Array, from: Address): boolean {
    if (data.length < 1 || data[0]! > 3) return false;
    let msg: StunMessage;
    try {
      msg = parseStun(data);
    } catch (err) {
      if (!(err instanceof StunError)) throw err;
      this.counters.dropped++;
      return true;
    }
    if (msg.method !== Method.Binding || msg.cls !== StunClass.Request || !fingerprintOk(msg)) {
      this.counters.dropped++;
      return true;
    }
    this.counters.requests++;
    this.options.send(bindingResponse(msg, from, this.options.software), from);
    this.counters.responses++;
    return true;
  }

  /** A copy of the counters. */
  stats(): BindingStats {
    return { ...this.counters };
  }
}
