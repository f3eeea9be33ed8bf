/**
 * A presence-record verifier shared by every simulated node, memoized.
 *
 * Verifying a presence record is a pure function of the record and the current time: the
 * Ed25519 signature check depends on the record's bytes only, and the time rules (not
 * yet valid, expired, expiry too far) on the record's times and `now`. A record accepted
 * at time t stays acceptable until its `expiresAt` (the time rules only get easier as
 * time advances before expiry), so the verdict "ok" is cached with that deadline; a
 * signature or shape failure is permanent and cached too; verdicts that depend on time
 * (not yet valid, expiry too far) are never cached. The cache key is the record's full
 * content, so a record that differs in any field is verified afresh.
 *
 * In a real network every node verifies every record it receives; in the simulator the
 * same record reaches hundreds of nodes, and one shared memo turns ~2 ms of elliptic-curve
 * work per arrival into one map lookup without changing any outcome.
 *
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Clock } from '../../clock.ts';
import { recordSigningMessage } from '../../identity/record.ts';
import { toHex } from '../node-id.ts';
import { checkRecordShape, type PresenceRecord } from '../presence-record.ts';
import { presenceToSigned, presenceVerifier } from '../presence-signing.ts';
import type { RecordVerdict } from '../record-store.ts';
import { nativeVerify } from './native-ed25519.ts';

/** Options for {@link MemoVerifier}. */
export interface MemoVerifierOptions {
  clock: Pick<Clock, 'now'>;
  /** As for presenceVerifier. */
  maxLifetimeMs: number;
  /** Cached verdicts (default 200,000; oldest forgotten first). */
  maxEntries?: number;
}

interface Cached {
  verdict: RecordVerdict;
  /** Valid while now < until (Infinity for permanent failures). */
  until: number;
}

/** See module docs. */
export class MemoVerifier {
  readonly stats = { verified: 0, hits: 0 };
  private readonly inner: (r: PresenceRecord) => RecordVerdict;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly cache = new Map<string, Cached>();
  private readonly byObject = new WeakMap<object, Cached>();
  private readonly maxEntries: number;
  private readonly maxLifetimeMs: number;

  constructor(options: MemoVerifierOptions) {
    this.clock = options.clock;
    this.inner = presenceVerifier({ clock: options.clock, maxLifetimeMs: options.maxLifetimeMs });
    this.maxLifetimeMs = options.maxLifetimeMs;
    this.maxEntries = options.maxEntries ?? 200_000;
  }

  /**
   * The verdict of presenceVerifier, with the signature checked by the platform's Ed25519
   * (native-ed25519.ts) when every other rule holds. Every refusal is presenceVerifier's
   * own (it runs whenever any rule might fail), so only the acceptance of a valid
   * signature takes the fast path. The rules restated here are presenceVerifier's and
   * identity's verifyRecord's (shape, node ID = SHA-256(key), lifetime, expiry, issue time
   * within the 60 s skew); the equality of the verdicts is tested.
   */
  private check(r: PresenceRecord, now: number): RecordVerdict {
    if (!checkRecordShape(r).ok) return this.inner(r);
    let signed: ReturnType<typeof presenceToSigned>;
    let message: Uint8Array;
    try {
      signed = presenceToSigned(r);
      message = recordSigningMessage(signed);
    } catch {
      return this.inner(r);
    }
    const max = this.maxLifetimeMs;
    if (r.expiresAt - r.issuedAt > max || r.expiresAt > now + max + SKEW_MS || r.issuedAt > now + SKEW_MS || now >= r.expiresAt) return this.inner(r);
    if (toHex(sha256(signed.publicKey)) !== r.nodeId) return this.inner(r);
    return nativeVerify(signed.publicKey, message, signed.signature) ? { ok: true } : this.inner(r);
  }

  /** The verify callback for record stores and lookups. */
  readonly verify = (r: PresenceRecord): RecordVerdict => {
    const now = this.clock.now();
    // The same record object again (a record handed to many stores in-process): records
    // are immutable once signed, so its verdict is the one cached for its content.
    const same = typeof r === 'object' && r !== null ? this.byObject.get(r) : undefined;
    if (same && now < same.until) {
      this.stats.hits++;
      return same.verdict;
    }
    let key: string;
    try {
      key = contentKey(r);
    } catch {
      return this.inner(r);
    }
    const hit = this.cache.get(key);
    if (hit && now < hit.until) {
      this.stats.hits++;
      this.byObject.set(r, hit);
      return hit.verdict;
    }
    this.stats.verified++;
    const verdict = this.check(r, now);
    let until = -Infinity;
    if (verdict.ok) until = r.expiresAt;
    else if (/^(bad-signature|malformed|wrong-kind)\b/.test(verdict.error) || !verdict.error.includes(':')) until = Infinity;
    if (until > now) {
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      const entry = { verdict, until };
      this.cache.set(key, entry);
      this.byObject.set(r, entry);
    }
    return verdict;
  };
}

/** identity's default clock skew (verifyRecord's), which presenceVerifier uses. */
const SKEW_MS = 60_000;

function contentKey(r: PresenceRecord): string {
  return JSON.stringify([r.name, r.publicKey, r.nodeId, r.supernodes, r.addresses, r.seq, r.issuedAt, r.expiresAt, r.signature]);
}
