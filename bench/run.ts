/**
 * Benchmark runner: `npm run bench [-- NAME...]` (or `deno task bench`). Each
 * `bench/NAME.bench.ts` exports `run(emit)`; every result is printed as one JSON line
 * `{bench, metric, value, unit, ref?, ratio?}`. A benchmark that throws (for example a
 * missing reference tool) makes the run fail: references are never silently skipped.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import process from 'node:process';
import type { BenchModule, BenchResult } from './bench.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort();
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
let failures = 0;
for (const name of wanted.length ? wanted : all) {
  const mod = (await import(pathToFileURL(`${dir}/${name}.bench.ts`).href)) as BenchModule;
  try {
    await mod.run((r: Omit<BenchResult, 'bench'>) => console.log(JSON.stringify({ bench: name, ...r })));
  } catch (err) {
    failures++;
    console.log(JSON.stringify({ bench: name, error: (err as Error).message }));
  }
}
process.exit(failures ? 1 : 0);
