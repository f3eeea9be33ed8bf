import { setTimeout as sleep } from 'node:timers/promises';
import { UdpNet } from '../../src/net/udp.ts';
import { netCompliance } from './compliance.ts';

for (const host of ['127.0.0.1', '::1']) {
  netCompliance(`UdpNet ${host}`, async () => {
    const net = new UdpNet();
    return { a: net, b: net, bindHost: host, settle: () => sleep(10), close: async () => {} };
  });
}
