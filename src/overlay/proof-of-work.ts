/**
 * Proof of work that makes supernode IDs cost something to mint (S/Kademlia's crypto
 * puzzle, adapted): a node owning Ed25519 public key `pk` must publish a nonce such that
 *
 *     SHA-256("tincan-pow-v1" || pk || nonce)
 *
 * has at least `D` leading zero bits. Its node ID stays SHA-256(pk), so the work is
 * bound to the key (a nonce cannot be reused for another key) and checking it costs one
 * hash. Expected minting cost is `2^D` hashes; at the default
 * {@link DEFAULT_POW_DIFFICULTY} that is about one second of one core (measured about
 * 220,000 hashes/s with @noble/hashes on the reference machine). The simulator uses a
 * low difficulty but still verifies every contact.
 *
 * @example
 * ```ts
 * const nonce = mintProofOfWork(publicKey, 8);          // ~256 hashes
 * verifyProofOfWork(publicKey, nonce, 8);               // true
 * verifyProofOfWork(publicKey, nonce, 30);              // false (almost surely)
 * ```
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { leadingZeroBits } from './node-id.ts';

/** Default difficulty in leading zero bits: about 1 s of minting, one hash to check. */
export const DEFAULT_POW_DIFFICULTY = 18;
/** Nonce length in bytes (a big-endian counter). */
export const POW_NONCE_BYTES = 8;
/** Hard upper bound on accepted difficulty parameters (guards against typos that would never finish). */
export const MAX_POW_DIFFICULTY = 40;

const DOMAIN = new TextEncoder().encode('tincan-pow-v1');

function checkDifficulty(difficulty: number): void {
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > MAX_POW_DIFFICULTY) {
    throw new RangeError(`proof-of-work difficulty must be an integer 0..${MAX_POW_DIFFICULTY}, got ${difficulty}`);
  }
}

/** The puzzle input buffer: domain || publicKey || nonce (nonce last, mutated in place while minting). */
function puzzleInput(publicKey: Uint8Array): Uint8Array {
  const buf = new Uint8Array(DOMAIN.length + publicKey.length + POW_NONCE_BYTES);
  buf.set(DOMAIN, 0);
  buf.set(publicKey, DOMAIN.length);
  return buf;
}

/** The work achieved by `nonce` for `publicKey`: the number of leading zero bits of the puzzle hash. */
export function proofOfWorkBits(publicKey: Uint8Array, nonce: Uint8Array): number {
  if (nonce.length !== POW_NONCE_BYTES) return 0;
  const buf = puzzleInput(publicKey);
  buf.set(nonce, buf.length - POW_NONCE_BYTES);
  return leadingZeroBits(sha256(buf));
}

/**
 * True when `nonce` proves at least `difficulty` bits of work for `publicKey`.
 * Costs exactly one SHA-256. Malformed nonces are simply false.
 */
export function verifyProofOfWork(publicKey: Uint8Array, nonce: Uint8Array, difficulty: number): boolean {
  checkDifficulty(difficulty);
  if (!(nonce instanceof Uint8Array) || nonce.length !== POW_NONCE_BYTES) return false;
  return proofOfWorkBits(publicKey, nonce) >= difficulty;
}

/** Options for {@link mintProofOfWork}. */
export interface MintOptions {
  /** First counter value to try (default 0); lets callers resume or split work. */
  start?: number;
  /** Give up after this many attempts and throw (default: unlimited). */
  maxAttempts?: number;
}

function writeCounter(buf: Uint8Array, offset: number, n: number): void {
  // 53-bit safe counter written big-endian into 8 bytes.
  const hi = Math.floor(n / 2 ** 32);
  const lo = n >>> 0;
  buf[offset] = (hi >>> 24) & 0xff;
  buf[offset + 1] = (hi >>> 16) & 0xff;
  buf[offset + 2] = (hi >>> 8) & 0xff;
  buf[offset + 3] = hi & 0xff;
  buf[offset + 4] = lo >>> 24;
  buf[offset + 5] = (lo >>> 16) & 0xff;
  buf[offset + 6] = (lo >>> 8) & 0xff;
  buf[offset + 7] = lo & 0xff;
}

/**
 * Find a nonce proving `difficulty` bits of work for `publicKey`, synchronously.
 * Expected `2^difficulty` hashes. Throws when `maxAttempts` is exhausted. For the
 * default difficulty in an interactive process prefer {@link mintProofOfWorkAsync},
 * which yields between batches.
 */
export function mintProofOfWork(publicKey: Uint8Array, difficulty: number, options: MintOptions = {}): Uint8Array {
  checkDifficulty(difficulty);
  const buf = puzzleInput(publicKey);
  const off = buf.length - POW_NONCE_BYTES;
  const start = options.start ?? 0;
  const end = options.maxAttempts === undefined ? Number.MAX_SAFE_INTEGER : start + options.maxAttempts;
  for (let n = start; n < end; n++) {
    writeCounter(buf, off, n);
    if (leadingZeroBits(sha256(buf)) >= difficulty) return buf.slice(off);
  }
  throw new Error(`no proof of work found in ${end - start} attempts at difficulty ${difficulty}`);
}

/** Options for {@link mintProofOfWorkAsync}. */
export interface MintAsyncOptions {
  /** Hashes per batch between yields (default 4096). */
  batch?: number;
  /** Called between batches; await it to yield to the event loop (e.g. `() => clock.sleep(0)`). */
  yieldFn: () => Promise<void>;
  /** Abort minting; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Like {@link mintProofOfWork} but yields to the event loop every `batch` hashes so a
 * node stays responsive while it mints its supernode ID, and can be aborted.
 *
 * @example
 * ```ts
 * const nonce = await mintProofOfWorkAsync(pk, DEFAULT_POW_DIFFICULTY, {
 *   yieldFn: () => env.clock.sleep(0), signal,
 * });
 * ```
 */
export async function mintProofOfWorkAsync(publicKey: Uint8Array, difficulty: number, options: MintAsyncOptions): Promise<Uint8Array> {
  checkDifficulty(difficulty);
  const batch = Math.max(1, options.batch ?? 4096);
  for (let start = 0; ; start += batch) {
    if (options.signal?.aborted) throw options.signal.reason;
    try {
      return mintProofOfWork(publicKey, difficulty, { start, maxAttempts: batch });
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('no proof of work')) throw err;
    }
    await options.yieldFn();
  }
}
