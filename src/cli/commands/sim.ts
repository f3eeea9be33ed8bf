/**
 * `tincan sim`: run the real overlay code on a simulated network.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { COMING } from '../common.ts';
import { required, withDefault } from '../options.ts';
import { notAvailable } from '../outcome.ts';
import { decimal, integer, positive } from '../values.ts';

/** `tincan sim --nodes N [--churn PER_HOUR] [--duration SIM_S] [--lookups N] [--rng SEED]`. */
export const simCommand = defineCommand({
  name: 'sim',
  summary: 'simulate a network of N nodes on a virtual clock and report lookup figures',
  description:
    'With --json, prints at least {nodes, supernodes, lookups, lookupSuccess, hopsP50, hopsP95,\nleafBytesPerSec, wallSeconds}. The same --rng gives the same run.',
  positionals: [],
  options: {
    nodes: required('N', 'number of simulated nodes', integer(2, 1_000_000)),
    churn: withDefault('PER_HOUR', 'sessions ending per node per hour (0: no churn)', decimal(0, 1000), 0),
    duration: withDefault('SIM_S', 'simulated time to run, in seconds', positive(30 * 86_400), 3600),
    lookups: withDefault('N', 'name lookups to perform', integer(0, 10_000_000), 1000),
    rng: withDefault('SEED', 'random seed (same seed, same run)', integer(0, 2 ** 32 - 1), 1),
  },
  examples: ['sim --nodes 2000 --churn 1 --duration 3600 --json'],
  async run() {
    return notAvailable(COMING.sim);
  },
});
