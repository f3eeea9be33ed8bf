import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TypedEvents } from '../src/typed-events.ts';

interface Events {
  role: { role: string };
  ended: number;
}

const s = suite('typed events');

s('handlers get their own event; unsubscribe removes exactly that handler', () => {
  const events = new TypedEvents<Events>();
  const seen: string[] = [];
  const off = events.on('role', (e) => seen.push(`a:${e.role}`));
  events.on('role', (e) => seen.push(`b:${e.role}`));
  events.on('ended', (n) => seen.push(`ended:${n}`));
  events.emit('role', { role: 'leaf' });
  off();
  off();
  events.emit('role', { role: 'supernode' });
  events.emit('ended', 3);
  assert.equal(seen, ['a:leaf', 'b:leaf', 'b:supernode', 'ended:3']);
  assert.is(events.count('role'), 1);
});

s('a handler that throws does not stop the others; its error is reported', () => {
  const errors: unknown[] = [];
  const events = new TypedEvents<Events>((err) => errors.push(err));
  let later = 0;
  events.on('ended', () => {
    throw new Error('boom');
  });
  events.on('ended', (n) => (later = n));
  events.emit('ended', 7);
  assert.is(later, 7);
  assert.is(errors.length, 1);
  assert.match(String(errors[0]), /boom/);
});

s.run();
