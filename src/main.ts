/**
 * tincan entry point: parse the subcommand and dispatch to `cli/`.
 * @module
 */
import process from 'node:process';
import { runCli } from './cli/run.ts';

process.exitCode = await runCli(process.argv.slice(2));
