/**
 * Declarative command-line options. A command lists its options as builders from this
 * file; the parser turns them into a `node:util` parseArgs configuration, validates
 * values, and hands the command typed results (see {@link OptionValues}).
 *
 * Option keys are camelCase and map to kebab-case flags: `budgetKbps` is
 * `--budget-kbps`.
 *
 * @example
 * ```ts
 * const options = {
 *   seed: requiredRepeated('HOST:PORT', 'a supernode to join through', hostPort()),
 *   tone: optional('HZ', 'play a sine tone', decimal(20, 20000)),
 *   echo: flag('answer with the echo service'),
 * };
 * // run({ options }) receives { seed: Address[]; tone: number | undefined; echo: boolean }
 * ```
 * @module
 */

/** How many times a value option may or must appear. */
export type Arity = 'optional' | 'defaulted' | 'required' | 'repeated' | 'repeated-required';

/** A boolean switch, false unless given. */
export interface FlagOption {
  readonly kind: 'flag';
  /** One line for `--help`. */
  readonly help: string;
  /** Single-letter alias, e.g. `h` for `-h`. */
  readonly short?: string;
}

/** An option that takes a value, checked and converted by `parse`. */
export interface ValueOption<T = unknown, A extends Arity = Arity> {
  readonly kind: 'value';
  readonly arity: A;
  /** Placeholder shown in help and errors, e.g. `HOST:PORT`. */
  readonly valueName: string;
  /** One line for `--help`. */
  readonly help: string;
  /** Convert the text; throw an Error whose message says what is expected. */
  readonly parse: (text: string) => T;
  /** Value when absent (arity `defaulted`). */
  readonly default?: T;
  /** How the default is shown in help, if not `String(default)`. */
  readonly defaultText?: string;
  readonly short?: string;
}

/** Any option. */
// deno-lint-ignore no-explicit-any
export type OptionSpec = FlagOption | ValueOption<any, Arity>;
/** A command's options, by camelCase key. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed type of one option. */
export type OptionValue<S> = S extends FlagOption
  ? boolean
  : S extends ValueOption<infer T, infer A>
    ? A extends 'optional'
      ? T | undefined
      : A extends 'repeated' | 'repeated-required'
        ? T[]
        : T
    : never;

/** The parsed values of a set of options. */
export type OptionValues<O extends OptionSpecs> = { -readonly [K in keyof O]: OptionValue<O[K]> };

/** A boolean flag. */
export function flag(help: string, short?: string): FlagOption {
  return short === undefined ? { kind: 'flag', help } : { kind: 'flag', help, short };
}

/** An optional value; `undefined` when absent. */
export function optional<T>(valueName: string, help: string, parse: (text: string) => T): ValueOption<T, 'optional'> {
  return { kind: 'value', arity: 'optional', valueName, help, parse };
}

/** A value with a default, shown in help as `(default: …)`. */
export function withDefault<T>(
  valueName: string,
  help: string,
  parse: (text: string) => T,
  defaultValue: T,
  defaultText?: string,
): ValueOption<T, 'defaulted'> {
  return { kind: 'value', arity: 'defaulted', valueName, help, parse, default: defaultValue, defaultText: defaultText ?? String(defaultValue) };
}

/** A value that must be given exactly once. */
export function required<T>(valueName: string, help: string, parse: (text: string) => T): ValueOption<T, 'required'> {
  return { kind: 'value', arity: 'required', valueName, help, parse };
}

/** A value that may be given any number of times (an empty array when absent). */
export function repeated<T>(valueName: string, help: string, parse: (text: string) => T): ValueOption<T, 'repeated'> {
  return { kind: 'value', arity: 'repeated', valueName, help, parse };
}

/** A value that must be given at least once and may be repeated. */
export function requiredRepeated<T>(valueName: string, help: string, parse: (text: string) => T): ValueOption<T, 'repeated-required'> {
  return { kind: 'value', arity: 'repeated-required', valueName, help, parse };
}

/** The flag for an option key: `budgetKbps` -> `budget-kbps`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** True if the option must be present. */
export function isRequired(spec: OptionSpec): boolean {
  return spec.kind === 'value' && (spec.arity === 'required' || spec.arity === 'repeated-required');
}

/** True if the option may be given more than once. */
export function isRepeatable(spec: OptionSpec): boolean {
  return spec.kind === 'value' && (spec.arity === 'repeated' || spec.arity === 'repeated-required');
}
