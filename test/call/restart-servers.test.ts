import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { iceServerHost, relayHostsIn, serversForRestart } from '../../src/call/restart-servers.ts';

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

s('a second restart before media came back rotates instead of guessing again; a first one without a clue keeps the order', () => {
  const first = serversForRestart(servers, { peerDropped: [], lastRelayHost: '198.18.2.2', retry: 1 });
  assert.equal(first.dead, []);
  assert.equal(hosts(first.servers).slice(0, 2), ['198.18.2.2', '198.18.2.2'], 'the host guessed dead first time gets its turn');
  const second = serversForRestart(servers, { peerDropped: [], lastRelayHost: '198.18.2.2', retry: 2 });
  assert.equal(hosts(second.servers)[0], '198.18.3.2');
  const noClue = serversForRestart(servers, { peerDropped: [], lastRelayHost: undefined, retry: 0 });
  assert.equal(noClue.servers, servers, 'without a clue the first restart keeps the order');
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

s('servers listed TURN first then STUN (as a node lists them) keep each supernode together: the first TURN and the first STUN change', () => {
  const turn = (host: string) => ({ urls: `turn:${host}:4000?transport=udp`, username: 'u', credential: 'c' });
  const stun = (host: string) => ({ urls: `stun:${host}:4000` });
  const nodeOrder = [turn('198.18.1.2'), turn('198.18.2.2'), stun('198.18.1.2'), stun('198.18.2.2')];
  const firstOf = (list: { urls: string }[], scheme: string) => hosts(list.filter((x) => x.urls.startsWith(scheme)))[0];
  const guessed = serversForRestart(nodeOrder, { peerDropped: [], lastRelayHost: '198.18.1.2', retry: 0 });
  assert.equal([firstOf(guessed.servers, 'turn'), firstOf(guessed.servers, 'stun')], ['198.18.2.2', '198.18.2.2']);
  for (const retry of [1, 3]) {
    const r = serversForRestart(nodeOrder, { peerDropped: [], lastRelayHost: undefined, retry });
    assert.equal([firstOf(r.servers, 'turn'), firstOf(r.servers, 'stun')], ['198.18.2.2', '198.18.2.2'], `retry ${retry}`);
  }
  const back = serversForRestart(nodeOrder, { peerDropped: [], lastRelayHost: undefined, retry: 2 });
  assert.equal([firstOf(back.servers, 'turn'), firstOf(back.servers, 'stun')], ['198.18.1.2', '198.18.1.2']);
});

s('a relay the peer saw die that is not one of ours leaves our order as it was', () => {
  const r = serversForRestart(servers, { peerDropped: ['198.18.9.2'], lastRelayHost: '198.18.2.2', retry: 0 });
  assert.equal(r.dead, []);
  assert.equal(r.servers, servers);
});

s('the host of a STUN or TURN URL, IPv4, IPv6 or a name, with or without port and query', () => {
  assert.is(iceServerHost('turn:198.18.1.2:4000?transport=udp'), '198.18.1.2');
  assert.is(iceServerHost('stun:198.18.1.2:4000'), '198.18.1.2');
  assert.is(iceServerHost('turn:[2001:db8::2]:3478?transport=udp'), '2001:db8::2');
  assert.is(iceServerHost('stun:[::1]:3478'), '::1');
  assert.is(iceServerHost('stun:stun.example.org'), 'stun.example.org');
  assert.is(iceServerHost('http://x'), undefined);
});

s.run();
