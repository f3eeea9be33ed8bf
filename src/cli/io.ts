/**
 * The command line's connection to the outside: output streams, terminal detection,
 * environment variables, and the clock/randomness/log a command uses. `runCli` builds
 * the real one; tests pass their own to capture output.
 *
 * @module
 */
import process from 'node:process';
import { type Clock, RealClock } from '../clock.ts';
import { type Random, SecureRandom } from '../random.ts';
import { type Logger, type LogLevel, createLogger } from '../log.ts';

/** Where output goes and what the process sees. */
export interface CliIo {
  /** Write to stdout (command output, the `--json` object). */
  stdout(text: string): void;
  /** Write to stderr (errors, notes). Logs go to stderr too, through `logger`. */
  stderr(text: string): void;
  /** True when both stdin and stdout are terminals. */
  readonly isTTY: boolean;
  /** Environment variables (for `$TINCAN_HOME`, `$HOME`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clock: Clock;
  readonly random: Random;
  /** Make the logger for a level (pino on stderr by default). */
  logger(level: LogLevel): Logger;
}

/** The real process: stdout/stderr, process.env, wall clock, CSPRNG, pino on stderr. */
export function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    isTTY: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    env: process.env,
    clock: new RealClock(),
    random: new SecureRandom(),
    logger: createLogger,
  };
}
