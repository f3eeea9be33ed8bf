/**
 * HandlerSet (channel.ts): the handler list every channel and endpoint keeps. Handlers
 * run in order, a throwing one is counted and the rest still run, each remover takes away
 * the one handler it was returned for (once), and handlers may remove themselves or others
 * while being called without upsetting the call in progress.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HandlerSet } from '../../src/wire/channel.ts';

const s = suite('wire/handler-set');

s('handlers run in order; a throwing one is counted and the others still run', () => {
  const set = new HandlerSet<number>();
  const seen: string[] = [];
  set.add((v) => void seen.push(`a${v}`));
  set.add(() => {
    throw new Error('boom');
  });
  set.add((v) => void seen.push(`c${v}`));
  assert.is(set.size, 3);
  assert.is(set.emit(1), 1);
  assert.equal(seen, ['a1', 'c1']);
});

s('each remover takes away its own registration, once; the same function added twice needs both removers', () => {
  const set = new HandlerSet<string>();
  const seen: string[] = [];
  const h = (v: string) => void seen.push(v);
  const first = set.add(h);
  const second = set.add(h);
  set.emit('x');
  assert.equal(seen, ['x', 'x']);
  first();
  first(); // a second call removes nothing more
  assert.is(set.size, 1);
  set.emit('y');
  assert.equal(seen, ['x', 'x', 'y']);
  second();
  assert.is(set.size, 0);
  assert.is(set.emit('z'), 0);
  assert.equal(seen, ['x', 'x', 'y']);
});

s('a handler removing itself or a later one while called: the emit in progress calls every handler it started with', () => {
  const set = new HandlerSet<number>();
  const seen: string[] = [];
  let removeB = (): void => {};
  const removeA = set.add((v) => {
    seen.push(`a${v}`);
    removeA();
    removeB();
  });
  removeB = set.add((v) => void seen.push(`b${v}`));
  set.emit(1);
  set.emit(2);
  assert.equal(seen, ['a1', 'b1']);
  assert.is(set.size, 0);
  // clear() empties the set; adding after it works as before.
  set.add((v) => void seen.push(`c${v}`));
  set.clear();
  set.emit(3);
  assert.equal(seen, ['a1', 'b1']);
});

s.run();
