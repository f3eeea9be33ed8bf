/**
 * Schema validation for everything that arrives as JSON: TypeBox schemas compiled once
 * with ajv, errors reported with the JSON path of the offending value, and a check at
 * definition time that a schema is *bounded* (every string has `maxLength`, every array
 * `maxItems`, every object `additionalProperties: false` or a `maxProperties`), so no
 * accepted message can carry an unbounded field.
 *
 * String formats: only `ipv4` and `ipv6` are known (a literal address, as `node:net`
 * checks it); any other `format` is a compile error, so use `pattern` instead.
 *
 * @example
 * ```ts
 * const Name = compileSchema(Type.Object({ name: Type.String({ maxLength: 64 }) },
 *   { additionalProperties: false }));
 * Name.validate({ name: 'ada' });   // { ok: true, value: { name: 'ada' } }
 * Name.validate({ name: 42 });      // { ok: false, error: '/name must be string' }
 * ```
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Static, TSchema } from '@sinclair/typebox';

/** The result of validating a value. */
export type Validation<T> = { ok: true; value: T } | { ok: false; error: string };

/** A compiled schema. */
export interface Validator<T> {
  /** The TypeBox schema it was compiled from. */
  readonly schema: TSchema;
  /** True when `value` matches. */
  check(value: unknown): value is T;
  /** Validate with a readable error: `<json path> <problem>`. */
  validate(value: unknown): Validation<T>;
}

// One ajv instance: it only caches compiled code; strict mode rejects schema typos.
const ajv = new Ajv({ strict: true, allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false });
// The only string formats available (no ajv-formats dependency); anything else is a
// compile error, so use `pattern` for other shapes.
ajv.addFormat('ipv4', { type: 'string', validate: (s: string) => isIPv4(s) });
ajv.addFormat('ipv6', { type: 'string', validate: (s: string) => isIPv6(s) });

/**
 * Compile a schema once (after {@link assertBounded}); the result is reused for every
 * message. Throws if the schema is invalid or unbounded (a programming error).
 */
export function compileSchema<S extends TSchema>(schema: S, options: BoundedOptions = {}): Validator<Static<S>> {
  assertBounded(schema, options);
  const fn: ValidateFunction = ajv.compile(schema);
  return {
    schema,
    check: (value: unknown): value is Static<S> => fn(value) === true,
    validate: (value: unknown): Validation<Static<S>> => (fn(value) === true ? { ok: true, value: value as Static<S> } : { ok: false, error: formatErrors(fn.errors) }),
  };
}

/** Format ajv errors as one line: `/path/to/field must be string`. */
export function formatErrors(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'invalid';
  const path = e.instancePath || '/';
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${path} has unexpected property "${String(params.additionalProperty)}"`;
  if (e.keyword === 'required') return `${path} is missing property "${String(params.missingProperty)}"`;
  if (e.keyword === 'const') return `${path} must be ${JSON.stringify(params.allowedValue)}`;
  if (e.keyword === 'enum') return `${path} must be one of ${JSON.stringify(params.allowedValues)}`;
  return `${path} ${e.message ?? 'is invalid'}`;
}

/** Options of {@link assertBounded}. */
export interface BoundedOptions {
  /**
   * Accept schemas with no type (TypeBox `Type.Unknown()`/`Type.Any()`). Only for
   * envelopes whose open slots are validated again by a more specific schema.
   */
  allowUnknown?: boolean;
}

/**
 * Throw an Error naming the first unbounded part of `schema`: a string without
 * `maxLength` (unless `const`/`enum`), an array without `maxItems`, an object that
 * allows extra properties without `maxProperties`, or (unless allowed) a typeless
 * schema.
 */
export function assertBounded(schema: TSchema, options: BoundedOptions = {}, path = '#'): void {
  const s = schema as Record<string, unknown>;
  const sub = (child: unknown, p: string) => {
    if (child && typeof child === 'object') assertBounded(child as TSchema, options, p);
  };
  const bounded = 'const' in s || 'enum' in s;
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  for (const t of types) {
    if (t === 'string' && !bounded && typeof s.maxLength !== 'number') throw new Error(`unbounded schema at ${path}: string needs maxLength`);
    if (t === 'array' && typeof s.maxItems !== 'number') throw new Error(`unbounded schema at ${path}: array needs maxItems`);
    if (t === 'object' && s.additionalProperties !== false && typeof s.maxProperties !== 'number')
      throw new Error(`unbounded schema at ${path}: object needs additionalProperties: false or maxProperties`);
  }
  const combinators = ['anyOf', 'oneOf', 'allOf'].filter((k) => Array.isArray(s[k]));
  if (types.length === 0 && combinators.length === 0 && !bounded && !('not' in s) && !options.allowUnknown) throw new Error(`unbounded schema at ${path}: no type`);
  if (s.properties && typeof s.properties === 'object') for (const [k, v] of Object.entries(s.properties)) sub(v, `${path}/properties/${k}`);
  if (s.patternProperties && typeof s.patternProperties === 'object') for (const [k, v] of Object.entries(s.patternProperties)) sub(v, `${path}/patternProperties/${k}`);
  if (typeof s.additionalProperties === 'object') sub(s.additionalProperties, `${path}/additionalProperties`);
  if (Array.isArray(s.items)) s.items.forEach((v, i) => sub(v, `${path}/items/${i}`));
  else sub(s.items, `${path}/items`);
  if (Array.isArray(s.prefixItems)) s.prefixItems.forEach((v, i) => sub(v, `${path}/prefixItems/${i}`));
  for (const k of combinators) (s[k] as unknown[]).forEach((v, i) => sub(v, `${path}/${k}/${i}`));
}
