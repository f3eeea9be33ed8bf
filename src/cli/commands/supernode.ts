/**
 * `tincan supernode`: volunteer this machine as a supernode.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { COMING } from '../common.ts';
import { flag, optional, repeated, required, withDefault } from '../options.ts';
import { notAvailable } from '../outcome.ts';
import { hostPort, integer, nonEmpty } from '../values.ts';

/** `tincan supernode --listen HOST:PORT [...]`. */
export const supernodeCommand = defineCommand({
  name: 'supernode',
  summary: 'run a supernode: directory, signaling relay, STUN/TURN and stream fan-out',
  positionals: [],
  options: {
    listen: required('HOST:PORT', 'UDP address for overlay, STUN and TURN traffic', hostPort({ allowAnyPort: true })),
    http: optional('HOST:PORT', 'serve WHIP/WHEP over HTTP on this address', hostPort({ allowAnyPort: true })),
    turnSecret: optional('S', 'shared secret for TURN credentials (like coturn --use-auth-secret)', nonEmpty),
    budgetKbps: withDefault('N', 'upstream bandwidth to volunteer, in kbit/s', integer(1, 10_000_000), 1000),
    maxSessions: withDefault('N', 'most relayed sessions at once', integer(1, 100_000), 100),
    seed: repeated('HOST:PORT', 'another supernode to join', hostPort()),
    allowPrivatePeers: flag('let TURN relay to loopback/private addresses (tests only)'),
  },
  examples: ['supernode --listen 0.0.0.0:4000', 'supernode --listen 0.0.0.0:4001 --seed 203.0.113.7:4000 --budget-kbps 5000'],
  async run() {
    return notAvailable(COMING.supernode);
  },
});
