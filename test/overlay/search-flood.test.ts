import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { FloodSearch, type FloodSearchOptions, type SearchMessage } from '../../src/overlay/search-flood.ts';

interface Hit { name: string; node: number }

/**
 * A ring lattice of supernodes: node i neighbours i±1 and i±2, so the hop distance
 * between i and j is ceil(ringDistance / 2). Each node's leaves are named `leaf-<i>-<j>`.
 */
class Mesh {
  readonly clock = new VirtualClock();
  readonly random = new SeededRandom(51);
  readonly nodes: FloodSearch<number, Hit>[] = [];
  readonly queue: [number, number, SearchMessage<Hit>][] = [];
  readonly results = new Map<string, Hit[]>();
  sent = 0;

  constructor(readonly size: number, leaves: (i: number) => string[], opts: Partial<FloodSearchOptions<number, Hit>> = {}) {
    for (let i = 0; i < size; i++) {
      const mine = leaves(i);
      this.nodes.push(new FloodSearch<number, Hit>({
        clock: this.clock, random: this.random,
        peers: () => [-2, -1, 1, 2].map((d) => (i + d + size) % size),
        send: (peer, msg) => { this.sent++; this.queue.push([i, peer, msg]); },
        answer: (text, limit) => mine.filter((n) => n.includes(text)).slice(0, limit).map((name) => ({ name, node: i })),
        onResults: (q, rs) => this.results.set(q, [...(this.results.get(q) ?? []), ...rs]),
        ...opts,
      }));
    }
  }

  drain(): void {
    while (this.queue.length) {
      const [from, to, msg] = this.queue.shift()!;
      this.nodes[to]!.handle(from, structuredClone(msg));
    }
  }
}

const s = suite('overlay/search-flood');

s('finds leaves within the TTL, not beyond; each node handles a query once', () => {
  const m = new Mesh(60, (i) => [`leaf-${i}-a`, `leaf-${i}-b`]);
  const q = m.nodes[0]!.search('leaf-6-', 3); // node 6 is 3 hops away
  m.drain();
  assert.equal(m.results.get(q)?.map((h) => h.name).sort(), ['leaf-6-a', 'leaf-6-b']);
  const far = m.nodes[0]!.search('leaf-30-', 3); // 15 hops away
  m.drain();
  assert.is(m.results.get(far), undefined);
  const answered = m.nodes.reduce((n, x) => n + x.stats.answered, 0);
  assert.is(answered, 2 * 12, 'each query processed once by each node within 3 hops (12 of them)');
  assert.ok(m.nodes.reduce((n, x) => n + x.stats.duplicate, 0) > 0, 'duplicates were dropped');
});

s('a query costs at most (nodes reached) x (degree) messages: no amplification', () => {
  const m = new Mesh(200, () => []);
  m.nodes[10]!.search('nobody', 4);
  m.drain();
  const reached = m.nodes.filter((x) => x.stats.answered > 0).length;
  assert.is(reached, 16, '4 hops on a degree-4 ring lattice reach 16 other nodes');
  assert.ok(m.sent <= (reached + 1) * 4, `sent ${m.sent}`);
});

s('TTL is clamped whatever a peer claims; bad messages are dropped, never thrown', () => {
  const m = new Mesh(100, () => [], { maxTtl: 4 });
  m.nodes[50]!.handle(49, { type: 'query', id: 'ab'.repeat(16), text: 'anything', ttl: 255, hops: 0 });
  m.drain();
  const reached = m.nodes.filter((x) => x.stats.answered > 0).length;
  assert.ok(reached <= 1 + 16, `reached ${reached}`);
  const node = new Mesh(3, () => []).nodes[0]!;
  const verdicts = new Set<string>();
  fc.assert(fc.property(fc.anything(), (x) => {
    verdicts.add(node.handle(1, x));
    return true;
  }), { numRuns: 300 });
  for (const bad of [{ type: 'query', id: 'zz', text: 'abc', ttl: 1, hops: 0 }, { type: 'query', id: 'ab'.repeat(16), text: 'a', ttl: 1, hops: 0 },
    { type: 'query', id: 'ab'.repeat(16), text: 'abc', ttl: -1, hops: 0 }, { type: 'hit', queryId: 5, results: [] }]) {
    assert.is(new Mesh(3, () => []).nodes[0]!.handle(1, bad), 'invalid');
  }
});

s('per-peer rate limit: a flooding neighbour is cut off, others are not', async () => {
  const m = new Mesh(10, () => [], { perPeer: { ratePerSec: 2, burst: 5 } });
  const target = m.nodes[0]!;
  const verdicts: string[] = [];
  for (let i = 0; i < 50; i++) verdicts.push(target.handle(1, { type: 'query', id: i.toString(16).padStart(32, '0'), text: 'abc', ttl: 1, hops: 0 }));
  assert.is(verdicts.filter((v) => v === 'answered').length, 5);
  assert.is(verdicts.filter((v) => v === 'rate-limited').length, 45);
  assert.is(target.handle(2, { type: 'query', id: 'f'.repeat(32), text: 'abc', ttl: 1, hops: 0 }), 'answered');
  await m.clock.advance(1000);
  assert.is(target.handle(1, { type: 'query', id: 'e'.repeat(32), text: 'abc', ttl: 1, hops: 0 }), 'answered', 'refilled');
});

s('results are capped per query; hits only from neighbours the query went to', () => {
  const m = new Mesh(40, (i) => Array.from({ length: 30 }, (_, j) => `common-${i}-${j}`), { maxResults: 25 });
  const q = m.nodes[0]!.search('common', 3);
  m.drain();
  assert.is(m.results.get(q)!.length, 25);
  const before = m.nodes[0]!.stats;
  assert.is(m.nodes[0]!.handle(20, { type: 'hit', queryId: q, results: [{ name: 'spoof', node: 20 }] }), 'unexpected-peer');
  assert.is(m.nodes[0]!.handle(1, { type: 'hit', queryId: '0'.repeat(32), results: [] }), 'unknown-query');
  assert.is(m.nodes[0]!.handle(1, { type: 'hit', queryId: q, results: [{ name: 'late', node: 1 }] }), 'result-cap');
  assert.ok(before['result-cap'] >= 1);
  assert.throws(() => m.nodes[0]!.search('x'), RangeError);
});

s('query IDs are forgotten after the seen TTL (bounded memory), then treated as new', async () => {
  const m = new Mesh(5, () => ['abc'], { seenTtlMs: 1000 });
  const msg = { type: 'query', id: 'c'.repeat(32), text: 'abc', ttl: 1, hops: 0 };
  assert.is(m.nodes[0]!.handle(1, msg), 'answered');
  assert.is(m.nodes[0]!.handle(1, msg), 'duplicate');
  await m.clock.advance(1001);
  assert.is(m.nodes[0]!.handle(1, msg), 'answered');
});

s('1,000 supernodes, 8 random neighbours each: reach and cost of one query per TTL', () => {
  const size = 1000;
  const random = new SeededRandom(52);
  const neighbours: number[][] = Array.from({ length: size }, () => []);
  for (let i = 0; i < size; i++) {
    while (neighbours[i]!.length < 8) {
      const j = random.int(size);
      if (j !== i && !neighbours[i]!.includes(j) && neighbours[j]!.length < 12) {
        neighbours[i]!.push(j);
        neighbours[j]!.push(i);
      }
    }
  }
  const figures: Record<string, unknown>[] = [];
  for (const ttl of [2, 3, 4]) {
    const clock = new VirtualClock();
    const queue: [number, number, SearchMessage<Hit>][] = [];
    let sent = 0, hits = 0;
    const nodes = neighbours.map((peers, i) => new FloodSearch<number, Hit>({
      clock, random, maxTtl: 4,
      peers: () => peers,
      send: (peer, msg) => { sent++; queue.push([i, peer, msg]); },
      answer: (text) => (text === `leaf-${i}` ? [{ name: text, node: i }] : []),
      onResults: (_q, rs) => { hits += rs.length; },
    }));
    let found = 0;
    const queries = 20;
    for (let q = 0; q < queries; q++) {
      const from = random.int(size), wanted = random.int(size);
      const before = hits;
      nodes[from]!.search(`leaf-${wanted}`, ttl);
      while (queue.length) {
        const [a, b, m] = queue.shift()!;
        nodes[b]!.handle(a, m);
      }
      if (hits > before) found++;
    }
    figures.push({ ttl, foundRate: found / queries, messagesPerQuery: Math.round(sent / queries) });
  }
  console.log(JSON.stringify({ test: 'flood-search', supernodes: size, degree: '8-12', figures }));
  const f3 = figures[1]!;
  assert.ok((f3.messagesPerQuery as number) < size * 12, 'a query costs less than one message per link');
});

s.run();
