/**
 * Supernode election on a real network: `tincan node --supernode auto` processes on a
 * public host, behind a full-cone NAT and behind a port-restricted NAT (nftables routers
 * in network namespaces), each bound to 0.0.0.0 and given one `tincan supernode` as seed.
 * Only the public one may be promoted: the supernode's dial-back from another port proves
 * it reachable, and the address the supernode sees is one of its own. The full-cone NAT
 * lets the dial-back through, so the node must notice the NAT by the address alone; the
 * port-restricted NAT drops the dial-back. Needs root (CI runs as root).
 *
 * `TINCAN_ELECTION` shortens the rounds (2 s instead of 60 s) and the uptime that earns
 * the full uptime share (4 s instead of 10 min), and fixes the CPU headroom at 100%: the
 * load average of a busy CI machine would otherwise keep the public node from qualifying
 * (or demote it, as it should on a machine that has no CPU to spare).
 *
 * Reproduce: `npm test -- netns/election` or `deno task test netns/election`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatLab, canUseNetns, type LabHost } from '../helpers/netns.ts';
import { type NetnsTincan, startTincanIn, untilOutput } from '../helpers/netns-tincan.ts';

const election = suite('netns: supernode election through real NATs');

let lab: NatLab;
let dir = '';

election.before(() => {
  assert.ok(canUseNetns(), 'network-namespace tests need root, iproute2 and nftables (CI installs them)');
  dir = mkdtempSync(join(tmpdir(), 'tincan-e2e-election-'));
  lab = new NatLab();
});
election.after(() => {
  lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Proc = NetnsTincan;

const ELECTION = JSON.stringify({ roundMs: 2000, fullUptimeMs: 4000, cpuHeadroom: 1 });

const start = (host: LabHost, label: string, args: string[]): Proc => startTincanIn(lab, host, { home: join(dir, label), env: { TINCAN_ELECTION: ELECTION } }, args);
const until = untilOutput;

interface Status {
  role: string;
  roleReason: string;
  score: number;
  reachable: boolean | undefined;
  supernodes: unknown[];
  counters: { promotions: number };
}

/** Ask a `--stdin-commands` node for its status (the next "status" JSON line). */
async function status(p: Proc): Promise<Status> {
  const before = p.out.length;
  p.child.stdin!.write('status\n');
  let found: Status | undefined;
  await until('status answer', p, () => {
    for (const line of p.out.slice(before).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const j = JSON.parse(line) as { status?: Status };
        if (j.status) found = j.status;
      } catch {
        // a partial line: wait for the rest
      }
    }
    return found !== undefined;
  }, 10_000);
  return found!;
}

election('a public auto node is promoted; nodes behind full-cone and port-restricted NATs are not', async () => {
  const snHost = lab.addPublicHost('sn');
  const pubHost = lab.addPublicHost('pub');
  const coneHost = lab.addSite('cone', 'full-cone');
  const portHost = lab.addSite('port', 'port-restricted');
  const sn = start(snHost, 'sn', ['supernode', '--listen', `${snHost.ip}:4000`, '--no-mdns']);
  await until('supernode up', sn, () => sn.out.includes('listening on'), 60_000);
  const auto = (host: LabHost, name: string) =>
    start(host, name, ['node', '--name', name, '--supernode', 'auto', '--listen', '0.0.0.0:4100', '--seed', `${snHost.ip}:4000`, '--no-mdns', '--stdin-commands']);
  const pub = auto(pubHost, 'pub');
  const cone = start(coneHost, 'cone', ['node', '--name', 'cone', '--supernode', 'auto', '--listen', '0.0.0.0:4100', '--seed', `${snHost.ip}:4000`, '--no-mdns', '--stdin-commands', '--log-level', 'debug']);
  const port = auto(portHost, 'port');
  const t0 = Date.now();
  await until('the public node promoted', pub, () => /role: supernode|"role":"supernode"|\(supernode\)/.test(pub.out + pub.err), 60_000);
  const promotedMs = Date.now() - t0;
  // Give the NATed nodes as many rounds again (at least 5 of 2 s) to get it wrong.
  await new Promise((r) => setTimeout(r, Math.max(10_000, promotedMs)));
  const [p, c, r] = [await status(pub), await status(cone), await status(port)];
  console.log(JSON.stringify({ promotedMs, pub: { role: p.role, reason: p.roleReason, score: p.score, reachable: p.reachable }, cone: { role: c.role, score: c.score, reachable: c.reachable }, port: { role: r.role, score: r.score, reachable: r.reachable } }));

  assert.is(p.role, 'supernode');
  assert.is(p.reachable, true);
  assert.match(p.roleReason, /too few supernodes/);
  assert.ok(p.score >= 75, `public node score ${p.score}`);
  for (const [label, s] of [['full-cone', c], ['port-restricted', r]] as const) {
    assert.is(s.role, 'leaf', `${label}: ${JSON.stringify(s)}`);
    assert.is(s.reachable, false, `${label}: reachable`);
    assert.is(s.score, 0, `${label}: score`);
    assert.is(s.counters.promotions, 0, `${label}: promotions`);
    // Still a working leaf: attached to the supernodes it knows (the seed, and the new one).
    assert.ok(s.supernodes.length >= 1, `${label}: attached to ${s.supernodes.length}`);
  }
  // The full-cone NAT kept the node's port (so the port check alone would have passed it,
  // and its filter lets a dial-back from any port through): the address check caught it.
  assert.ok(cone.err.includes('behind NAT: the address supernodes see is not one of ours'), cone.err.slice(-3000));
});

election.run();
