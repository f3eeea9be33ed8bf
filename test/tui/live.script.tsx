/**
 * Driver for live.test.ts, run inside a loopback-only namespace: three TincanNodes in
 * this process (a supernode, the echo service, and "alice" with a tone for a microphone)
 * and the live terminal UI of alice rendered with ink-testing-library. Keys: `c`, "echo",
 * Enter (call), then `h` (hang up), then `q`. Prints one JSON line with the frames seen.
 */
import process from 'node:process';
import { render } from 'ink-testing-library';
import { RealClock } from '../../src/clock.ts';
import { SecureRandom } from '../../src/random.ts';
import { silentLogger } from '../../src/log.ts';
import { UdpNet } from '../../src/net/udp.ts';
import { Identity } from '../../src/identity/identity.ts';
import { TincanNode } from '../../src/node/tincan-node.ts';
import { LiveApp } from '../../tui/live.tsx';

const clock = new RealClock();
const random = new SecureRandom();
const log = silentLogger();
const make = (init: ConstructorParameters<typeof TincanNode>[1]) =>
  new TincanNode({ clock, random, net: new UdpNet(), log, identity: Identity.generate(random) }, init);
const overlay = (o: Record<string, unknown>) => ({ listen: { host: '127.0.0.1', port: 0 }, powDifficulty: 8, maxPerPrefix: 1000, hostCachePerPrefix: 200, ...o });
const loopback = { additionalHostAddresses: ['127.0.0.1'] };

const supernode = make({ overlay: overlay({ seeds: [], role: 'always' }), turn: { allowPrivatePeers: true }, ...loopback });
await supernode.start();
const seeds = [supernode.overlay.address!];
const echo = make({ overlay: overlay({ seeds, role: 'never', name: 'echo' }), echo: true, ...loopback });
const alice = make({ overlay: overlay({ seeds, role: 'never', name: 'alice' }), audio: { capture: { audio: 'tone', tone: 440 }, playback: { audio: 'null' } }, ...loopback });
await Promise.all([echo.start(), alice.start()]);

let quit = false;
alice.on('quit', () => (quit = true));
const ui = render(<LiveApp node={alice} clock={clock} refreshMs={100} />);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFrame(re: RegExp, ms: number): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const f = ui.lastFrame() ?? '';
    if (re.test(f)) return f;
    if (Date.now() - t0 > ms) throw new Error(`no frame matching ${re} within ${ms} ms; last:\n${f}`);
    await sleep(50);
  }
}

const frames: Record<string, string> = {};
let echoed = echo.echoStats();
try {
  frames.idle = await waitFrame(/press c to call/, 5000);
  await sleep(100);
  ui.stdin.write('c');
  await sleep(50);
  for (const ch of 'echo') {
    ui.stdin.write(ch);
    await sleep(30);
  }
  ui.stdin.write('\r');
  frames.active = await waitFrame(/echo\s+active/, 20_000);
  frames.stats = await waitFrame(/direct\s+rtt \d+ ms/, 10_000);
  // Let the echo service play some audio back before hanging up.
  for (let i = 0; i < 100 && echo.echoStats().echoed < 25; i++) await sleep(100);
  echoed = echo.echoStats();
  ui.stdin.write('h');
  frames.ended = await waitFrame(/echo\s+ended \(hangup/, 10_000);
  ui.stdin.write('q');
  await sleep(200);
} finally {
  ui.unmount();
  for (const n of [alice, echo, supernode]) await n.close();
}
console.log(JSON.stringify({ frames, quit, echoed }));
process.exit(0);
