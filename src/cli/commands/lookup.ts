/**
 * `tincan lookup NAME`: the directory records published for a name.
 *
 * @module
 */
import { defineCommand } from '../command.ts';
import { nameArgument, optionalSeedOption } from '../common.ts';
import { failure, success } from '../outcome.ts';

/** `tincan lookup NAME --seed HOST:PORT`. */
export const lookupCommand = defineCommand({
  name: 'lookup',
  summary: 'show the directory records for a name, newest first',
  description: [
    'Joins as a temporary leaf through the seeds (without --seed: the host cache and mDNS on the LAN),',
    'looks the name up, prints and leaves.',
    'With --json, prints {ok, records: [{name, id, fingerprint, supernodes, seq, expires}]}',
    '(id: the publisher\'s node ID; supernodes: HOST:PORT of the supernodes it is attached to).',
  ].join('\n'),
  positionals: [nameArgument('display name to look up (exact)')],
  options: { seed: optionalSeedOption },
  examples: ['lookup alice --seed 203.0.113.7:4000'],
  async run({ options, positionals, global }, ctx) {
    const { identityFor, withTemporaryLeaf } = await import('./overlay-common.ts');
    const { OverlayNode } = await import('../../overlay/overlay-node.ts');
    const identity = await identityFor(global, ctx);
    if (typeof identity === 'string') return failure(identity);
    let records;
    try {
      records = await withTemporaryLeaf(global, ctx, identity, options.seed, async (node) => OverlayNode.describe(await node.lookup(positionals.NAME)));
    } catch (err) {
      return failure((err as Error).message);
    }
    const json = records.map((r) => ({ name: r.name, id: r.id, fingerprint: r.fingerprint, supernodes: r.supernodes, seq: r.seq, expires: r.expires }));
    const text = records.length === 0
      ? `no records for "${positionals.NAME}"`
      : records.map((r) => `${r.name}  ${r.id.slice(0, 16)}  fingerprint ${r.fingerprint}\n  via ${r.supernodes.join(', ') || '-'}  seq ${r.seq}  expires ${r.expires}`).join('\n');
    if (records.length === 0) return failure(`no records for "${positionals.NAME}"`, { exitCode: 1, json: { records: [] } });
    return success({ records: json }, text);
  },
});
