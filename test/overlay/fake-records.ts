/**
 * Test helper: presence records with a stand-in "signature" (SHA-256 of the fields,
 * hex, doubled to 128 characters). The real check is identity's Ed25519 verification;
 * the overlay only ever sees a verdict from the injected `verify`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Clock } from '../../src/clock.ts';
import type { Random } from '../../src/random.ts';
import { toHex } from '../../src/overlay/node-id.ts';
import type { PresenceRecord } from '../../src/overlay/presence-record.ts';

export function fakeSign(r: Omit<PresenceRecord, 'signature'>): string {
  const h = toHex(sha256(new TextEncoder().encode(JSON.stringify([r.name, r.publicKey, r.nodeId, r.supernodes, r.addresses, r.seq, r.issuedAt, r.expiresAt]))));
  return h + h;
}

export const fakeVerify = (r: PresenceRecord) => (r.signature === fakeSign(r) ? { ok: true as const } : { ok: false as const, error: 'bad signature' });

export function makeRecord(clock: Pick<Clock, 'now'>, random: Random, over: Partial<PresenceRecord> & { pk?: Uint8Array } = {}): PresenceRecord {
  const pk = over.pk ?? random.bytes(32);
  const base = {
    name: 'Alice', publicKey: toHex(pk), nodeId: toHex(sha256(pk)),
    supernodes: [{ id: toHex(random.bytes(32)), address: { host: '192.0.2.1', port: 4000 } }],
    addresses: [{ host: '198.51.100.2', port: 5000 }],
    seq: 1, issuedAt: clock.now(), expiresAt: clock.now() + 3600_000,
    ...over,
  };
  delete (base as { pk?: unknown }).pk;
  return { ...base, signature: over.signature ?? fakeSign(base) };
}
