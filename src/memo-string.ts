/**
 * Remember a pure function of a string for its most recent arguments: for derivations
 * (hashes) that the same inputs hit again and again, such as a publisher's node ID from
 * its key or a name's DHT key, at every one of the 40 stores of each publication.
 *
 * @example
 * ```ts
 * const slowHash = (s: string) => toHex(sha256(utf8(s)));
 * const hash = memoString(slowHash, 4096);
 * hash('alice') === hash('alice'); // computed once
 * ```
 * @module
 */

/**
 * `fn`, remembered for the last `maxEntries` distinct arguments (the oldest forgotten
 * first). Results are shared between callers: treat them as immutable.
 */
export function memoString<T>(fn: (s: string) => T, maxEntries: number): (s: string) => T {
  const cache = new Map<string, T>();
  return (s: string): T => {
    let v = cache.get(s);
    if (v === undefined && !cache.has(s)) {
      v = fn(s);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
      cache.set(s, v);
    }
    return v as T;
  };
}
