/**
 * Canonical JSON: one byte-exact text per value, so signatures over JSON are
 * reproducible. For the values accepted here it matches RFC 8785 (JCS): object keys
 * sorted by UTF-16 code units, no whitespace, numbers and strings serialized as
 * ECMAScript `JSON.stringify` does.
 *
 * Accepted: null, booleans, finite numbers, strings, arrays and plain objects, nested
 * at most {@link MAX_JSON_DEPTH} deep. Anything else (undefined, NaN, Infinity, bigint,
 * functions, class instances such as Date or Uint8Array, holes in arrays) is refused
 * with a {@link CanonicalJsonError} naming the path, rather than silently dropped.
 *
 * @module
 */

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Deepest nesting of arrays/objects accepted. */
export const MAX_JSON_DEPTH = 32;

/** A value that has no canonical JSON form. */
export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
}

/** The canonical JSON text of `value`. Throws {@link CanonicalJsonError}. */
export function canonicalJson(value: unknown): string {
  return write(value, '$', 0);
}

function write(v: unknown, path: string, depth: number): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalJsonError(`${path}: ${v} is not a JSON number`);
      return JSON.stringify(v);
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`${path}: a ${typeof v} is not a JSON value`);
  }
  if (depth >= MAX_JSON_DEPTH) throw new CanonicalJsonError(`${path}: nested deeper than ${MAX_JSON_DEPTH}`);
  if (Array.isArray(v)) {
    const parts: string[] = [];
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) throw new CanonicalJsonError(`${path}[${i}]: arrays must not have holes`);
      parts.push(write(v[i], `${path}[${i}]`, depth + 1));
    }
    return `[${parts.join(',')}]`;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    throw new CanonicalJsonError(`${path}: a ${proto?.constructor?.name ?? 'non-plain object'} is not a JSON value`);
  }
  const obj = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    parts.push(`${JSON.stringify(key)}:${write(obj[key], `${path}.${key}`, depth + 1)}`);
  }
  return `{${parts.join(',')}}`;
}
