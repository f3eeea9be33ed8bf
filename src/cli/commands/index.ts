/**
 * Every subcommand, in the order `tincan --help` lists them (DESIGN.md's order).
 *
 * @module
 */
import type { AnyCommand } from '../command.ts';
import { answerCommand } from './answer.ts';
import { callCommand } from './call.ts';
import { demoCommand } from './demo.ts';
import { echoCommand } from './echo.ts';
import { idCommand } from './id.ts';
import { listenCommand } from './listen.ts';
import { lookupCommand } from './lookup.ts';
import { nodeCommand } from './node.ts';
import { searchCommand } from './search.ts';
import { simCommand } from './sim.ts';
import { streamCommand } from './stream.ts';
import { supernodeCommand } from './supernode.ts';

/** All subcommands. */
export const COMMANDS: readonly AnyCommand[] = [
  demoCommand,
  idCommand,
  supernodeCommand,
  nodeCommand,
  callCommand,
  answerCommand,
  echoCommand,
  streamCommand,
  listenCommand,
  lookupCommand,
  searchCommand,
  simCommand,
];

/** The subcommand called `name`, if any. */
export function findCommand(name: string): AnyCommand | undefined {
  return COMMANDS.find((c) => c.name === name);
}
