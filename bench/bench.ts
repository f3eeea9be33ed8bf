/**
 * Shared types for benchmarks (see bench/run.ts).
 * @module
 */

/** One measured figure. `ratio` = ours / ref, named so the better direction is clear. */
export interface BenchResult {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  ref?: number;
  ratio?: number;
  [extra: string]: unknown;
}

/** Emit one result line. */
export type Emit = (result: Omit<BenchResult, 'bench'>) => void;

/** What a `bench/NAME.bench.ts` module exports. */
export interface BenchModule {
  run(emit: Emit): Promise<void>;
}
