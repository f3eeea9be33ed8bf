/**
 * Prometheus metrics (src/control/metrics.ts, metrics-server.ts): a scrape of real
 * TincanNodes on 127.0.0.1 carries their live values under documented `tincan_` names
 * in a per-node registry; calls and TURN figures map to the right series; the HTTP
 * server answers only GET /metrics and stays bounded (bodies refused, connection cap,
 * slow headers cut off).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { register as globalRegistry } from 'prom-client';
import { type MetricsSource, NodeMetrics } from '../../src/control/metrics.ts';
import { MetricsServer } from '../../src/control/metrics-server.ts';
import type { TurnStats } from '../../supernodes/turn/server.ts';
import { clock, startWorld, waitFor, type World } from './control-world.ts';

/** The value of the sample `series` (name with its labels exactly as printed), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

let world: World | undefined;

const m = suite('metrics: what a scrape of a running node says');
m.before(async () => {
  world = await startWorld();
});

m('a leaf and a supernode report their overlay state and counters', async () => {
  const w = world!;
  const leaf = new NodeMetrics(w.alice);
  const sn = new NodeMetrics(w.supernode);
  await w.alice.overlay.lookup('bob');
  const a = await leaf.scrape();
  const snap = w.alice.overlay.snapshot();
  assert.is(sample(a, 'tincan_overlay_attached_supernodes'), 1);
  assert.is(sample(a, 'tincan_overlay_role{role="leaf"}'), 1);
  assert.is(sample(a, 'tincan_overlay_role{role="supernode"}'), 0);
  assert.is(sample(a, `tincan_node_info{id="${snap.id}",user_key="${snap.userKey}"}`), 1);
  assert.is(sample(a, 'tincan_overlay_lookups_total'), snap.counters.lookups);
  assert.ok(snap.counters.lookups >= 1);
  assert.is(sample(a, 'tincan_overlay_attaches_total'), snap.counters.attaches);
  assert.is(sample(a, 'tincan_overlay_sessions'), snap.sessions);
  assert.is(sample(a, 'tincan_overlay_host_cache_size'), snap.hostCache);
  assert.is(sample(a, 'tincan_turn_enabled'), 0, 'a role-never leaf runs no TURN');
  assert.is(sample(a, 'tincan_turn_allocations'), undefined);
  assert.is(sample(a, 'tincan_calls_active'), 0);
  assert.is(sample(a, 'tincan_calls{state="active"}'), 0);
  assert.is(sample(a, 'tincan_lan_discovery_enabled'), 0);
  const rtt = sample(a, `tincan_overlay_supernode_rtt_seconds{supernode="${w.supernode.overlay.id.slice(0, 16)}"}`);
  if (snap.supernodes[0]!.rttMs !== undefined) assert.ok(rtt !== undefined && rtt >= 0 && rtt < 5, `rtt ${rtt}`);
  // A value changes between scrapes: read on scrape, not cached.
  await w.alice.overlay.lookup('bob');
  assert.is(sample(await leaf.scrape(), 'tincan_overlay_lookups_total'), snap.counters.lookups + 1);

  const s = await sn.scrape();
  const ss = w.supernode.overlay.snapshot();
  assert.is(sample(s, 'tincan_overlay_role{role="supernode"}'), 1);
  assert.is(sample(s, 'tincan_overlay_leaves'), 2);
  assert.is(sample(s, 'tincan_overlay_stored_records'), ss.storedRecords);
  assert.ok(ss.storedRecords >= 2);
  assert.is(sample(s, 'tincan_overlay_leaves_accepted_total'), ss.counters.leavesAccepted);
  assert.is(sample(s, 'tincan_turn_enabled'), 1);
  assert.is(sample(s, 'tincan_turn_allocations'), w.supernode.turn!.stats().allocations);
  // Process metrics under their standard names.
  assert.ok((sample(s, 'process_cpu_seconds_total') ?? -1) > 0);
  assert.ok(/^nodejs_heap_size_used_bytes \d/m.test(s));
});

m('every tincan_ metric has HELP and TYPE; names are tincan_, process_ or nodejs_; _total is a counter', async () => {
  const text = await new NodeMetrics(world!.supernode).scrape();
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  for (const line of text.split('\n')) {
    const h = /^# HELP (\S+) (.*)$/.exec(line);
    if (h) help.set(h[1]!, h[2]!);
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) type.set(t[1]!, t[2]!);
  }
  const ours = [...type.keys()].filter((n) => n.startsWith('tincan_'));
  assert.ok(ours.length >= 40, `${ours.length} tincan_ metrics`);
  for (const name of type.keys()) assert.ok(/^(tincan|process|nodejs)_/.test(name), name);
  for (const name of ours) {
    assert.ok((help.get(name) ?? '').length >= 10, `HELP of ${name}: ${help.get(name)}`);
    if (name.endsWith('_total')) assert.is(type.get(name), 'counter', name);
    else assert.is(type.get(name), 'gauge', name);
  }
});

m('registries are per node: two nodes do not collide and the global registry stays empty of ours', async () => {
  const a = new NodeMetrics(world!.alice);
  const b = new NodeMetrics(world!.bob);
  const [ta, tb] = await Promise.all([a.scrape(), b.scrape()]);
  assert.ok(ta.includes(`id="${world!.alice.overlay.id}"`));
  assert.ok(tb.includes(`id="${world!.bob.overlay.id}"`));
  assert.not.ok(ta.includes(`id="${world!.bob.overlay.id}"`));
  assert.not.ok((await globalRegistry.metrics()).includes('tincan_'));
});

m('calls: counts by state, and per active call its path and media figures', async () => {
  const call = (callId: string, state: string) => ({ callId, state, direction: 'outgoing', remoteKey: 'ab', createdAt: 0 }) as never;
  const source: MetricsSource = {
    overlay: world!.alice.overlay,
    snapshot: () => ({
      calls: [call('a'.repeat(32), 'active'), call('b'.repeat(32), 'ended'), call('c'.repeat(32), 'dialing')],
      media: {
        ['a'.repeat(32)]: { path: 'relay', rttMs: 42, jitterMs: 3, lossPct: 1.5, bitrateKbps: 32, mos: 4.1 },
        ['b'.repeat(32)]: { path: 'direct', rttMs: 10 },
      },
    }),
  };
  const text = await new NodeMetrics(source, { processMetrics: false }).scrape();
  const a = 'call="aaaaaaaaaaaaaaaa",path="relay"';
  assert.is(sample(text, 'tincan_calls{state="active"}'), 1);
  assert.is(sample(text, 'tincan_calls{state="ended"}'), 1);
  assert.is(sample(text, 'tincan_calls{state="dialing"}'), 1);
  assert.is(sample(text, 'tincan_calls_active'), 2);
  assert.is(sample(text, `tincan_call_rtt_seconds{${a}}`), 0.042);
  assert.is(sample(text, `tincan_call_jitter_seconds{${a}}`), 0.003);
  assert.is(sample(text, `tincan_call_loss_ratio{${a}}`), 0.015);
  assert.is(sample(text, `tincan_call_send_bitrate_bits_per_second{${a}}`), 32000);
  assert.is(sample(text, `tincan_call_mos{${a}}`), 4.1);
  assert.not.ok(text.includes('call="bbbbbbbbbbbbbbbb"'), 'ended calls have no per-call series');
  assert.not.ok(text.includes('process_cpu'), 'process metrics off');
});

m('TURN stats map to gauges and labelled counters', async () => {
  const stats: TurnStats = {
    allocations: 2, allocationsCreated: 5, allocationsExpired: 1, allocationsDeleted: 2, permissions: 3, permissionsCreated: 7, channels: 1, channelsCreated: 4,
    requests: { Allocate: 9, Refresh: 2 }, errors: { 401: 3 }, bindingResponses: 11, hairpinPackets: 0,
    relayedToPeerPackets: 100, relayedToPeerBytes: 12_345, relayedToClientPackets: 90, relayedToClientBytes: 11_000, drops: { 'no-permission': 6 },
  };
  const text = await new NodeMetrics({ overlay: world!.supernode.overlay, turn: { stats: () => stats } }, { processMetrics: false }).scrape();
  assert.is(sample(text, 'tincan_turn_allocations'), 2);
  assert.is(sample(text, 'tincan_turn_allocations_created_total'), 5);
  assert.is(sample(text, 'tincan_turn_requests_total{method="Allocate"}'), 9);
  assert.is(sample(text, 'tincan_turn_errors_total{code="401"}'), 3);
  assert.is(sample(text, 'tincan_turn_relayed_bytes_total{direction="to_peer"}'), 12_345);
  assert.is(sample(text, 'tincan_turn_relayed_packets_total{direction="to_client"}'), 90);
  assert.is(sample(text, 'tincan_turn_drops_total{reason="no-permission"}'), 6);
  assert.is(sample(text, 'tincan_calls_active'), 0, 'no node snapshot: no calls');
});

m('LAN discovery counters, and overlay counters without a name of their own', async () => {
  const real = world!.alice.overlay;
  const overlay = {
    snapshot: () => {
      const snap = real.snapshot();
      return { ...snap, counters: { ...snap.counters, newThing: 4 }, lan: { queriesSent: 3, found: 2, dropped: { rate: 5, 'not-on-link': 1 } } };
    },
  };
  const text = await new NodeMetrics({ overlay }, { processMetrics: false }).scrape();
  assert.is(sample(text, 'tincan_lan_discovery_enabled'), 1);
  assert.is(sample(text, 'tincan_lan_events_total{event="queriesSent"}'), 3);
  assert.is(sample(text, 'tincan_lan_events_total{event="found"}'), 2);
  assert.is(sample(text, 'tincan_lan_dropped_total{reason="rate"}'), 5);
  assert.is(sample(text, 'tincan_lan_dropped_total{reason="not-on-link"}'), 1);
  assert.is(sample(text, 'tincan_overlay_counter_total{counter="newThing"}'), 4);
  assert.is(sample(text, 'tincan_overlay_counter_total{counter="lookups"}'), undefined, 'named counters are not repeated');
});

m.run();

/** One HTTP request without keep-alive: status, headers, body. */
function http(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A raw TCP connection: what it received and when it closed. */
function raw(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.setEncoding('utf8').on('data', (d: string) => (got += d));
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.once('connect', () => resolve({ socket, received: () => got, closed }));
    socket.once('error', reject);
  });
}

const h = suite('metrics: the HTTP server');
h.after(async () => {
  await world?.close();
});

h('GET /metrics serves the scrape; other paths 404, other methods 405, bodies 413', async () => {
  const metrics = new NodeMetrics(world!.alice);
  const server = await MetricsServer.listen({ host: '127.0.0.1', port: 0 }, () => metrics.scrape(), { contentType: metrics.contentType });
  try {
    const { port } = server.address;
    assert.ok(port > 0);
    const ok = await http(port, 'GET', '/metrics');
    assert.is(ok.status, 200);
    assert.match(String(ok.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.is(sample(ok.body, 'tincan_overlay_attached_supernodes'), 1);
    assert.is((await http(port, 'GET', '/metrics?x=1')).status, 200);
    assert.is((await http(port, 'GET', '/')).status, 404);
    assert.is((await http(port, 'GET', '/metrics/extra')).status, 404);
    const post = await http(port, 'POST', '/metrics');
    assert.is(post.status, 405);
    assert.is(post.headers.allow, 'GET, HEAD');
    assert.is((await http(port, 'DELETE', '/metrics')).status, 405);
    const head = await http(port, 'HEAD', '/metrics');
    assert.is(head.status, 200);
    assert.is(head.body, '');
    const withBody = await http(port, 'POST', '/metrics', { 'Content-Type': 'text/plain' }, 'x'.repeat(10_000));
    assert.is(withBody.status, 413);
    // A request announcing a huge body is answered at once and its connection dropped.
    const c = await raw(port);
    c.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nabc');
    await c.closed;
    assert.match(c.received(), /^HTTP\/1\.1 413/);
  } finally {
    await server.close();
  }
});

h('at most maxConnections at once; slow headers are cut off; scrapes work again after', async () => {
  const metrics = new NodeMetrics(world!.alice, { processMetrics: false });
  const server = await MetricsServer.listen({ host: '127.0.0.1', port: 0 }, () => metrics.scrape(), { maxConnections: 3, headersTimeoutMs: 500, requestTimeoutMs: 1000 });
  const held: Awaited<ReturnType<typeof raw>>[] = [];
  try {
    const { port } = server.address;
    // Three idle connections (a slowloris sending half a request) fill the server.
    for (let i = 0; i < 3; i++) {
      const c = await raw(port);
      c.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      held.push(c);
    }
    await clock.sleep(100);
    // The fourth is closed on arrival, unanswered.
    const extra = await raw(port);
    extra.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    await extra.closed;
    assert.not.match(extra.received(), /200 OK/);
    // The half-sent requests are cut off by the header timeout (within the 1 s sweep).
    const t0 = Date.now();
    await Promise.all(held.map((c) => c.closed));
    assert.ok(Date.now() - t0 < 5000, `closed after ${Date.now() - t0} ms`);
    await waitFor('slots freed', () => true);
    const ok = await http(port, 'GET', '/metrics');
    assert.is(ok.status, 200);
    assert.is(sample(ok.body, 'tincan_overlay_attached_supernodes'), 1);
  } finally {
    for (const c of held) c.socket.destroy();
    await server.close();
  }
});

h('close() drops open connections and frees the port; a port in use is refused', async () => {
  const server = await MetricsServer.listen({ host: '127.0.0.1', port: 0 }, async () => 'x 1\n');
  const busy = await MetricsServer.listen({ host: '127.0.0.1', port: server.address.port }, async () => '').then(
    async (s) => (await s.close(), 'listened'),
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
  assert.match(busy, /EADDRINUSE/);
  const c = await raw(server.address.port);
  await server.close();
  await c.closed;
  const again = await MetricsServer.listen({ host: '127.0.0.1', port: server.address.port }, async () => 'x 1\n');
  assert.is((await http(again.address.port, 'GET', '/metrics')).body, 'x 1\n');
  await again.close();
});

h.run();
