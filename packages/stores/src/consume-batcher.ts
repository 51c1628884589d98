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

/** Options of a {@link ConsumeBatcher}. */
export interface ConsumeBatcherOptions {
  /** When a flush runs (default `setImmediate`: after the I/O callbacks of this loop turn). */
  readonly schedule?: (flush: () => void) => void;
  /**
   * Wraps the synchronous start of every batch of one flush, e.g. to cork the connection so the
   * commands of several batches leave in one write.
   */
  readonly around?: (startAll: () => void) => void;
}

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
 * Merges consumes of one counter set into one call (issue #16: with key-auth + a Redis limit, one
 * Lua call per request was a third of the request's cost under load). Requests of one turn are
 * collected until the loop's check phase (`setImmediate`), so a lone request waits for nothing but
 * the I/O callbacks already queued with it. One flush is in flight at a time (group commit): the
 * consumes that arrive while its calls are out are held and leave together as soon as they have all
 * settled (each call settles by the store's deadline at the latest). Under load a batch so holds
 * what would have been several calls queued behind one another on the connection anyway (the
 * client writes one pipeline at a time); a lone request still goes at once.
 * The runner decides the consumes in arrival order inside one atomic step, so each request
 * gets exactly the answer it would have had alone (the k-th of a batch sees the count after the
 * k-1 before it; a limit crossed mid-batch refuses exactly the consumes past it). Batches of one
 * tag start in arrival order and a later flush starts only after the earlier one settled.
 * Every consume of a batch has the same tag, so the batch stays in one Redis Cluster slot.
 */
export class ConsumeBatcher {
  readonly #run: ConsumeBatchRunner;
  readonly #schedule: (flush: () => void) => void;
  readonly #around: ((startAll: () => void) => void) | undefined;
  #pending = new Map<string, Pending[]>();
  #scheduled = false;
  /** Calls of the last flush not settled yet. */
  #inFlight = 0;
  readonly #flushNow = () => this.#flush();
  readonly #settled = () => {
    this.#inFlight -= 1;
    if (this.#inFlight === 0 && this.#pending.size > 0 && !this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(this.#flushNow);
    }
  };

  constructor(run: ConsumeBatchRunner, options: ConsumeBatcherOptions = {}) {
    this.#run = run;
    this.#schedule = options.schedule ?? ((f) => void setImmediate(f));
    this.#around = options.around;
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
    if (!this.#scheduled && this.#inFlight === 0) {
      this.#scheduled = true;
      this.#schedule(this.#flushNow);
    }
    return result;
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = new Map();
    this.#scheduled = false;
    const startAll = () => {
      for (const list of pending.values()) for (const b of list) this.#start(b);
    };
    if (this.#around === undefined) startAll();
    else this.#around(startAll);
  }

  #start(b: Pending): void {
    const { waiters } = b;
    let run: Promise<ConsumeResult[]>;
    try {
      run = this.#run(b);
    } catch (err) {
      run = Promise.reject(err);
    }
    this.#inFlight += 1;
    run
      .then(
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
      )
      .then(this.#settled, this.#settled);
  }
}
