/**
 * Turns argv into a command's typed arguments, using `node:util` parseArgs for the
 * tokenizing and our own checks for everything else, so each mistake gets one clear
 * line: unknown option, missing value, bad value, missing argument, conflicting options.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import type { AnyCommand, CommandArgs } from './command.ts';
import { GLOBAL_OPTIONS, type GlobalSettings, resolveHome } from './global.ts';
import { type OptionSpec, type OptionSpecs, flagName, isRepeatable, isRequired } from './options.ts';

/** Bad usage; `run.ts` prints `tincan CMD: MESSAGE (see tincan CMD --help)` and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The result of parsing: a help or version request, or arguments to run with. */
export type ParseResult =
  | { readonly kind: 'help' }
  | { readonly kind: 'version'; readonly json: boolean }
  | { readonly kind: 'run'; readonly args: CommandArgs<OptionSpecs, readonly never[]> & { positionals: Record<string, string> } };

interface Scan {
  values: Map<string, string[]>;
  flags: Set<string>;
  positionals: string[];
  firstError?: string;
}

/** Tokenize `argv` against `specs` without throwing; the first problem is remembered. */
function scan(argv: readonly string[], specs: OptionSpecs): Scan {
  const byFlag = new Map<string, string>();
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple: true }> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const name = flagName(key);
    byFlag.set(name, key);
    config[name] = { type: spec.kind === 'flag' ? 'boolean' : 'string', multiple: true, ...(spec.short ? { short: spec.short } : {}) };
  }
  const { tokens } = parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
  const out: Scan = { values: new Map(), flags: new Set(), positionals: [] };
  const problem = (message: string) => {
    out.firstError ??= message;
  };
  for (const token of tokens) {
    if (token.kind === 'positional') {
      out.positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const key = byFlag.get(token.name);
    const spec = key === undefined ? undefined : specs[key];
    if (key === undefined || spec === undefined) {
      problem(`unknown option ${token.rawName}`);
      continue;
    }
    if (spec.kind === 'flag') {
      if (token.value !== undefined) problem(`option --${token.name} does not take a value`);
      else out.flags.add(key);
      continue;
    }
    const value = token.value;
    if (value === undefined || (!token.inlineValue && value.startsWith('-') && value.length > 1)) {
      problem(`option --${token.name} needs a value (${spec.valueName})`);
      continue;
    }
    const list = out.values.get(key) ?? [];
    list.push(value);
    out.values.set(key, list);
  }
  return out;
}

function convert(spec: OptionSpec, key: string, texts: string[] | undefined, present: boolean): unknown {
  if (spec.kind === 'flag') return present;
  const flag = `--${flagName(key)}`;
  if (!texts || texts.length === 0) {
    if (isRequired(spec)) throw new UsageError(`missing required option ${flag} ${spec.valueName}`);
    if (isRepeatable(spec)) return [];
    return spec.arity === 'defaulted' ? spec.default : undefined;
  }
  if (!isRepeatable(spec) && texts.length > 1) throw new UsageError(`option ${flag} given more than once`);
  const parsed = texts.map((text) => {
    try {
      return spec.parse(text);
    } catch (err) {
      throw new UsageError(`invalid ${flag} ${JSON.stringify(text)}: ${(err as Error).message}`);
    }
  });
  return isRepeatable(spec) ? parsed : parsed[0];
}

/**
 * Where the subcommand word is in `argv` (the first argument that is not a global
 * option or its value), or -1 if there is none. Throws UsageError for an option before
 * the command that is not a global option.
 */
export function findCommandIndex(argv: readonly string[]): number {
  const byFlag = new Set(Object.keys(GLOBAL_OPTIONS).map(flagName));
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [key, spec] of Object.entries(GLOBAL_OPTIONS as OptionSpecs)) {
    config[flagName(key)] = { type: spec.kind === 'flag' ? 'boolean' : 'string', ...(spec.short ? { short: spec.short } : {}) };
  }
  const { tokens } = parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional') return token.index;
    if (token.kind === 'option-terminator') return -1;
    if (!byFlag.has(token.name)) {
      if (argv.some((a) => a === '--help' || a === '-h')) return -1;
      throw new UsageError(`unknown option ${token.rawName}; a command's own options go after the command name`);
    }
  }
  return -1;
}

/**
 * Parse `argv` (everything but the command word) for `command`, or for the bare
 * `tincan` invocation when `command` is undefined. Help wins over version, which wins
 * over errors. Throws {@link UsageError}.
 */
export function parseCommandLine(
  command: AnyCommand | undefined,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParseResult {
  const own: OptionSpecs = command?.options ?? {};
  const specs: OptionSpecs = { ...own, ...GLOBAL_OPTIONS };
  const s = scan(argv, specs);
  if (s.flags.has('help')) return { kind: 'help' };
  if (s.flags.has('version')) return { kind: 'version', json: s.flags.has('json') };
  if (s.firstError) throw new UsageError(s.firstError);

  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) values[key] = convert(spec, key, s.values.get(key), s.flags.has(key));

  const positionalSpecs = command?.positionals ?? [];
  const positionals: Record<string, string> = {};
  for (const [i, p] of positionalSpecs.entries()) {
    const text = s.positionals[i];
    if (text === undefined) throw new UsageError(`missing ${p.name}`);
    try {
      positionals[p.name] = p.parse ? p.parse(text) : text;
    } catch (err) {
      throw new UsageError(`invalid ${p.name} ${JSON.stringify(text)}: ${(err as Error).message}`);
    }
  }
  if (s.positionals.length > positionalSpecs.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(s.positionals[positionalSpecs.length])}`);
  }

  for (const group of command?.groups ?? []) {
    const given = group.options.filter((k) => s.values.has(k) || s.flags.has(k));
    const names = group.options.map((k) => `--${flagName(k)}`).join(', ');
    if (given.length > 1) throw new UsageError(`use only one of ${names}`);
    if (group.required && given.length === 0) throw new UsageError(`use one of ${names}`);
  }

  const global: GlobalSettings = {
    home: resolveHome(values.home as string | undefined, env),
    json: values.json as boolean,
    logLevel: (s.values.has('logLevel') ? values.logLevel : command?.logLevel ?? values.logLevel) as GlobalSettings['logLevel'],
  };
  const options: Record<string, unknown> = {};
  for (const key of Object.keys(own)) options[key] = values[key];
  return { kind: 'run', args: { options: options as never, positionals, global } };
}
