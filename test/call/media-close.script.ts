/**
 * Closing a MediaSession while its offer is still being made (run inside a loopback-only
 * namespace by media-session.test.ts): as `TincanNode.dial` does when the name lookup
 * fails at once. Prints one JSON line: how many UDP sockets were open before, while
 * offers were in progress, and after every session closed, how many allocations the TURN
 * server still holds (each closed session must have released its own), and how each
 * offer ended.
 */
import process from 'node:process';
import { MediaSession } from '../../src/call/media-session.ts';
import { RealClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { SeededRandom } from '../../src/random.ts';
import { UdpNet } from '../../src/net/udp.ts';
import { startStandaloneTurn } from '../../supernodes/turn/standalone.ts';
import { mintTurnCredentials } from '../../supernodes/turn/credentials.ts';

const udpSockets = () => process.getActiveResourcesInfo().filter((r) => /udp/i.test(r)).length;
const clock = new RealClock();
const log = silentLogger();
// With STUN and TURN servers, as a node's calls have: gathering allocates a relay.
const turn = await startStandaloneTurn({ env: { clock, random: new SeededRandom(3), net: new UdpNet(), log }, listen: { host: '127.0.0.1', port: 0 }, secret: 's', realm: 'tincan.test', relayHost: '127.0.0.1', allowPrivatePeers: true });
const creds = mintTurnCredentials({ secret: 's', user: 'close-test', now: Date.now() });
const server = `127.0.0.1:${turn.address.port}`;
const init = { iceServers: [{ urls: `stun:${server}` }, { urls: `turn:${server}`, username: creds.username, credential: creds.password }], additionalHostAddresses: ['127.0.0.1'] };
const before = udpSockets();
let during = 0;
const outcomes: string[] = [];
for (const delayMs of (process.env.DELAYS ?? "0,1,5,10,20,40").split(",").map(Number)) {
  const s = new MediaSession({ clock, log }, init);
  const offered = s.offer().then(() => 'offered', (e: Error) => e.message);
  await new Promise((r) => setTimeout(r, delayMs));
  during = Math.max(during, udpSockets());
  await s.close();
  outcomes.push(await offered);
}
// Another turn of the loop for anything closing asynchronously.
await new Promise((r) => setTimeout(r, 200));
const after = udpSockets();
const serverRelays = turn.server.stats().allocations;
turn.close();
console.log(JSON.stringify({ before, during, after, serverRelays, outcomes }));
process.exit(0);
