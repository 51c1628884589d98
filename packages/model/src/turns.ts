/**
 * Fair turns of the event loop for long work that runs in pieces on a serving thread (#16).
 *
 * Long jobs (a compile in slices, a store's statement loop, the change feed's key batches) pause
 * between pieces so that requests are served. With each job pausing on its own `setImmediate`,
 * Node runs every immediate queued before its check phase back to back: three jobs pausing in
 * the same turn meant three pieces (8 ms each, or a PGlite statement) in one uninterrupted run,
 * with no I/O in between. In embedded mode the admin's apply (body parse, validation, statements,
 * audit parts) and the gateway's reload (read, compile, instantiate) overlap, and a profile of
 * `bench:apply-stall` showed 25-50 ms of CPU held in one check phase made of several jobs'
 * pieces. `nextTurn` hands the loop to ONE waiting job per event-loop iteration, in the order
 * they asked: a second waiter resumes only after the poll phase of the next iteration has run
 * the pending I/O. Total work is unchanged; pieces of different jobs no longer add up.
 */

const waiting: Array<() => void> = [];
let pumping = false;

/** Resumes the oldest waiter; another immediate (next iteration) serves the rest. */
function pump(): void {
  const next = waiting.shift();
  // Scheduled from inside the check phase, so it runs in the next iteration, after its poll phase.
  if (waiting.length > 0) setImmediate(pump);
  else pumping = false;
  next?.();
}

/**
 * Resolves in a later check phase of the event loop (after pending I/O has run), with at most one
 * waiter resumed per iteration across the process: the pause between two pieces of long work.
 */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => {
    waiting.push(resolve);
    if (!pumping) {
      pumping = true;
      setImmediate(pump);
    }
  });
}

/**
 * A pause to await inside a long loop on a serving thread: returns nothing (no await, no
 * microtask) until about `sliceMs` ms of work ran since the last pause, then the next fair turn.
 * For loops over every document of a large apply that are not step generators (see runSliced).
 */
export function sliceTimer(sliceMs = 4): () => Promise<void> | undefined {
  let start = performance.now();
  return () => {
    if (performance.now() - start < sliceMs) return undefined;
    return nextTurn().then(() => {
      start = performance.now();
    });
  };
}
