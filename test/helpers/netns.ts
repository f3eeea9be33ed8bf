/**
 * Real network topologies for tests: Linux network namespaces joined by veth pairs, with
 * NAT routers built from nftables. Needs root (CI runs as root).
 *
 * Topology built by {@link NatLab}: an "internet" router namespace on 198.18.0.0/15
 * (the benchmarking range, never routed outside), public hosts attached to it, and
 * private sites: a NAT router namespace (public side on the internet, private side
 * 10.N.0.1/24) with one host behind it at 10.N.0.2.
 *
 * NAT kinds (RFC 4787 terms):
 * - `full-cone`: endpoint-independent mapping and filtering;
 * - `address-restricted`: endpoint-independent mapping, address-dependent filtering;
 * - `port-restricted`: endpoint-independent mapping, address-and-port-dependent filtering;
 * - `symmetric`: address-and-port-dependent mapping (`masquerade fully-random`).
 * Every router drops unsolicited inbound traffic (policy drop), as real ones do, so early
 * hole punches leave no confirmed conntrack entries that would change a mapping.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import process from 'node:process';

/** The NAT behaviours a site can have. */
export type NatKind = 'none' | 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric';

/** All NAT kinds, in order of increasing strictness. */
export const NAT_KINDS: NatKind[] = ['none', 'full-cone', 'address-restricted', 'port-restricted', 'symmetric'];

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** True if this process can create network namespaces (root with iproute2 and nft). */
export function canUseNetns(): boolean {
  try {
    return process.getuid?.() === 0 && !!sh('ip', ['-V']) && !!sh('nft', ['--version']);
  } catch {
    return false;
  }
}

/** A host in the lab: a namespace with an address. */
export interface LabHost {
  ns: string;
  ip: string;
  /** For hosts behind a NAT: the NAT's public address. */
  publicIp: string;
  nat: NatKind;
}

let labCounter = 0;

/** A disposable set of namespaces; {@link close} removes everything it created. */
export class NatLab {
  readonly prefix: string;
  private namespaces: string[] = [];
  private children = new Set<ChildProcess>();
  private hostCount = 0;
  private siteCount = 0;
  readonly inet: string;

  constructor() {
    this.prefix = `tc${process.pid % 100000}x${labCounter++}`;
    this.inet = this.addNs('inet');
    this.exec(this.inet, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  }

  /** Run a command in a namespace and return its stdout. */
  exec(ns: string, cmd: string, args: string[], input?: string): string {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args], input);
  }

  /** Start a long-running process in a namespace; it is killed on {@link close}. */
  spawn(ns: string, cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  private addNs(name: string): string {
    const ns = `${this.prefix}-${name}`;
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    this.exec(ns, 'ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Connect namespace `a` (address `aCidr`) to `b` (address `bCidr`) with a veth pair. */
  private link(a: string, aIf: string, aCidr: string, b: string, bIf: string, bCidr: string): void {
    const tmpA = `${this.prefix}a${this.hostCount}${this.siteCount}`.slice(0, 15);
    const tmpB = `${this.prefix}b${this.hostCount}${this.siteCount}`.slice(0, 15);
    sh('ip', ['link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
    sh('ip', ['link', 'set', tmpA, 'netns', a]);
    sh('ip', ['link', 'set', tmpB, 'netns', b]);
    this.exec(a, 'ip', ['link', 'set', tmpA, 'name', aIf]);
    this.exec(b, 'ip', ['link', 'set', tmpB, 'name', bIf]);
    this.exec(a, 'ip', ['addr', 'add', aCidr, 'dev', aIf]);
    this.exec(b, 'ip', ['addr', 'add', bCidr, 'dev', bIf]);
    this.exec(a, 'ip', ['link', 'set', aIf, 'up']);
    this.exec(b, 'ip', ['link', 'set', bIf, 'up']);
  }

  /** A host with a public address directly on the internet. */
  addPublicHost(name: string): LabHost {
    const n = ++this.hostCount;
    const ns = this.addNs(name);
    const ip = `198.18.${n}.2`;
    this.link(this.inet, `h${n}`, `198.18.${n}.1/24`, ns, 'eth0', `${ip}/24`);
    this.exec(ns, 'ip', ['route', 'add', 'default', 'via', `198.18.${n}.1`]);
    return { ns, ip, publicIp: ip, nat: 'none' };
  }

  /**
   * A host behind its own NAT router of the given kind (`none` gives a public host).
   * `bindingTimeoutS` is how long an idle mapping/filter entry lives.
   */
  addSite(name: string, kind: NatKind, bindingTimeoutS = 120): LabHost {
    if (kind === 'none') return this.addPublicHost(name);
    const n = ++this.hostCount;
    const s = ++this.siteCount;
    const router = this.addNs(`${name}-nat`);
    const ns = this.addNs(name);
    const publicIp = `198.18.${n}.2`;
    const ip = `10.${s}.0.2`;
    this.link(this.inet, `h${n}`, `198.18.${n}.1/24`, router, 'pub', `${publicIp}/24`);
    this.link(router, 'priv', `10.${s}.0.1/24`, ns, 'eth0', `${ip}/24`);
    this.exec(router, 'ip', ['route', 'add', 'default', 'via', `198.18.${n}.1`]);
    this.exec(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    this.exec(router, 'sysctl', ['-qw', `net.netfilter.nf_conntrack_udp_timeout=${bindingTimeoutS}`]);
    this.exec(router, 'sysctl', ['-qw', `net.netfilter.nf_conntrack_udp_timeout_stream=${bindingTimeoutS}`]);
    this.exec(ns, 'ip', ['route', 'add', 'default', 'via', `10.${s}.0.1`]);
    this.exec(router, 'nft', ['-f', '-'], natRules(kind, publicIp, ip, bindingTimeoutS));
    return { ns, ip, publicIp, nat: kind };
  }

  /** Add random packet loss (0..1) on a host's outgoing and incoming traffic. */
  addLoss(host: LabHost, fraction: number): void {
    const pct = Math.round(fraction * 100);
    this.exec(host.ns, 'nft', ['-f', '-'], `
table inet tincan_loss {
  chain out { type filter hook output priority 0; policy accept; meta l4proto udp numgen random mod 100 < ${pct} drop; }
  chain in { type filter hook input priority 0; policy accept; meta l4proto udp numgen random mod 100 < ${pct} drop; }
}
`);
  }

  /** Kill children and delete every namespace this lab created. */
  close(): void {
    for (const child of this.children) child.kill('SIGKILL');
    this.children.clear();
    for (const ns of this.namespaces.reverse()) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    this.namespaces = [];
  }
}

/** nftables ruleset for a NAT router of `kind` in front of one private host. */
function natRules(kind: Exclude<NatKind, 'none'>, publicIp: string, hostIp: string, timeoutS: number): string {
  // Mapping: `snat to PUBLIC` keeps the host's source port when free, so the mapping is
  // endpoint-independent; `fully-random` picks a new port per destination (symmetric).
  const snat = kind === 'symmetric' ? 'masquerade fully-random' : `snat to ${publicIp}`;
  // Filtering beyond conntrack's own (address-and-port-dependent) rule:
  // full-cone admits anyone to a port the host has used; address-restricted admits any
  // port of an address the host has sent to.
  let sets = '';
  let learn = '';
  let admit = '';
  if (kind === 'full-cone') {
    sets = `set mapped { type inet_service; flags timeout; timeout ${timeoutS}s; size 4096; }`;
    learn = `iifname "priv" meta l4proto udp update @mapped { udp sport }`;
    admit = `iifname "pub" udp dport @mapped dnat to ${hostIp}`;
  } else if (kind === 'address-restricted') {
    sets = `set contacted { type ipv4_addr . inet_service; flags timeout; timeout ${timeoutS}s; size 4096; }`;
    learn = `iifname "priv" meta l4proto udp update @contacted { ip daddr . udp sport }`;
    admit = `iifname "pub" ip saddr . udp dport @contacted dnat to ${hostIp}`;
  }
  return `
table ip tincan_nat {
  ${sets}
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    ${admit}
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    oifname "pub" ${snat}
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ${learn}
    ct state established,related accept
    iifname "priv" oifname "pub" accept
    iifname "pub" ct status dnat accept
  }
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname "priv" accept
    iifname "lo" accept
  }
}
`;
}
