#!/usr/bin/env node
// Entry point for `npx tincan` / the `tincan` bin on Node: registers the TypeScript
// loader (tsx) and runs src/main.ts. On Deno, run src/main.ts directly.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/main.ts', import.meta.url).href);
