import type { ConsumeResult, WindowCheck } from './counter-store.js';

/** Consumes of the same windows of one tag, merged into one store call. */
export interface ConsumeBatch {
  readonly tag: string;
  /** The windows (keys and limits) every consume of the batch gave; `ttlMs` the smallest given. */
  readonly windows: readonly WindowCheck[];
  readonly guard: string | undefined;
  /** The cost of each consume, in arrival order: the store decides them in this order. */
  readonly costs: number[];
}

/** Runs one batch: one result per cost, in order, each as if its consume had run alone in that order. */
export type ConsumeBatchRunner = (batch: ConsumeBatch) => Promise<ConsumeResult[]>;

interface Pending extends ConsumeBatch {
  windows: WindowCheck[];
  readonly waiters: Array<{ resolve(r: ConsumeResult): void; reject(e: unknown): void }>;
}

/** Same keys and limits in the same order (a limiter builds the same list for one tag and instant). */
function sameWindows(a: readonly WindowCheck[], b: readonly WindowCheck[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as WindowCheck;
    const y = b[i] as WindowCheck;
    if (x.key !== y.key || x.limit !== y.limit) return false;
  }
  return true;
}

/**
 * Merges the consumes of one counter set that arrive in the same event-loop turn into one call
 * (issue #16: with key-auth + a Redis limit, one Lua call per request was a third of the
 * request's cost under load). Requests of one turn are collected until the loop's check phase
 * (`setImmediate`), so a lone request waits for nothing but the I/O callbacks already queued with
 * it. The runner decides the consumes in arrival order inside one atomic step, so each request
 * gets exactly the answer it would have had alone (the k-th of a batch sees the count after the
 * k-1 before it; a limit crossed mid-batch refuses exactly the consumes past it).
 * Every consume of a batch has the same tag, so the batch stays in one Redis Cluster slot.
 */
export class ConsumeBatcher {
  readonly #run: ConsumeBatchRunner;
  readonly #schedule: (flush: () => void) => void;
  #pending = new Map<string, Pending[]>();
  #scheduled = false;

  constructor(run: ConsumeBatchRunner, schedule: (flush: () => void) => void = (f) => void setImmediate(f)) {
    this.#run = run;
    this.#schedule = schedule;
  }

  /** Queues one consume; resolves with its own result once its batch has run. */
  consume(tag: string, windows: readonly WindowCheck[], cost: number, guard: string | undefined): Promise<ConsumeResult> {
    let list = this.#pending.get(tag);
    if (list === undefined) this.#pending.set(tag, (list = []));
    let batch: Pending | undefined;
    for (const b of list) {
      if (b.guard === guard && sameWindows(b.windows, windows)) {
        batch = b;
        break;
      }
    }
    if (batch === undefined) {
      batch = { tag, windows: windows.slice(), guard, costs: [], waiters: [] };
      list.push(batch);
    } else {
      // The window that ends soonest is the truest TTL for a key made now (all name one window index).
      for (let i = 0; i < windows.length; i++) {
        const w = windows[i] as WindowCheck;
        if (w.ttlMs < (batch.windows[i] as WindowCheck).ttlMs) batch.windows[i] = w;
      }
    }
    batch.costs.push(cost);
    const result = new Promise<ConsumeResult>((resolve, reject) => (batch as Pending).waiters.push({ resolve, reject }));
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(() => this.#flush());
    }
    return result;
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = new Map();
    this.#scheduled = false;
    for (const list of pending.values()) {
      for (const b of list) {
        const { waiters } = b;
        let run: Promise<ConsumeResult[]>;
        try {
          run = this.#run(b);
        } catch (err) {
          run = Promise.reject(err);
        }
        run.then(
          (results) => {
            for (let i = 0; i < waiters.length; i++) {
              const r = results[i];
              if (r === undefined) waiters[i]?.reject(new Error(`consume batch answered ${results.length} of ${waiters.length} consumes`));
              else waiters[i]?.resolve(r);
            }
          },
          (err: unknown) => {
            for (const w of waiters) w.reject(err);
          },
        );
      }
    }
  }
}
