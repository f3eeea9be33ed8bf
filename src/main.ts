/**
 * tincan entry point: parse the subcommand and dispatch to `cli/`.
 * @module
 */
import process from 'node:process';
import { runCli } from './cli/run.ts';

const code = await runCli(process.argv.slice(2));

/** Resolves once everything written so far to `stream` has been handed to the OS. */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}

// The command has closed everything it opened, but a library may still hold a timer it
// cannot cancel (werift's TURN refresh loop sleeps 5/6 of the allocation lifetime, up to
// 500 s, without an abort signal): exit as soon as our output is out instead of waiting.
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit(code);
