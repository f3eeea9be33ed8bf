/**
 * `tincan id`: create the identity on first use, then show it.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { failure, success } from '../outcome.ts';

/** `tincan id [--json]`. */
export const idCommand = defineCommand({
  name: 'id',
  summary: "create (on first use) and show this node's identity",
  description: [
    'The identity is an Ed25519 key pair kept in HOME/identity.json (mode 0600). The node ID',
    'is the SHA-256 of the public key; the fingerprint (12 groups of 5 digits) is what two',
    'people compare to be sure they have the right key.',
    'With --json: {"ok":true,"id":HEX,"publicKey":HEX,"fingerprint":"DDDDD ...","home":DIR,"created":BOOL}',
    '(publicKey is the 32-byte Ed25519 key as 64 lowercase hex characters).',
  ].join('\n'),
  positionals: [],
  options: {},
  examples: ['id', 'id --json --home /tmp/alice'],
  async run({ global }, ctx) {
    // Loaded on use, so `tincan --help` and other commands do not pay for the crypto code.
    const { KeyStoreError, loadOrCreateIdentity } = await import('../../identity/keystore.ts');
    let stored;
    try {
      stored = await loadOrCreateIdentity(global.home, { random: ctx.io.random, clock: ctx.io.clock });
    } catch (err) {
      if (err instanceof KeyStoreError) return failure(err.message);
      throw err;
    }
    const { identity, created } = stored;
    if (created) ctx.log.debug({ id: identity.id, keyFile: stored.keyFile }, 'created a new identity');
    const groups = identity.fingerprint.split(' ');
    const half = Math.ceil(groups.length / 2);
    const text = [
      ...(created ? [`Created a new identity in ${global.home}`, ''] : []),
      `id           ${identity.id}`,
      `fingerprint  ${groups.slice(0, half).join(' ')}`,
      `             ${groups.slice(half).join(' ')}`,
      `home         ${global.home}`,
    ].join('\n');
    return success(
      { id: identity.id, publicKey: identity.publicKeyHex, fingerprint: identity.fingerprint, home: global.home, created },
      text,
    );
  },
});
