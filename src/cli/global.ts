/**
 * Options every command accepts: `--home`, `--json`, `--log-level`, `--help`,
 * `--version`, and where the home directory is when `--home` is not given.
 *
 * @module
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { LOG_LEVELS, type LogLevel } from '../log.ts';
import { flag, optional, withDefault } from './options.ts';
import { nonEmpty, oneOf } from './values.ts';

/** The global options (merged into every command's own). */
export const GLOBAL_OPTIONS = {
  home: optional('DIR', 'directory for the identity and state (default: $TINCAN_HOME or ~/.tincan)', nonEmpty),
  json: flag('print exactly one JSON object on stdout (logs stay on stderr)'),
  logLevel: withDefault('LEVEL', `log verbosity on stderr: ${LOG_LEVELS.join('|')}`, oneOf(LOG_LEVELS), 'info' as LogLevel),
  help: flag('show help and exit', 'h'),
  version: flag('print the version and exit'),
} as const;

/** Global settings a command runs with. */
export interface GlobalSettings {
  /** Absolute home directory. */
  readonly home: string;
  readonly json: boolean;
  readonly logLevel: LogLevel;
}

/**
 * `--home` if given, else `$TINCAN_HOME`, else `~/.tincan`; made absolute. A leading
 * `~/` is expanded (the shell does not expand it in `--home=~/x`).
 */
export function resolveHome(option: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const chosen = option ?? (env.TINCAN_HOME || undefined);
  if (chosen === undefined) return join(homedir(), '.tincan');
  if (chosen === '~') return homedir();
  if (chosen.startsWith('~/')) return join(homedir(), chosen.slice(2));
  return resolve(chosen);
}
