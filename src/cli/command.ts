/**
 * The shape of a subcommand. Each file in `commands/` exports one {@link Command} made
 * with {@link defineCommand}; `run.ts` parses the arguments against it, prints `--help`
 * from it, and calls `run` with typed values.
 *
 * @example
 * ```ts
 * export const lookup = defineCommand({
 *   name: 'lookup',
 *   summary: 'find the records published for a name',
 *   positionals: [{ name: 'NAME', help: 'display name to look up', parse: text(64) }],
 *   options: { seed: requiredRepeated('HOST:PORT', 'supernode to join through', hostPort()) },
 *   async run({ positionals, options }, ctx) {
 *     const records = await lookUp(positionals.NAME, options.seed, ctx);
 *     return success({ records }, records.map(formatRecord).join('\n'));
 *   },
 * });
 * ```
 * @module
 */
import type { Logger, LogLevel } from '../log.ts';
import type { CliIo } from './io.ts';
import type { GlobalSettings } from './global.ts';
import type { OptionSpecs, OptionValues } from './options.ts';
import type { Outcome } from './outcome.ts';

/** A positional argument (always required). */
export interface PositionalSpec {
  /** Placeholder, e.g. `NAME`; also the key in `args.positionals`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly help: string;
  /** Check/normalize the text; throw an Error saying what is expected. */
  readonly parse?: (text: string) => string;
}

/** Options that go together: at most one of them, or exactly one if `required`. */
export interface OptionGroup {
  /** Option keys (camelCase) in the group. */
  readonly options: readonly string[];
  /** true: exactly one must be given; false: at most one. */
  readonly required: boolean;
}

/** Typed, validated arguments handed to {@link Command.run}. */
export interface CommandArgs<O extends OptionSpecs, P extends readonly PositionalSpec[]> {
  readonly options: OptionValues<O>;
  readonly positionals: { readonly [K in P[number]['name']]: string };
  readonly global: GlobalSettings;
}

/** What a running command can use besides its arguments. */
export interface CommandContext {
  /** Output streams, env, clock and randomness (real or a test's). */
  readonly io: CliIo;
  /** Logger on stderr at `--log-level`, bound to `{ command }`. */
  readonly log: Logger;
}

/** A subcommand. */
export interface Command<O extends OptionSpecs = OptionSpecs, P extends readonly PositionalSpec[] = readonly PositionalSpec[]> {
  /** The word after `tincan`. */
  readonly name: string;
  /** One line for `tincan --help`. */
  readonly summary: string;
  /** Paragraph(s) for `tincan NAME --help`, after the usage line. */
  readonly description?: string;
  readonly positionals: P;
  /** The command's own options (global ones are added by the parser). */
  readonly options: O;
  readonly groups?: readonly OptionGroup[];
  /** Example invocations for `--help` (without the leading `tincan`). */
  readonly examples?: readonly string[];
  /** Log level when `--log-level` is not given (default `info`). */
  readonly logLevel?: LogLevel;
  /**
   * Do the work. Return an outcome; throwing is treated as a failure with the message.
   * Import heavy implementation modules inside `run` with `await import(...)`, so that
   * `tincan --help` and the other commands stay fast.
   */
  run(args: CommandArgs<O, P>, ctx: CommandContext): Promise<Outcome>;
}

/** A command of any option shape (for the registry). */
// deno-lint-ignore no-explicit-any
export type AnyCommand = Command<any, any>;

/** Identity function that infers option and positional types for {@link Command.run}. */
export function defineCommand<const O extends OptionSpecs, const P extends readonly PositionalSpec[]>(command: Command<O, P>): Command<O, P> {
  return command;
}
