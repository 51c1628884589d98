import { nextTurn } from '@tollgate/model';

/**
 * Default longest run of work between two yields to the event loop, ms. 4 rather than 8: a
 * request waits for at most the slice it arrived in plus whatever GC pause lands next to it, and
 * with 8 ms slices those added up past 50 ms in 4 of 12 applies of 10,000 Apis (docs/benchmarks.md,
 * "Apply stall with the launch flags"); the extra turns did not lengthen the applies measurably.
 */
export const DEFAULT_SLICE_MS = 4;

/**
 * Runs a step generator to completion on the calling thread: synchronously. Used where a caller
 * wants the answer now (tests, the CLI's offline validation).
 */
export function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Runs a step generator in slices of at most about `sliceMs` of work, yielding to the event loop
 * (`nextTurn`: pending I/O callbacks run, so requests keep being served, and the slices of
 * concurrent jobs never run in the same turn) between slices.
 * A step is small (one resource, one Api, one route), so a slice overruns its budget by at most
 * one step. This is how a serving process compiles without stalling its requests (#16).
 */
export async function runSliced<T>(steps: Generator<void, T>, sliceMs: number = DEFAULT_SLICE_MS): Promise<T> {
  let start = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - start >= sliceMs) {
      await nextTurn();
      start = performance.now();
    }
  }
}
