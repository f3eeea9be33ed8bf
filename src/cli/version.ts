/**
 * The package version, read from package.json at the repository root (the same file on
 * Node and Deno).
 *
 * @module
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The `version` field of package.json, e.g. `0.1.0`. */
export function packageVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  }
  return cached;
}
