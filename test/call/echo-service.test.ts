import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { silentLogger } from '../../src/log.ts';
import { Identity } from '../../src/identity/identity.ts';
import { CallManager } from '../../src/call/call-manager.ts';
import { EchoService } from '../../src/call/echo-service.ts';
import { FakeMedia, Switchboard } from './call-fakes.ts';

const e = suite('echo service');

e('answers, plays back what it hears after the delay, and stops with the call', async () => {
  FakeMedia.all = [];
  const random = new SeededRandom(3);
  const clock = new VirtualClock();
  const board = new Switchboard(clock);
  const alice = Identity.generate(random);
  const echoId = Identity.generate(random);
  const log = silentLogger();
  const caller = new CallManager({ clock, random, log, identity: alice }, { transport: board.transport(alice.publicKeyHex, 'a'), createMedia: () => new FakeMedia('alice'), device: 'a' });
  const echoCalls = new CallManager({ clock, random, log, identity: echoId }, { transport: board.transport(echoId.publicKeyHex, 'e'), createMedia: () => new FakeMedia('echo'), device: 'e' });
  const echo = new EchoService({ clock, log }, { calls: echoCalls, delayMs: 500 });
  const call = caller.dial(echoId.publicKeyHex, 'echo');
  await clock.advance(100);
  assert.is(call.state, 'active');
  const mine = caller.media(call.id) as FakeMedia;
  const theirs = echoCalls.media(call.id) as FakeMedia;
  mine.peer = theirs;
  theirs.peer = mine;
  const heard: Array<{ at: number; first: number }> = [];
  mine.onAudio((a) => heard.push({ at: clock.now(), first: a.payload[0]! }));
  const t0 = clock.now();
  for (let i = 0; i < 50; i++) {
    mine.sendAudio(new Uint8Array([i, 1, 2]), i * 960);
    await clock.advance(20);
  }
  await clock.advance(600);
  assert.is(heard.length, 50);
  assert.equal(heard.map((h) => h.first), [...Array(50).keys()]);
  assert.ok(heard[0]!.at - t0 >= 500 && heard[0]!.at - t0 < 600, `first echo after ${heard[0]!.at - t0} ms`);
  const ts = theirs.sent.map((s) => s.timestamp);
  assert.ok(ts.every((t, i) => i === 0 || t - ts[i - 1]! === 960), 'echoed stream has regular timestamps');
  caller.hangup(call.id);
  await clock.advance(100);
  mine.sendAudio(new Uint8Array([99]), 0);
  await clock.advance(1000);
  assert.is(echo.stats.echoed, 50);
  echo.close();
  await caller.close();
  await echoCalls.close();
});

e.run();
