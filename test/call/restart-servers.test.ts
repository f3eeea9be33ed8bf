import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { relayHostsIn, serversForRestart } from '../../src/call/restart-servers.ts';

const s = suite('call/restart-servers');

const pair = (host: string) => [{ urls: `stun:${host}:4000` }, { urls: `turn:${host}:4000?transport=udp`, username: 'u', credential: 'c' }];
const servers = [...pair('198.18.1.2'), ...pair('198.18.2.2'), ...pair('198.18.3.2')];
const hosts = (list: { urls: string }[]) => list.map((x) => /:(\d+\.\d+\.\d+\.\d+):/.exec(x.urls)![1]);

s('the relays the peer dropped from its restart offer are left out, not our own live relay', () => {
  const r = serversForRestart(servers, { peerDropped: ['198.18.1.2'], lastRelayHost: '198.18.2.2', retry: 0 });
  assert.equal(r.dead, ['198.18.1.2']);
  assert.equal(hosts(r.servers), ['198.18.2.2', '198.18.2.2', '198.18.3.2', '198.18.3.2']);
});

s('without a clue from the peer, the relay of our last path is left out', () => {
  const r = serversForRestart(servers, { peerDropped: [], lastRelayHost: '198.18.2.2', retry: 0 });
  assert.equal(r.dead, ['198.18.2.2']);
  assert.equal(hosts(r.servers), ['198.18.1.2', '198.18.1.2', '198.18.3.2', '198.18.3.2']);
});

s('a second restart before media came back rotates instead of guessing again; so does an unrelayed path', () => {
  const first = serversForRestart(servers, { peerDropped: [], lastRelayHost: '198.18.2.2', retry: 1 });
  assert.equal(first.dead, []);
  assert.equal(hosts(first.servers).slice(0, 2), ['198.18.2.2', '198.18.2.2'], 'the host guessed dead first time gets its turn');
  const second = serversForRestart(servers, { peerDropped: [], lastRelayHost: '198.18.2.2', retry: 2 });
  assert.equal(hosts(second.servers)[0], '198.18.3.2');
  const direct = serversForRestart(servers, { peerDropped: [], lastRelayHost: undefined, retry: 0 });
  assert.equal(hosts(direct.servers)[0], '198.18.2.2');
  assert.equal(direct.servers.length, servers.length);
  assert.equal(serversForRestart([], { peerDropped: ['x'], lastRelayHost: 'y', retry: 0 }).servers, []);
});

s('if every server would be left out, the list is kept (rotated)', () => {
  const one = pair('198.18.1.2');
  const r = serversForRestart(one, { peerDropped: ['198.18.1.2'], lastRelayHost: undefined, retry: 0 });
  assert.equal(r.servers.length, 2);
});

s('relay hosts are read from the candidate lines of an SDP', () => {
  const sdp = [
    'v=0',
    'a=candidate:1 1 udp 2130706431 10.0.0.2 50000 typ host',
    'a=candidate:2 1 udp 1694498815 203.0.113.9 40000 typ srflx raddr 10.0.0.2 rport 50000',
    'a=candidate:3 1 udp 16777215 198.18.1.2 49606 typ relay raddr 203.0.113.9 rport 40000',
    'a=candidate:4 1 udp 16777215 198.18.1.2 49607 typ relay raddr 203.0.113.9 rport 40001',
    'a=candidate:5 1 udp 16777215 198.18.2.2 50123 typ relay raddr 203.0.113.9 rport 40002',
  ].join('\r\n');
  assert.equal(relayHostsIn(sdp), ['198.18.1.2', '198.18.2.2']);
  assert.equal(relayHostsIn('v=0\r\n'), []);
});

s.run();
