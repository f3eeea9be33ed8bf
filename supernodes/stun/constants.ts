/**
 * STUN (RFC 8489) and TURN (RFC 8656) numbers: methods, classes, attribute types and
 * error codes.
 *
 * @module
 */

/** The fixed magic cookie in every RFC 5389+ STUN header. */
export const MAGIC_COOKIE = 0x2112a442;
/** Size of the STUN header. */
export const HEADER_SIZE = 20;
/** Largest STUN message this codec accepts or produces (header + attributes). */
export const MAX_MESSAGE_SIZE = 2048;
/** Most attributes accepted in one message (bounds parsing work). */
export const MAX_ATTRIBUTES = 64;

/** Message classes (the C1C0 bits). */
export const StunClass = {
  Request: 0,
  Indication: 1,
  SuccessResponse: 2,
  ErrorResponse: 3,
} as const;
/** One of {@link StunClass}. */
export type StunClass = (typeof StunClass)[keyof typeof StunClass];

/** Methods: STUN Binding and the TURN methods over UDP. */
export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

/** Attribute types. */
export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  EvenPort: 0x0018,
  RequestedTransport: 0x0019,
  DontFragment: 0x001a,
  MessageIntegritySha256: 0x001c,
  PasswordAlgorithm: 0x001d,
  Userhash: 0x001e,
  XorMappedAddress: 0x0020,
  ReservationToken: 0x0022,
  PasswordAlgorithms: 0x8002,
  AlternateDomain: 0x8003,
  Software: 0x8022,
  AlternateServer: 0x8023,
  Fingerprint: 0x8028,
  ResponseOrigin: 0x802b,
  OtherAddress: 0x802c,
} as const;

/** FINGERPRINT is CRC-32 of the message XOR this value ("STUN"). */
export const FINGERPRINT_XOR = 0x5354554e;

/** REQUESTED-TRANSPORT protocol number for UDP. */
export const TRANSPORT_UDP = 17;

/** Address family codes used in address attributes and REQUESTED-ADDRESS-FAMILY. */
export const Family = { IPv4: 0x01, IPv6: 0x02 } as const;

/** Error codes used by the server, with their RFC reason phrases. */
export const ErrorCode = {
  TryAlternate: 300,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  UnknownAttribute: 420,
  AllocationMismatch: 437,
  StaleNonce: 438,
  AddressFamilyNotSupported: 440,
  WrongCredentials: 441,
  UnsupportedTransportProtocol: 442,
  PeerAddressFamilyMismatch: 443,
  AllocationQuotaReached: 486,
  ServerError: 500,
  InsufficientCapacity: 508,
} as const;

/** Reason phrases for {@link ErrorCode}s. */
export const REASON: Readonly<Record<number, string>> = {
  300: 'Try Alternate',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  486: 'Allocation Quota Reached',
  500: 'Server Error',
  508: 'Insufficient Capacity',
};

/** A comprehension-required attribute (0x0000-0x7FFF) must be understood or rejected with 420. */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}
