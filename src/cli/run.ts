/**
 * The dispatcher: finds the subcommand, parses its arguments, runs it and prints the
 * outcome. Exit codes: 0 success, 1 failure (including "not available yet"), 2 bad usage.
 *
 * Output rules (DESIGN.md, Command line): results on stdout; errors on stderr as one
 * line `tincan CMD: MESSAGE`; logs on stderr; with `--json`, exactly one JSON object on
 * stdout whatever happens (`{"ok":false,"error":...}` on failure).
 *
 * @module
 */
import type { AnyCommand } from './command.ts';
import { COMMANDS, findCommand } from './commands/index.ts';
import { demoCommand } from './commands/demo.ts';
import { commandHelp, mainHelp } from './help.ts';
import { type CliIo, processIo } from './io.ts';
import { EXIT_OK, EXIT_USAGE, type Outcome, failure, oneLine } from './outcome.ts';
import { UsageError, findCommandIndex, parseCommandLine } from './parse.ts';
import { packageVersion } from './version.ts';

/** True if `--json` appears among the options (before any `--`). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

function printJson(io: CliIo, value: Record<string, unknown>): void {
  io.stdout(`${JSON.stringify(value)}\n`);
}

function reportUsage(io: CliIo, label: string, err: UsageError, json: boolean): number {
  const message = oneLine(err.message);
  io.stderr(`${label}: ${message} (see ${label} --help)\n`);
  if (json) printJson(io, { ok: false, error: message });
  return EXIT_USAGE;
}

function printVersion(io: CliIo, json: boolean): number {
  if (json) printJson(io, { ok: true, version: packageVersion() });
  else io.stdout(`tincan ${packageVersion()}\n`);
  return EXIT_OK;
}

function printOutcome(io: CliIo, label: string, outcome: Outcome, json: boolean): number {
  if (outcome.ok) {
    if (json) printJson(io, { ok: true, ...outcome.json });
    else if (outcome.text) io.stdout(outcome.text.endsWith('\n') ? outcome.text : `${outcome.text}\n`);
    return EXIT_OK;
  }
  io.stderr(`${label}: ${outcome.error}\n`);
  if (json) printJson(io, { ...outcome.json, ok: false, error: outcome.error });
  return outcome.exitCode;
}

/** Parse `argv` for `command` and run it. */
async function runCommand(command: AnyCommand, argv: readonly string[], io: CliIo): Promise<number> {
  const label = `tincan ${command.name}`;
  const json = wantsJson(argv);
  let parsed;
  try {
    parsed = parseCommandLine(command, argv, io.env);
  } catch (err) {
    if (err instanceof UsageError) return reportUsage(io, label, err, json);
    throw err;
  }
  if (parsed.kind === 'help') {
    io.stdout(commandHelp(command));
    return EXIT_OK;
  }
  if (parsed.kind === 'version') return printVersion(io, parsed.json);
  const { args } = parsed;
  const log = io.logger(args.global.logLevel).child({ command: command.name });
  let outcome: Outcome;
  try {
    outcome = await command.run(args, { io, log });
  } catch (err) {
    log.debug({ err }, 'command failed');
    outcome = failure(err instanceof Error ? err.message : String(err));
  }
  return printOutcome(io, label, outcome, args.global.json);
}

/** `tincan` with no subcommand: the terminal UI on a terminal, else `tincan demo`. */
async function runBare(argv: readonly string[], io: CliIo): Promise<number> {
  const json = wantsJson(argv);
  let parsed;
  try {
    parsed = parseCommandLine(undefined, argv, io.env);
  } catch (err) {
    if (err instanceof UsageError) return reportUsage(io, 'tincan', err, json);
    throw err;
  }
  if (parsed.kind === 'help') {
    io.stdout(mainHelp(COMMANDS, packageVersion()));
    return EXIT_OK;
  }
  if (parsed.kind === 'version') return printVersion(io, parsed.json);
  if (io.isTTY) {
    const { uiCommand } = await import('./commands/terminal-ui.ts');
    return runCommand(uiCommand, argv, io);
  }
  io.stderr('tincan: stdin/stdout is not a terminal, running `tincan demo`\n');
  return runCommand(demoCommand, argv, io);
}

/**
 * Run the command line `argv` (without the runtime and script name) and return the
 * process exit code. `io` defaults to the real process; tests pass their own.
 */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  let index: number;
  try {
    index = findCommandIndex(argv);
  } catch (err) {
    if (err instanceof UsageError) return reportUsage(io, 'tincan', err, wantsJson(argv));
    throw err;
  }
  if (index < 0) return runBare(argv, io);
  const name = argv[index]!;
  const command = findCommand(name);
  if (!command) return reportUsage(io, 'tincan', new UsageError(`unknown command ${JSON.stringify(name)}`), wantsJson(argv));
  return runCommand(command, [...argv.slice(0, index), ...argv.slice(index + 1)], io);
}
