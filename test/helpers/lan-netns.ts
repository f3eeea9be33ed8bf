/**
 * One Ethernet LAN of network namespaces, for tests of link-local traffic (mDNS): a
 * "switch" namespace holding a Linux bridge, and hosts joined to it by veth pairs on
 * 192.168.77.0/24 (addresses exist only inside these namespaces). Each host has a route
 * for 224.0.0.0/4 on its LAN link (and no default route), so multicast goes out there and
 * nothing else leaves the LAN. Needs root.
 */
import { execFileSync } from 'node:child_process';
import process from 'node:process';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A host on the LAN. */
export interface LanHost {
  ns: string;
  ip: string;
}

let counter = 0;

/** A disposable LAN; {@link close} deletes every namespace it made (and their links). */
export class Lan {
  readonly prefix: string;
  readonly subnet = '192.168.77';
  private namespaces: string[] = [];
  private hosts = 0;
  readonly switchNs: string;

  constructor() {
    this.prefix = `tl${process.pid % 100000}x${counter++}`;
    this.switchNs = this.addNs('sw');
    this.exec(this.switchNs, 'ip', ['link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    this.exec(this.switchNs, 'ip', ['link', 'set', 'br0', 'up']);
  }

  /** Run a command in a namespace and return its stdout. */
  exec(ns: string, cmd: string, args: string[]): string {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  private addNs(name: string): string {
    const ns = `${this.prefix}-${name}`;
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    this.exec(ns, 'ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A host at 192.168.77.(n+1)/24 on the bridge. */
  addHost(name: string): LanHost {
    const n = ++this.hosts;
    const ns = this.addNs(name);
    const ip = `${this.subnet}.${n + 1}`;
    const a = `${this.prefix}h${n}`.slice(0, 15);
    const b = `${this.prefix}p${n}`.slice(0, 15);
    sh('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    sh('ip', ['link', 'set', a, 'netns', ns]);
    sh('ip', ['link', 'set', b, 'netns', this.switchNs]);
    this.exec(ns, 'ip', ['link', 'set', a, 'name', 'eth0']);
    this.exec(ns, 'ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    this.exec(ns, 'ip', ['link', 'set', 'eth0', 'multicast', 'on', 'up']);
    this.exec(ns, 'ip', ['route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
    this.exec(this.switchNs, 'ip', ['link', 'set', b, 'master', 'br0']);
    this.exec(this.switchNs, 'ip', ['link', 'set', b, 'up']);
    return { ns, ip };
  }

  /** Delete every namespace this LAN created (veth pairs go with them). */
  close(): void {
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
