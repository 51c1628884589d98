// The module binding, not the global: `globalThis.performance` is a lazy accessor, a property lookup per read.
import { performance } from 'node:perf_hooks';
/** Code of the error {@link withDeadline} rejects with. */
export const COMMAND_TIMEOUT = 'COMMAND_TIMEOUT';

/** A store command that did not answer within its deadline. */
export class CommandTimeoutError extends Error {
  readonly code = COMMAND_TIMEOUT;
  constructor(readonly timeoutMs: number) {
    super(`command timed out after ${timeoutMs} ms`);
  }
}

/**
 * Settles like `command`, or rejects with {@link CommandTimeoutError} when it is still pending
 * `ms` after the call, measured so that a stall of this process's own event loop cannot trip it.
 *
 * A plain timeout (ioredis `commandTimeout`) counts time this process spent not listening: after
 * a stall (a burst of requests, GC, a loaded CPU) its expired timer fires BEFORE the socket that
 * already holds the reply is read (timers run before I/O polling in each turn of the event loop),
 * and commands queued behind an auto-pipeline in flight are not even written yet. Either way the
 * command is failed for the gateway's slowness, not Redis's. Here:
 *
 * - a timer that fires late by more than `max(20 ms, ms / 5)` means the loop was stalled while the
 *   command waited: the wait starts again (another `ms`), up to the client's own backstop timeout;
 * - a timer on time only schedules the verdict with `setImmediate`, which runs after this turn's
 *   poll phase: a reply that arrived in time has been read and settled the command by then. When
 *   that poll phase itself took longer than the tolerance (the loop busy with other sockets, a
 *   burst of requests), the loop was stalled again: the wait starts again too.
 *
 * So a command times out only after `ms` during which this process kept up with its event loop.
 */
export function withDeadline<T>(command: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const cancel = startDeadline(ms, () => {
      settled = true;
      reject(new CommandTimeoutError(ms));
    });
    command.then(
      (value) => {
        if (settled) return;
        settled = true;
        cancel();
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        cancel();
        reject(err);
      },
    );
  });
}

/**
 * Calls `expire` once `ms` have passed during which this process kept up with its event loop (the
 * rules of {@link withDeadline}); returns a function that cancels it. Used directly where the
 * deadline does not belong to one promise, e.g. the consumes waiting in the batcher's queue.
 * `firstMs`: a shorter first wait (what is left of a deadline that started earlier); after a stall
 * the wait starts again with the whole `ms`.
 */
export function startDeadline(ms: number, expire: () => void, firstMs: number = ms): () => void {
  const tolerance = Math.max(20, ms / 5);
  let done = false;
  let timer: NodeJS.Timeout;
  const arm = (wait: number) => {
    const due = performance.now() + wait;
    timer = setTimeout(() => {
      const fired = performance.now();
      if (fired - due > tolerance) return arm(ms);
      setImmediate(() => {
        // Cancelled meanwhile: a reply that arrived in time was read in this turn's poll phase.
        if (done) return;
        // A poll phase that took long (the loop busy with other sockets) is a stall too.
        if (performance.now() - fired > tolerance) return arm(ms);
        done = true;
        expire();
      });
    }, wait);
  };
  arm(firstMs);
  return () => {
    done = true;
    clearTimeout(timer);
  };
}
