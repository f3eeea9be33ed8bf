/**
 * Enforces DESIGN.md's dependency direction:
 *   cli/tui -> node (composition) -> call, stream, overlay, supernodes, control -> wire, identity, codecs, audio -> net, env
 * A module may import its own layer or lower ones; `codecs/` imports nothing of ours;
 * nothing but the entry and `cli/` imports `tui/`, and nothing imports `cli/`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

/** Layer of a repository-relative path, or undefined for files outside the layering. */
function layerOf(path: string): number | undefined {
  const p = path.replaceAll('\\', '/');
  if (p === 'src/main.ts' || p.startsWith('src/cli/') || p.startsWith('tui/')) return 3;
  if (p.startsWith('src/node/')) return 2.5; // composes the layer-2 parts into a running node
  if (/^src\/(call|stream|overlay|control)\//.test(p) || p.startsWith('supernodes/')) return 2;
  if (/^src\/(wire|identity|audio)\//.test(p) || p.startsWith('codecs/')) return 1;
  if (p.startsWith('src/')) return 0; // env, clock, random, log, net/
  return undefined;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)];
  return specs.map((m) => relative(repo, resolve(dirname(file), (m[1] ?? m[2])!)));
}

const arch = suite('architecture');

arch('imports follow the layer direction', () => {
  const problems: string[] = [];
  for (const top of ['src', 'codecs', 'supernodes', 'tui']) {
    let files: string[] = [];
    try {
      files = sources(join(repo, top));
    } catch {
      continue;
    }
    for (const file of files) {
      const from = relative(repo, file).replaceAll('\\', '/');
      const fromLayer = layerOf(from)!;
      for (const target of relativeImports(file)) {
        const to = target.replaceAll('\\', '/');
        const toLayer = layerOf(to);
        if (from.startsWith('codecs/') && !to.startsWith('codecs/')) problems.push(`${from} -> ${to}: codecs imports nothing of ours`);
        if (to.startsWith('src/cli/') && !(from === 'src/main.ts' || from.startsWith('src/cli/'))) problems.push(`${from} -> ${to}: nothing imports cli`);
        if (to.startsWith('tui/') && !(from === 'src/main.ts' || from.startsWith('src/cli/') || from.startsWith('tui/'))) problems.push(`${from} -> ${to}: only cli imports tui`);
        if (toLayer !== undefined && toLayer > fromLayer) problems.push(`${from} (layer ${fromLayer}) -> ${to} (layer ${toLayer})`);
      }
    }
  }
  assert.equal(problems, []);
});

arch('the layer check itself catches an upward import', () => {
  assert.is(layerOf('src/net/udp.ts'), 0);
  assert.is(layerOf('src/wire/noise.ts'), 1);
  assert.is(layerOf('supernodes/turn.ts'), 2);
  assert.is(layerOf('tui/app.tsx'), 3);
  assert.ok(layerOf('src/overlay/dht.ts')! > layerOf('src/identity/keys.ts')!);
});

arch.run();
