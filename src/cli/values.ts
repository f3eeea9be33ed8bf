/**
 * Value parsers for options and arguments. Each returns a function that converts the
 * text or throws an Error whose message says what was expected; the parser wraps it
 * into a one-line usage error such as
 * `tincan call: invalid --tone "abc": expected a number from 20 to 20000`.
 *
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { type Address, parseAddress } from '../net/net.ts';

/** `HOST:PORT` or `[IPv6]:PORT` with an IP literal host. Port 0 only if `allowAnyPort`. */
export function hostPort(options: { allowAnyPort?: boolean } = {}): (text: string) => Address {
  return (text) => {
    let a: Address;
    try {
      a = parseAddress(text);
    } catch {
      throw new Error('expected HOST:PORT or [IPv6]:PORT');
    }
    if (isIP(a.host) === 0) throw new Error('the host must be an IPv4 or IPv6 address (host names are not resolved yet)');
    if (a.port === 0 && !options.allowAnyPort) throw new Error('the port must be 1-65535');
    return a;
  };
}

/** An integer in [min, max]. */
export function integer(min: number, max: number): (text: string) => number {
  return (text) => {
    const v = /^[+]?\d+$/.test(text.trim()) ? Number(text) : NaN;
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new Error(`expected an integer from ${min} to ${max}`);
    return v;
  };
}

/** A decimal number in [min, max]. */
export function decimal(min: number, max: number): (text: string) => number {
  return (text) => {
    const v = /^[+]?(\d+\.?\d*|\.\d+)$/.test(text.trim()) ? Number(text) : NaN;
    if (!Number.isFinite(v) || v < min || v > max) throw new Error(`expected a number from ${min} to ${max}`);
    return v;
  };
}

/** A decimal number greater than `min` and at most `max` (e.g. a duration). */
export function positive(max: number): (text: string) => number {
  return (text) => {
    const v = decimal(0, max)(text);
    if (v === 0) throw new Error(`expected a number greater than 0 and at most ${max}`);
    return v;
  };
}

/** One of a fixed set of words. */
export function oneOf<const T extends string>(choices: readonly T[]): (text: string) => T {
  return (text) => {
    if (!(choices as readonly string[]).includes(text)) throw new Error(`expected one of ${choices.join(', ')}`);
    return text as T;
  };
}

/** Printable text of 1..maxLength characters (names, search text). */
export function text(maxLength: number): (text: string) => string {
  return (value) => {
    const t = value.trim();
    if (t.length === 0) throw new Error('must not be empty');
    if ([...t].length > maxLength) throw new Error(`must be at most ${maxLength} characters`);
    // deno-lint-ignore no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(t)) throw new Error('must not contain control characters');
    return t;
  };
}

/** A non-empty string taken as is (secrets, socket paths). */
export function nonEmpty(value: string): string {
  if (value.length === 0) throw new Error('must not be empty');
  return value;
}

/** An existing WAV file to read. */
export function wavInput(value: string): string {
  if (!/\.wav$/i.test(value)) throw new Error('expected a .wav file');
  if (!existsSync(value)) throw new Error('no such file');
  if (!statSync(value).isFile()) throw new Error('not a regular file');
  return value;
}

/** A WAV file to write (created or replaced). */
export function wavOutput(value: string): string {
  if (!/\.wav$/i.test(value)) throw new Error('expected a file name ending in .wav');
  return value;
}
