/**
 * The identity on disk: `<home>/identity.json`, created on first use.
 *
 * - The home directory is created with mode 0700 and the key file with mode 0600; the
 *   key file is written atomically (temporary file, fsync, link/rename).
 * - Loading refuses a key file that group or others can access, or that is corrupt,
 *   with a {@link KeyStoreError} whose message says what to do.
 * - Two processes starting at once for the first time end up with the same identity:
 *   creation never overwrites an existing key file.
 *
 * Key file format (JSON, version 1):
 * ```json
 * { "format": "tincan-identity", "version": 1, "algorithm": "ed25519",
 *   "secretKey": "<64 hex: 32-byte RFC 8032 seed>", "publicKey": "<64 hex>",
 *   "id": "<64 hex: SHA-256(publicKey)>", "createdAt": "2026-01-01T00:00:00.000Z" }
 * ```
 * `publicKey` and `id` are redundant and checked against `secretKey` on load, which
 * catches damaged files.
 *
 * @example
 * ```ts
 * const { identity, created } = await loadOrCreateIdentity('/home/me/.tincan', { random: new SecureRandom(), clock });
 * ```
 * @module
 */
import { mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Clock } from '../clock.ts';
import type { Random } from '../random.ts';
import { Identity } from './identity.ts';
import { writeFileAtomic } from './atomic-write.ts';

/** Name of the key file inside the home directory. */
export const KEY_FILE_NAME = 'identity.json';
/** Mode of a new key file. */
export const KEY_FILE_MODE = 0o600;
/** Mode of a new home directory. */
export const HOME_DIR_MODE = 0o700;
/** Key files larger than this are corrupt (a real one is about 300 bytes). */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/** Why the key store refused. */
export type KeyStoreProblem = 'insecure-permissions' | 'corrupt' | 'not-a-directory' | 'io';

/** A refusal to load or create the identity; `message` tells the user what to do. */
export class KeyStoreError extends Error {
  override name = 'KeyStoreError';
  constructor(
    readonly problem: KeyStoreProblem,
    /** The file or directory concerned. */
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** Dependencies for creating an identity. */
export interface KeyStoreOptions {
  /** Key material and temporary file names (SecureRandom for real use). */
  random: Random;
  /** For the `createdAt` stamp. */
  clock: Pick<Clock, 'now'>;
}

/** A loaded identity and where it lives. */
export interface StoredIdentity {
  identity: Identity;
  /** The home directory (as given). */
  home: string;
  /** The key file path. */
  keyFile: string;
  /** True if this call created the key. */
  created: boolean;
}

/** The key file path for a home directory. */
export function keyFilePath(home: string): string {
  return join(home, KEY_FILE_NAME);
}

const checkModes = process.platform !== 'win32';

function mode(m: number): string {
  return (m & 0o777).toString(8).padStart(4, '0');
}

function code(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

function ioError(path: string, action: string, err: unknown): KeyStoreError {
  return new KeyStoreError('io', path, `cannot ${action} ${path}: ${(err as Error).message}`);
}

/**
 * Load the identity from `home`, creating the directory and a new key on first use.
 * Throws {@link KeyStoreError}.
 */
export async function loadOrCreateIdentity(home: string, options: KeyStoreOptions): Promise<StoredIdentity> {
  await ensureHome(home);
  const existing = await loadIdentity(home);
  if (existing) return existing;
  const identity = Identity.generate(options.random);
  const file = keyFilePath(home);
  let written: boolean;
  try {
    written = await writeFileAtomic(file, serializeKeyFile(identity, options.clock.now()), {
      mode: KEY_FILE_MODE,
      overwrite: false,
      random: options.random,
    });
  } catch (err) {
    throw ioError(file, 'write the key file', err);
  }
  if (!written) {
    // Another process created it between our check and our write: use theirs.
    const theirs = await loadIdentity(home);
    if (theirs) return theirs;
  }
  return { identity, home, keyFile: file, created: true };
}

/**
 * Load the identity from `home`; undefined if there is no key file yet.
 * Throws {@link KeyStoreError} if it is accessible by others or corrupt.
 */
export async function loadIdentity(home: string): Promise<StoredIdentity | undefined> {
  const file = keyFilePath(home);
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw ioError(file, 'open the key file', err);
  }
  let text: string;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw corrupt(file, 'it is not a regular file');
    if (checkModes && (st.mode & 0o077) !== 0) {
      throw new KeyStoreError(
        'insecure-permissions',
        file,
        `key file ${file} can be accessed by other users (mode ${mode(st.mode)}); ` +
          `restrict it with: chmod 600 ${file} (if someone else may have copied it, move it aside to create a new identity)`,
      );
    }
    if (st.size > MAX_KEY_FILE_BYTES) throw corrupt(file, `it is ${st.size} bytes, far larger than a key file`);
    const bytes = await fh.readFile();
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw corrupt(file, 'it is not UTF-8 text');
    }
  } catch (err) {
    if (err instanceof KeyStoreError) throw err;
    throw ioError(file, 'read the key file', err);
  } finally {
    await fh.close();
  }
  return { identity: parseKeyFile(file, text), home, keyFile: file, created: false };
}

function corrupt(file: string, why: string): KeyStoreError {
  return new KeyStoreError(
    'corrupt',
    file,
    `key file ${file} is corrupt: ${why}; restore it from a backup, or move it aside ` +
      `(mv ${file} ${file}.bad) to create a new identity (a new node ID)`,
  );
}

async function ensureHome(home: string): Promise<void> {
  try {
    await mkdir(home, { recursive: true, mode: HOME_DIR_MODE });
  } catch (err) {
    if (code(err) === 'EEXIST' || code(err) === 'ENOTDIR') {
      throw new KeyStoreError('not-a-directory', home, `home ${home} is not a directory; choose another with --home`);
    }
    throw ioError(home, 'create the home directory', err);
  }
  let st;
  try {
    st = await stat(home);
  } catch (err) {
    throw ioError(home, 'inspect the home directory', err);
  }
  if (!st.isDirectory()) throw new KeyStoreError('not-a-directory', home, `home ${home} is not a directory; choose another with --home`);
  if (checkModes && (st.mode & 0o022) !== 0) {
    throw new KeyStoreError(
      'insecure-permissions',
      home,
      `home directory ${home} is writable by other users (mode ${mode(st.mode)}), who could replace the key; ` +
        `restrict it with: chmod 700 ${home}`,
    );
  }
}

/** The key file's JSON text for `identity`. */
export function serializeKeyFile(identity: Identity, createdAtMs: number): string {
  const doc = {
    format: 'tincan-identity',
    version: 1,
    algorithm: 'ed25519',
    secretKey: bytesToHex(identity.secretKey),
    publicKey: bytesToHex(identity.publicKey),
    id: identity.id,
    createdAt: new Date(createdAtMs).toISOString(),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Parse and check a key file's text. Throws KeyStoreError('corrupt'). */
export function parseKeyFile(file: string, text: string): Identity {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw corrupt(file, 'it is not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt(file, 'it is not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.format !== 'tincan-identity') throw corrupt(file, 'it is not a tincan identity file ("format" is missing or wrong)');
  if (d.version !== 1) throw corrupt(file, `unsupported version ${JSON.stringify(d.version)} (this build reads version 1)`);
  if (d.algorithm !== 'ed25519') throw corrupt(file, `unsupported algorithm ${JSON.stringify(d.algorithm)}`);
  for (const field of ['secretKey', 'publicKey', 'id'] as const) {
    if (typeof d[field] !== 'string' || !HEX64.test(d[field] as string)) throw corrupt(file, `"${field}" is not 64 lowercase hex characters`);
  }
  const identity = Identity.fromSecretKey(hexToBytes(d.secretKey as string));
  if (identity.publicKeyHex !== d.publicKey) throw corrupt(file, '"publicKey" does not match "secretKey"');
  if (identity.id !== d.id) throw corrupt(file, '"id" does not match the key');
  return identity;
}
