import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { render } from 'ink-testing-library';
import { App } from '../../tui/app.tsx';
import type { NodeActions, NodeSnapshot } from '../../src/node/snapshot.ts';

const t = suite('terminal UI');

function snapshot(extra: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return {
    name: 'alice',
    id: 'ab'.repeat(32),
    fingerprint: '12345 67890 11111 22222 33333 44444 55555 66666 77777 88888 99999 00000',
    role: 'leaf',
    supernodes: [{ id: 'cd'.repeat(32), address: '127.0.0.1:4000', rttMs: 3 }],
    calls: [],
    media: {},
    events: [],
    ...extra,
  };
}

function recorder(): { actions: NodeActions; log: string[] } {
  const log: string[] = [];
  const actions: NodeActions = {
    call: (n) => log.push(`call ${n}`),
    accept: (id) => log.push(`accept ${id}`),
    decline: (id) => log.push(`decline ${id}`),
    hangup: (id) => log.push(`hangup ${id}`),
    hold: (id) => log.push(`hold ${id}`),
    resume: (id) => log.push(`resume ${id}`),
    quit: () => log.push('quit'),
  };
  return { actions, log };
}

const tick = () => new Promise((r) => setTimeout(r, 30));

t('shows identity, role, supernodes and a hint when idle', () => {
  const { actions } = recorder();
  const ui = render(<App snapshot={snapshot()} actions={actions} now={0} />);
  const frame = ui.lastFrame()!;
  assert.match(frame, /alice/);
  assert.match(frame, /\[leaf\]/);
  assert.match(frame, /127\.0\.0\.1:4000 \(3 ms\)/);
  assert.match(frame, /press c to call/);
  ui.unmount();
});

t('typing c, a name and Enter places a call', async () => {
  const { actions, log } = recorder();
  const ui = render(<App snapshot={snapshot()} actions={actions} now={0} />);
  await tick();
  ui.stdin.write('c');
  await tick();
  for (const ch of 'bob') {
    ui.stdin.write(ch);
    await tick();
  }
  assert.match(ui.lastFrame()!, /call: bob/);
  ui.stdin.write('\r');
  await tick();
  assert.equal(log, ['call bob']);
  ui.unmount();
});

t('an incoming call rings; a answers, d declines', async () => {
  const { actions, log } = recorder();
  const ringing = snapshot({
    calls: [{ callId: 'c1', direction: 'incoming', remoteKey: 'ef'.repeat(32), remoteName: 'bob', state: 'ringing', createdAt: 0 }],
  });
  const ui = render(<App snapshot={ringing} actions={actions} now={1000} />);
  assert.match(ui.lastFrame()!, /bob\s+incoming call/);
  await tick();
  ui.stdin.write('a');
  await tick();
  ui.stdin.write('d');
  await tick();
  assert.equal(log, ['accept c1', 'decline c1']);
  ui.unmount();
});

t('an active call shows its path, quality and levels; space holds, h hangs up, q quits', async () => {
  const { actions, log } = recorder();
  const active = snapshot({
    calls: [{ callId: 'c2', direction: 'outgoing', remoteKey: 'ef'.repeat(32), remoteName: 'echo', state: 'active', createdAt: 0, answeredAt: 1000 }],
    media: { c2: { path: 'relay', via: '198.18.1.2:4000', rttMs: 42, jitterMs: 3, lossPct: 1.5, mos: 4.2, micDb: -12, speakerDb: -30 } },
  });
  const ui = render(<App snapshot={active} actions={actions} now={63_000} />);
  const frame = ui.lastFrame()!;
  assert.match(frame, /echo\s+active\s+01:02/);
  assert.match(frame, /relay via 198\.18\.1\.2:4000/);
  assert.match(frame, /rtt 42 ms/);
  assert.match(frame, /loss 1\.5%/);
  assert.match(frame, /MOS 4\.2/);
  assert.match(frame, /mic ████████░░ -12 dB/);
  await tick();
  ui.stdin.write(' ');
  await tick();
  ui.stdin.write('h');
  await tick();
  ui.stdin.write('q');
  await tick();
  assert.equal(log, ['hold c2', 'hangup c2', 'quit']);
  ui.unmount();
});

t('an ended call shows why', () => {
  const { actions } = recorder();
  const ended = snapshot({
    calls: [{ callId: 'c3', direction: 'outgoing', remoteKey: 'ef'.repeat(32), remoteName: 'bob', state: 'ended', reason: 'failed', detail: 'tampered: altered in transit', createdAt: 0, endedAt: 500 }],
  });
  const ui = render(<App snapshot={ended} actions={actions} now={1000} />);
  assert.match(ui.lastFrame()!, /ended \(failed: tampered: altered in transit\)/);
  ui.unmount();
});

t.run();
