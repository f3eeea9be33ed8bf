/**
 * Process entry for a standalone TURN server (used by bench/turn.bench.ts and the
 * interop tests so the server's CPU is measured in its own process):
 *
 *   node --import tsx supernodes/turn/serve.ts --listen 127.0.0.1:3478 --secret S
 *        [--realm R] [--relay-ip 127.0.0.1] [--allow-private-peers]
 *        [--allowed-peer-cidr 10.1.0.0/16]...
 *        [--user-quota N] [--total-quota N] [--no-hairpin]
 *
 * Prints one JSON line `{"listening":"host:port"}` on stdout when ready; on SIGTERM,
 * SIGINT or stdin closing it prints `{"stats":{...}}` and exits 0.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import process from 'node:process';
import { realEnv } from '../../src/env.ts';
import { formatAddress, parseAddress } from '../../src/net/net.ts';
import { startStandaloneTurn } from './standalone.ts';

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: '127.0.0.1:3478' },
    secret: { type: 'string' },
    realm: { type: 'string', default: 'tincan' },
    'relay-ip': { type: 'string', default: '127.0.0.1' },
    'allow-private-peers': { type: 'boolean', default: false },
    'allowed-peer-cidr': { type: 'string', multiple: true, default: [] },
    'no-hairpin': { type: 'boolean', default: false },
    'user-quota': { type: 'string', default: '10' },
    'total-quota': { type: 'string', default: '1000' },
  },
});
if (!values.secret) {
  console.error('serve: --secret is required');
  process.exit(2);
}
const env = realEnv({ logLevel: 'warn' });
const listen = parseAddress(values.listen);
const turn = await startStandaloneTurn({
  env,
  listen,
  secret: values.secret,
  realm: values.realm,
  relayHost: values['relay-ip'],
  allowPrivatePeers: values['allow-private-peers'],
  allowedPeerCidrs: values['allowed-peer-cidr'],
  hairpin: !values['no-hairpin'],
  userQuota: Number(values['user-quota']),
  totalQuota: Number(values['total-quota']),
});
console.log(JSON.stringify({ listening: formatAddress(turn.address) }));

let done = false;
const stop = () => {
  if (done) return;
  done = true;
  const stats = turn.server.stats();
  turn.close();
  console.log(JSON.stringify({ stats }));
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
