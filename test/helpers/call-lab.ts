/**
 * Pieces for call tests in a {@link NatLab}: a TURN/STUN supernode process in a public
 * namespace (supernodes/turn/serve.ts) and call leaves (test/call/media-leaf.script.ts)
 * in leaf namespaces, with coturn-style REST credentials.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mintTurnCredentials } from '../../supernodes/turn/credentials.ts';
import type { IceServer } from '../../src/call/media-session.ts';
import type { LabHost, NatLab } from './netns.ts';
import { scriptCommand } from './runtime.ts';
import { Leaf } from './media-leaf.ts';

/** The shared TURN secret of test supernodes. */
export const TEST_TURN_SECRET = 'tincan-test-secret';

/** A TURN/STUN server process running in a lab namespace. */
export interface LabTurn {
  host: LabHost;
  child: ChildProcess;
  /** `ip:port` it listens on. */
  address: string;
}

/**
 * Start supernodes/turn/serve.ts on `host` port 3478. The lab's public addresses are in
 * 198.18.0.0/15, which the TURN peer policy refuses (benchmarking range) and the server
 * has no allow-list option, so tests pass --allow-private-peers.
 */
export async function startLabTurn(lab: NatLab, host: LabHost, timeoutMs = 20_000): Promise<LabTurn> {
  const [cmd, args] = scriptCommand('supernodes/turn/serve.ts', [
    '--listen', `${host.ip}:3478`, '--secret', TEST_TURN_SECRET, '--relay-ip', host.ip, '--allow-private-peers',
  ]);
  const child = lab.spawn(host.ns, cmd, args);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`TURN server did not start: ${stderr}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const o = JSON.parse(line) as { listening?: string };
        if (o.listening) {
          clearTimeout(timer);
          resolve(o.listening);
        }
      } catch {
        // not ours
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`TURN server exited (${code}): ${stderr}`));
    });
  });
  return { host, child, address };
}

/** ICE servers for a leaf: STUN and TURN (REST credentials for `user`) of each supernode. */
export function labIceServers(turns: LabTurn[], user: string): IceServer[] {
  const out: IceServer[] = [];
  for (const t of turns) {
    const c = mintTurnCredentials({ secret: TEST_TURN_SECRET, user, now: Date.now(), ttlSeconds: 600 });
    out.push({ urls: `stun:${t.address}` });
    out.push({ urls: `turn:${t.address}?transport=udp`, username: c.username, credential: c.password });
  }
  return out;
}

/** Options of a leaf beyond where it runs. */
export interface LeafOptions {
  iceServers: IceServer[];
  wav: string;
  iceTransportPolicy?: 'all' | 'relay';
  deadAfterMs?: number;
  gatherTimeoutMs?: number;
  restart?: 'ice' | 'fresh';
  red?: 'auto' | 'off' | number;
}

/** Spawn a call leaf in `host`'s namespace. */
export function spawnLeaf(lab: NatLab, host: LabHost, name: string, o: LeafOptions): Leaf {
  const [cmd, args] = scriptCommand('test/call/media-leaf.script.ts', [JSON.stringify({ name, ...o })]);
  return new Leaf(name, lab.spawn(host.ns, cmd, args));
}
