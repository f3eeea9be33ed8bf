import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { longTermKey, mintTurnCredentials, parseRestUsername, restPassword } from '../../supernodes/turn/credentials.ts';

const C = JSON.parse(readFileSync(new URL('../fixtures/turn/coturn-rest-credentials.json', import.meta.url), 'utf8'));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

const c = suite('turn credentials');

c('coturn REST example: password = base64(HMAC-SHA1(secret, username)), key as turnadmin -k', () => {
  assert.is(restPassword(C.secret, C.username), C.password);
  assert.is(toHex(longTermKey(C.username, C.realm, C.password)), C.keyHex);
});

c('mint: expiry:user from the clock, ttl, separator; parse round trip', () => {
  const m = mintTurnCredentials({ secret: C.secret, user: 'alice', now: 1_700_000_000_123, ttlSeconds: 3600 });
  assert.equal(m, { username: '1700003600:alice', password: C.password, expiresAt: 1700003600 });
  assert.equal(parseRestUsername(m.username), { expiresAt: 1700003600, user: 'alice' });
  assert.equal(parseRestUsername('1700003600'), { expiresAt: 1700003600, user: '' });
  assert.is(mintTurnCredentials({ secret: 's', user: '', now: 0, ttlSeconds: 5 }).username, '5');
  assert.equal(parseRestUsername('17|bob', '|'), { expiresAt: 17, user: 'bob' });
  assert.is(parseRestUsername('alice:1700003600'), undefined);
  assert.throws(() => mintTurnCredentials({ secret: 's', user: 'a:b', now: 0 }), /must not contain/);
});

c.run();
