/**
 * A hostile mDNS responder for test/netns/mdns-discovery.test.ts: answers every query for
 * tincan's service with (1) a well-formed hint for its own address on a port where no
 * supernode listens, (2) a hint whose A record names another LAN address (spoofing),
 * (3) an oversized packet (a 20 KB TXT record). Prints "rogue ready" once listening.
 *
 * Usage: mdns-rogue.ts OWN_IP SPOOFED_IP
 */
import process from 'node:process';
import makeMdns from 'multicast-dns';

const [own = '', spoofed = ''] = process.argv.slice(2);
const SERVICE = '_tincan._udp.local';
const mdns = makeMdns();
let answered = 0;
mdns.on('error', (err) => console.error(String(err)));
mdns.on('warning', (err) => console.error(String(err)));
mdns.on('ready', () => console.log('rogue ready'));
mdns.on('query', (q) => {
  if (!q.questions.some((x) => x.name === SERVICE)) return;
  answered++;
  mdns.respond({
    answers: [
      { name: SERVICE, type: 'SRV', ttl: 120, data: { port: 4999, target: 'rogue.local', priority: 0, weight: 0 } },
      { name: SERVICE, type: 'SRV', ttl: 120, data: { port: 4000, target: 'spoof.local', priority: 0, weight: 0 } },
    ],
    additionals: [{ name: 'rogue.local', type: 'A', ttl: 120, data: own }, { name: 'spoof.local', type: 'A', ttl: 120, data: spoofed }],
  });
  mdns.respond({
    answers: [
      { name: SERVICE, type: 'SRV', ttl: 120, data: { port: 4998, target: 'huge.local', priority: 0, weight: 0 } },
      { name: SERVICE, type: 'TXT', ttl: 120, data: Array.from({ length: 80 }, () => 'x'.repeat(250)) },
    ],
  });
  console.log(`answered ${answered}`);
});
process.on('SIGTERM', () => {
  mdns.destroy();
  process.exit(0);
});
