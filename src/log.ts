/**
 * Structured logging. Logs always go to stderr (stdout is reserved for command output,
 * e.g. the single JSON object printed with `--json`).
 *
 * @module
 */
import { pino } from 'pino';

/** Log levels, most verbose first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

type LogFn = (objOrMsg: object | string, msg?: string) => void;

/** The subset of pino's logger that components use. */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger that adds `bindings` to every line (e.g. `{ component: 'dht' }`). */
  child(bindings: Record<string, unknown>): Logger;
}

/** A pino logger writing JSON lines to stderr (fd 2) synchronously. */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true })) as unknown as Logger;
}

/** A logger that discards everything (tests, simulation of many nodes). */
export function silentLogger(): Logger {
  const noop = () => {};
  const l: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => l };
  return l;
}

/**
 * A pino logger appending JSON lines to the file at `path` (created with its folder),
 * for when stderr belongs to the terminal UI.
 */
export function createFileLogger(path: string, level: LogLevel = 'info'): Logger {
  return pino({ level, base: undefined }, pino.destination({ dest: path, sync: true, mkdir: true })) as unknown as Logger;
}
