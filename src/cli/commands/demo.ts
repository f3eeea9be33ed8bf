/**
 * `tincan demo`: the headless first-run check (what `npm start` runs without a terminal).
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { COMING } from '../common.ts';
import { notAvailable } from '../outcome.ts';

/** `tincan demo [--json]`. */
export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'headless: embedded supernode + echo service, a 5 s test call, then stats',
  description: 'Starts a supernode and the echo service on loopback, calls the echo service for 5 seconds\nand prints the call statistics (with --json, the same object as `tincan call --json`).',
  positionals: [],
  options: {},
  examples: ['demo', 'demo --json'],
  async run() {
    return notAvailable(COMING.demo);
  },
});
