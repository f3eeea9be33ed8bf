/**
 * `tincan search TEXT`: names containing some text, found by flooding the supernodes.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { MAX_NAME_LENGTH, optionalSeedOption } from '../common.ts';
import { failure, success } from '../outcome.ts';
import { text } from '../values.ts';

/** `tincan search TEXT --seed HOST:PORT`. */
export const searchCommand = defineCommand({
  name: 'search',
  summary: 'find names containing some text',
  description: [
    'Joins as a temporary leaf; its supernode floods the query to the other supernodes',
    '(hop limit, duplicate suppression, per-peer rate limits), which answer from their leaves.',
    'With --json, prints {ok, results: [{name, id, fingerprint}]}.',
  ].join('\n'),
  positionals: [{ name: 'TEXT', help: 'part of a display name', parse: text(MAX_NAME_LENGTH) }],
  options: { seed: optionalSeedOption },
  examples: ['search ali --seed 203.0.113.7:4000'],
  async run({ options, positionals, global }, ctx) {
    const { identityFor, withTemporaryLeaf } = await import('./overlay-common.ts');
    const { sha256 } = await import('@noble/hashes/sha2.js');
    const { hexToBytes, bytesToHex } = await import('@noble/hashes/utils.js');
    const { fingerprint } = await import('../../identity/fingerprint.ts');
    const identity = await identityFor(global, ctx);
    if (typeof identity === 'string') return failure(identity);
    let results;
    try {
      results = await withTemporaryLeaf(global, ctx, identity, options.seed, (node) => node.searchNames(positionals.TEXT));
    } catch (err) {
      return failure((err as Error).message);
    }
    const rows = results
      .map((r) => ({ name: r.name, id: bytesToHex(sha256(hexToBytes(r.key))), fingerprint: fingerprint(hexToBytes(r.key)) }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const out = rows.length === 0 ? `no names contain "${positionals.TEXT}"` : rows.map((r) => `${r.name}  ${r.id.slice(0, 16)}  ${r.fingerprint}`).join('\n');
    return success({ results: rows }, out);
  },
});
