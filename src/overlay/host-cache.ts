/**
 * The host cache: up to 200 known supernodes that a node can bootstrap from when its
 * seeds are gone (Skype's answer to the bootstrap single point of failure).
 *
 * Each entry is `{id, address, lastSeen, rtt, failures}`. Entries this node has talked
 * to are *verified* (`lastSeen > 0`); entries learned by peer exchange are hearsay
 * (`lastSeen === 0`) until contacted. Scoring prefers fresh, fast, reliable, verified
 * entries; the lowest score is evicted when full. Poisoning is bounded: peer exchange
 * merges at most `maxExchange` validated entries per message, hearsay may fill at most
 * half the cache and never displaces a verified entry, and at most `maxPerPrefix`
 * entries share a /24 (or /48).
 *
 * Persistence is JSON written atomically (temp file, fsync, rename, fsync of the
 * directory) so a crash leaves either the old or the new file, never a torn one. A
 * corrupt or unreadable file is reported and ignored: the node falls back to its seeds.
 *
 * @example
 * ```ts
 * const { cache, warning } = await loadHostCacheFile(join(home, 'hosts.json'), { clock });
 * if (warning) log.warn({ warning }, 'host cache ignored');
 * cache.recordSuccess(id, address, 42);               // after a good exchange, RTT 42 ms
 * cache.mergeExchange(peerEntries);                   // peer exchange (untrusted)
 * cache.best(3);                                      // bootstrap candidates, distinct /24s first
 * await saveHostCacheFile(join(home, 'hosts.json'), cache, random);
 * ```
 * @module
 */
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Address } from '../net/net.ts';
import type { Random } from '../random.ts';
import { networkPrefix } from './ip-prefix.ts';
import { toHex } from './node-id.ts';

/** One known supernode. */
export interface HostEntry {
  /** Hex node ID (64 chars). */
  readonly id: string;
  readonly address: Address;
  /** Last successful contact (ms since epoch); 0 = never contacted (hearsay). */
  readonly lastSeen: number;
  /** Smoothed round-trip time in ms, or null if unknown. */
  readonly rtt: number | null;
  /** Consecutive failed contacts. */
  readonly failures: number;
}

/** Options for {@link HostCache}. */
export interface HostCacheOptions {
  clock: Pick<Clock, 'now'>;
  /** Capacity (default 200). */
  maxEntries?: number;
  /** Entries sharing one /24 or /48 (default 4). */
  maxPerPrefix?: number;
  /** Entries taken from one peer-exchange message (default 50). */
  maxExchange?: number;
  /** Consecutive failures after which an entry is dropped (default 5). */
  maxFailures?: number;
}

/** Outcome of {@link HostCache.mergeExchange}. */
export interface MergeReport {
  added: number;
  /** Malformed entries. */
  invalid: number;
  /** Well-formed but refused (known, prefix cap, hearsay quota, beyond the per-message cap). */
  skipped: number;
}

/** Current file format version. */
export const HOST_CACHE_VERSION = 1;
/** Largest host cache file read (bytes). */
export const MAX_HOST_CACHE_FILE = 1 << 20;

const HEX64 = /^[0-9a-f]{64}$/;

/** Validate one untrusted entry (from a file or a peer); undefined if malformed. */
export function parseHostEntry(x: unknown): HostEntry | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const e = x as Record<string, unknown>;
  const a = e.address as Record<string, unknown> | undefined;
  if (typeof e.id !== 'string' || !HEX64.test(e.id)) return undefined;
  if (typeof a !== 'object' || a === null || typeof a.host !== 'string' || networkPrefix(a.host) === undefined) return undefined;
  if (!Number.isInteger(a.port) || (a.port as number) < 1 || (a.port as number) > 65535) return undefined;
  const lastSeen = e.lastSeen ?? 0;
  const rtt = e.rtt ?? null;
  const failures = e.failures ?? 0;
  if (!Number.isSafeInteger(lastSeen) || (lastSeen as number) < 0) return undefined;
  if (rtt !== null && (typeof rtt !== 'number' || !Number.isFinite(rtt) || rtt < 0 || rtt > 60_000)) return undefined;
  if (!Number.isInteger(failures) || (failures as number) < 0 || (failures as number) > 1000) return undefined;
  return { id: e.id, address: { host: a.host, port: a.port as number }, lastSeen: lastSeen as number, rtt: rtt as number | null, failures: failures as number };
}

interface Mutable {
  id: string;
  address: Address;
  lastSeen: number;
  rtt: number | null;
  failures: number;
  prefix: string;
}

/**
 * A new entry, always built the same way: entries made by spreading another object get a
 * hidden class each in V8 (about 250 bytes apiece, and slow property reads), and a
 * simulated network holds hundreds of thousands of them.
 */
function entryOf(id: string, address: Address, lastSeen: number, rtt: number | null, failures: number, prefix: string): Mutable {
  return { id, address, lastSeen, rtt, failures, prefix };
}

/** See module docs. */
export class HostCache {
  readonly maxEntries: number;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly maxPerPrefix: number;
  private readonly maxExchange: number;
  private readonly maxFailures: number;
  private readonly entries = new Map<string, Mutable>();
  /** Entries per /24 (or /48), kept with the map so the prefix cap is O(1). */
  private readonly perPrefix = new Map<string, number>();
  /** Entries never contacted (`lastSeen === 0`). */
  private hearsay = 0;

  constructor(options: HostCacheOptions) {
    this.clock = options.clock;
    this.maxEntries = options.maxEntries ?? 200;
    this.maxPerPrefix = options.maxPerPrefix ?? 4;
    this.maxExchange = options.maxExchange ?? 50;
    this.maxFailures = options.maxFailures ?? 5;
  }

  /** Number of entries. */
  get size(): number {
    return this.entries.size;
  }

  /** The entry for `id`, if any. */
  get(id: string): HostEntry | undefined {
    return this.view(this.entries.get(id));
  }

  /**
   * All entries in no particular order, without copying (read-only views of the live
   * entries: do not keep them across changes). For counting; {@link list} ranks.
   */
  all(): IterableIterator<HostEntry> {
    return this.entries.values();
  }

  /** All entries, best score first. */
  list(): HostEntry[] {
    return this.sorted().map((e) => this.view(e)!);
  }

  /**
   * Score of an entry (higher is better): freshness (half-life one day) and RTT for
   * verified entries, a low constant for hearsay, minus a penalty per failure.
   */
  score(entry: HostEntry): number {
    return this.scoreOf(entry, this.clock.now());
  }

  /** A successful exchange with `id` at `address`, with an RTT sample in ms if measured. */
  recordSuccess(id: string, address: Address, rttMs?: number): boolean {
    const parsed = parseHostEntry({ id, address, lastSeen: 0, rtt: rttMs ?? null, failures: 0 });
    if (!parsed) return false;
    const now = this.clock.now();
    const e = this.entries.get(id);
    if (e) {
      const prefix = networkPrefix(address.host)!;
      if (prefix !== e.prefix && this.prefixCount(prefix) >= this.maxPerPrefix) return false;
      this.forget(e);
      e.address = parsed.address;
      e.prefix = prefix;
      e.lastSeen = now;
      this.count(e);
      e.failures = 0;
      if (rttMs !== undefined) e.rtt = e.rtt === null ? rttMs : Math.round(0.75 * e.rtt + 0.25 * rttMs);
      return true;
    }
    return this.insert(entryOf(parsed.id, parsed.address, now, parsed.rtt, parsed.failures, networkPrefix(address.host)!), true);
  }

  /** A failed contact; the entry is dropped after `maxFailures` in a row. */
  recordFailure(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.failures++;
    if (e.failures >= this.maxFailures) this.delete(e);
  }

  /** Remove an entry (e.g. a supernode that said it is leaving). */
  remove(id: string): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    this.delete(e);
    return true;
  }

  /**
   * Merge entries received by peer exchange (untrusted). At most `maxExchange` are
   * considered; they enter as hearsay (`lastSeen = 0`, failures and RTT ignored), only
   * into free room or in place of worse hearsay, and hearsay may fill at most half the cache.
   */
  mergeExchange(untrusted: unknown): MergeReport {
    const report: MergeReport = { added: 0, invalid: 0, skipped: 0 };
    if (!Array.isArray(untrusted)) {
      report.invalid++;
      return report;
    }
    const hearsayCap = Math.floor(this.maxEntries / 2);
    for (const [i, x] of untrusted.entries()) {
      if (i >= this.maxExchange) {
        report.skipped += untrusted.length - i;
        break;
      }
      const e = parseHostEntry(x);
      if (!e) {
        report.invalid++;
        continue;
      }
      if (this.entries.has(e.id) || this.hearsay >= hearsayCap) {
        report.skipped++;
        continue;
      }
      const ok = this.insert(entryOf(e.id, e.address, 0, null, 0, networkPrefix(e.address.host)!), false);
      if (ok) report.added++;
      else report.skipped++;
    }
    return report;
  }

  /** Entries worth sharing in peer exchange: verified, no recent failures, best first. */
  forExchange(n: number): HostEntry[] {
    return this.list().filter((e) => e.lastSeen > 0 && e.failures === 0).slice(0, n);
  }

  /** Up to `n` bootstrap candidates, best first, preferring distinct /24s (or /48s). */
  best(n: number): HostEntry[] {
    const all = this.sorted();
    const picked = new Set<Mutable>();
    const used = new Set<string>();
    for (const e of all) {
      if (picked.size >= n) break;
      if (!used.has(e.prefix)) {
        used.add(e.prefix);
        picked.add(e);
      }
    }
    for (const e of all) {
      if (picked.size >= n) break;
      picked.add(e);
    }
    return [...picked].map((e) => this.view(e)!);
  }

  /** The file form: `{version, entries}` as JSON text. */
  serialize(): string {
    const entries = [...this.entries.values()].map((e) => ({ id: e.id, address: e.address, lastSeen: e.lastSeen, rtt: e.rtt, failures: e.failures }));
    return JSON.stringify({ version: HOST_CACHE_VERSION, entries }, null, 1) + '\n';
  }

  /**
   * Build a cache from file text. Never throws: unparsable text or a wrong version gives
   * an empty cache and an `error`; malformed entries are skipped and counted.
   */
  static parse(text: string, options: HostCacheOptions): { cache: HostCache; error?: string; skipped: number } {
    const cache = new HostCache(options);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return { cache, error: `host cache is not valid JSON: ${(err as Error).message}`, skipped: 0 };
    }
    const d = doc as { version?: unknown; entries?: unknown };
    if (typeof doc !== 'object' || doc === null || d.version !== HOST_CACHE_VERSION || !Array.isArray(d.entries)) {
      return { cache, error: `host cache has an unknown format (expected {version: ${HOST_CACHE_VERSION}, entries: [...]})`, skipped: 0 };
    }
    let skipped = 0;
    for (const x of d.entries.slice(0, cache.maxEntries * 2)) {
      const e = parseHostEntry(x);
      if (!e || cache.entries.has(e.id) || !cache.insert(entryOf(e.id, e.address, e.lastSeen, e.rtt, e.failures, networkPrefix(e.address.host)!), e.lastSeen > 0)) skipped++;
    }
    skipped += Math.max(0, d.entries.length - cache.maxEntries * 2);
    return { cache, skipped };
  }

  // -- internals ---------------------------------------------------------------------

  private view(e: Mutable | undefined): HostEntry | undefined {
    return e && { id: e.id, address: e.address, lastSeen: e.lastSeen, rtt: e.rtt, failures: e.failures };
  }

  /** Entries, best score first (each scored once). */
  private sorted(): Mutable[] {
    const now = this.clock.now();
    const scored = [...this.entries.values()].map((e) => ({ e, score: this.scoreOf(e, now) }));
    scored.sort((a, b) => b.score - a.score);
    return scored.map((x) => x.e);
  }

  private scoreOf(e: HostEntry, now: number): number {
    let s: number;
    if (e.lastSeen > 0) {
      const ageDays = Math.max(0, now - e.lastSeen) / 86_400_000;
      s = 50 + 50 * Math.pow(0.5, ageDays) - Math.min(30, (e.rtt ?? 300) / 20);
    } else {
      s = 10;
    }
    return s - 15 * e.failures;
  }

  private prefixCount(prefix: string): number {
    return this.perPrefix.get(prefix) ?? 0;
  }

  /** Add `e` to the per-prefix and hearsay counts. */
  private count(e: Mutable): void {
    this.perPrefix.set(e.prefix, this.prefixCount(e.prefix) + 1);
    if (e.lastSeen === 0) this.hearsay++;
  }

  /** Take `e` out of the per-prefix and hearsay counts. */
  private forget(e: Mutable): void {
    const n = this.prefixCount(e.prefix) - 1;
    if (n > 0) this.perPrefix.set(e.prefix, n);
    else this.perPrefix.delete(e.prefix);
    if (e.lastSeen === 0) this.hearsay--;
  }

  private delete(e: Mutable): void {
    this.forget(e);
    this.entries.delete(e.id);
  }

  /** Insert, evicting the worst entry if full; hearsay never evicts a verified entry. */
  private insert(e: Mutable, verified: boolean): boolean {
    if (this.prefixCount(e.prefix) >= this.maxPerPrefix) return false;
    if (this.entries.size >= this.maxEntries) {
      const now = this.clock.now();
      let worst: Mutable | undefined;
      let worstScore = Infinity;
      for (const x of this.entries.values()) {
        if (!verified && x.lastSeen > 0) continue;
        const score = this.scoreOf(x, now);
        if (score < worstScore) {
          worst = x;
          worstScore = score;
        }
      }
      if (!worst || worstScore >= this.scoreOf(e, now)) return false;
      this.delete(worst);
    }
    this.entries.set(e.id, e);
    this.count(e);
    return true;
  }
}

/**
 * Write `cache` to `path` atomically: a new temp file in the same directory (mode
 * 0600), fsync, rename over `path`, then fsync the directory where the platform allows.
 * Rejects on I/O errors (the old file is then untouched).
 */
export async function saveHostCacheFile(path: string, cache: HostCache, random: Random): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${toHex(random.bytes(6))}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(cache.serialize(), 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  // Make the rename itself durable. Some platforms cannot open directories: best effort.
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // ignored: the data file is already complete and synced
  }
}

/** Best effort: delete temp files a crash during {@link saveHostCacheFile} left behind. */
async function removeStaleTempFiles(path: string): Promise<void> {
  const prefix = `.${basename(path)}.`;
  try {
    for (const name of await readdir(dirname(path))) {
      if (name.startsWith(prefix) && name.endsWith('.tmp') && /^[0-9a-f]{12}$/.test(name.slice(prefix.length, -4))) {
        await unlink(join(dirname(path), name)).catch(() => {});
      }
    }
  } catch {
    // unreadable directory: loading reports the real problem
  }
}

/**
 * Read the host cache at `path` (removing temp files left by a crash). Never rejects: a missing file gives an empty cache; an
 * unreadable, oversized or corrupt file gives an empty cache and a `warning` to log.
 */
export async function loadHostCacheFile(path: string, options: HostCacheOptions): Promise<{ cache: HostCache; warning?: string; skipped: number }> {
  await removeStaleTempFiles(path);
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      if (size > MAX_HOST_CACHE_FILE) {
        return { cache: new HostCache(options), warning: `host cache ${path} is too large (${size} bytes); ignored`, skipped: 0 };
      }
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return { cache: new HostCache(options), skipped: 0 };
    return { cache: new HostCache(options), warning: `host cache ${path} unreadable (${code ?? (err as Error).message}); ignored`, skipped: 0 };
  }
  const r = HostCache.parse(text, options);
  return r.error ? { cache: r.cache, warning: `${r.error} (${path}); ignored`, skipped: r.skipped } : { cache: r.cache, skipped: r.skipped };
}
