/**
 * The NAT lab behaves like the NATs it claims to be (RFC 4787 mapping and filtering),
 * checked with real UDP between network namespaces. The call NAT matrix relies on this.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NAT_KINDS, NatLab, canUseNetns, type LabHost, type NatKind } from '../helpers/netns.ts';
import { UdpAgent } from '../helpers/udp-agent-client.ts';
import { scriptCommand } from '../helpers/runtime.ts';

const lab = suite('netns NAT lab');

let nat: NatLab;
const agents = new Map<string, UdpAgent>();
const hosts = new Map<string, LabHost>();

function agent(host: LabHost): UdpAgent {
  const [cmd, args] = scriptCommand('test/helpers/udp-agent.ts');
  const a = new UdpAgent(nat.spawn(host.ns, cmd, args));
  agents.set(host.ns, a);
  return a;
}

lab.before(() => {
  assert.ok(canUseNetns(), 'network-namespace tests need root, iproute2 and nftables (CI installs them)');
  nat = new NatLab();
  hosts.set('r1', nat.addPublicHost('r1'));
  hosts.set('r2', nat.addPublicHost('r2'));
  for (const kind of NAT_KINDS) hosts.set(kind, nat.addSite(kind.slice(0, 6), kind));
});

lab.after(() => {
  for (const a of agents.values()) a.close();
  nat?.close();
});

const expected: Record<NatKind, { sameMapping: boolean; otherPort: boolean; otherAddress: boolean; unsolicited: boolean }> = {
  none: { sameMapping: true, otherPort: true, otherAddress: true, unsolicited: true },
  'full-cone': { sameMapping: true, otherPort: true, otherAddress: true, unsolicited: false },
  'address-restricted': { sameMapping: true, otherPort: true, otherAddress: false, unsolicited: false },
  'port-restricted': { sameMapping: true, otherPort: false, otherAddress: false, unsolicited: false },
  symmetric: { sameMapping: false, otherPort: false, otherAddress: false, unsolicited: false },
};

lab('mapping and filtering of every NAT kind', async () => {
  const r1 = agent(hosts.get('r1')!);
  const r2 = agent(hosts.get('r2')!);
  for (const p of [1000, 2000, 3000]) await r1.bind(p);
  await r2.bind(1000);
  await r1.reflect(1000);
  await r1.reflect(2000);
  const r1ip = hosts.get('r1')!.ip;
  const r2ip = hosts.get('r2')!.ip;
  const table: string[] = [];
  for (const kind of NAT_KINDS) {
    const host = hosts.get(kind)!;
    const leaf = agent(host);
    await leaf.bind(5000);
    const want = expected[kind];

    r1.send(3000, `${host.publicIp}:5000`, `unsolicited-${kind}`);
    const unsolicited = !!(await leaf.received(`unsolicited-${kind}`, 300));

    leaf.send(5000, `${r1ip}:1000`, `m1-${kind}`);
    const m1 = (await leaf.waitFor((e) => e.event === 'recv' && e.from === `${r1ip}:1000`))?.data;
    leaf.send(5000, `${r1ip}:2000`, `m2-${kind}`);
    const m2 = (await leaf.waitFor((e) => e.event === 'recv' && e.from === `${r1ip}:2000`))?.data;
    assert.ok(m1 && m2, `${kind}: reflector answered`);
    assert.ok(m1!.startsWith(host.publicIp + ':'), `${kind}: mapped to the public address (${m1})`);

    r1.send(3000, m1!, `port-${kind}`);
    const otherPort = !!(await leaf.received(`port-${kind}`, 400));
    r2.send(1000, m1!, `addr-${kind}`);
    const otherAddress = !!(await leaf.received(`addr-${kind}`, 400));
    const got = { sameMapping: m1 === m2, otherPort, otherAddress, unsolicited };
    table.push(`${kind.padEnd(19)} ${JSON.stringify(got)}`);
    assert.equal(got, want, `${kind} behaves as specified`);
  }
  console.log('\n' + table.join('\n'));
});

lab.run();
