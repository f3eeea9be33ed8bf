/**
 * Crash-safe file writes: the data goes to a temporary file in the same directory,
 * is flushed to disk, then moved into place in one step, so readers see either the old
 * file or the complete new one, never a partial write.
 *
 * @module
 */
import { chmod, link, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Random } from '../random.ts';

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** File mode, e.g. 0o600 (applied explicitly, whatever the umask). */
  mode: number;
  /**
   * false: create only if absent; if the file exists (even if another process created
   * it a moment ago) it is left untouched and the call returns false.
   */
  overwrite: boolean;
  /** Source of the temporary file's random suffix. */
  random: Random;
}

function errCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

/**
 * Write `data` to `path` atomically. Returns true if written, false if `overwrite` is
 * false and the file already existed. The temporary file is removed in every case.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions): Promise<boolean> {
  const tmp = `${path}.tmp-${bytesToHex(options.random.bytes(6))}`;
  let written = false;
  try {
    const fh = await open(tmp, 'wx', options.mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, options.mode);
    if (options.overwrite) {
      await rename(tmp, path);
      written = true;
    } else {
      written = await linkNoClobber(tmp, path);
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
  if (written) await syncDirectory(dirname(path));
  return written;
}

/** Hard-link `tmp` to `path` unless `path` exists (atomic no-clobber create). */
async function linkNoClobber(tmp: string, path: string): Promise<boolean> {
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if (errCode(err) === 'EEXIST') return false;
    // Filesystems without hard links: fall back to a check-then-rename.
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'].includes(errCode(err) ?? '')) throw err;
    const exists = await open(path, 'r').then(
      (fh) => fh.close().then(() => true),
      () => false,
    );
    if (exists) return false;
    await rename(tmp, path);
    return true;
  }
}

/** Flush a directory entry change to disk; best effort (not supported everywhere). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Windows and some filesystems cannot fsync a directory; the rename is still atomic.
  }
}
