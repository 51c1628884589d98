// The module binding, not the global: `globalThis.performance` is a lazy accessor, a property lookup per read.
import { performance } from 'node:perf_hooks';
import type { ConsumeResult, WindowCheck } from './counter-store.js';
import { CommandTimeoutError, startDeadline } from './deadline.js';

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
   * Wraps the synchronous start of the batches of one flush, e.g. to cork the connection so the
   * commands of several batches leave in one write.
   */
  readonly around?: (startAll: () => void) => void;
  /**
   * The group commit unit of a tag (default: one group for all). Batches of one group are held
   * while a call of that group is out; other groups go on. A Redis Cluster store gives the tag's
   * hash slot, so a slow or hung node holds only the subjects it serves.
   */
  readonly groupOf?: (tag: string) => string | number;
  /**
   * The store's deadline in ms. A consume that queued behind a call of its group is answered with
   * {@link CommandTimeoutError} once it waited this long in total, queued time included: still
   * queued, it is withdrawn from its batch (nothing counted); already sent, it is rejected while
   * the call goes on. Unset: a queued consume waits for its group (the calls' own deadlines bound
   * each call, so the total can reach about twice the deadline).
   */
  readonly deadlineMs?: number;
}

interface Waiter {
  resolve(r: ConsumeResult): void;
  reject(e: unknown): void;
  /** When the consume queued behind a call of its group (`performance.now()`), or -1: it did not queue. */
  queuedAt: number;
}

interface Pending extends ConsumeBatch {
  windows: WindowCheck[];
  readonly group: Group;
  readonly waiters: Waiter[];
  started: boolean;
  /**
   * Cancels the batch's one deadline timer, or null when none is armed. One timer per batch, not
   * per consume (issue #16: a timer per waiting consume was a visible part of each): it is due
   * with the earliest queued consume not answered yet, and re-armed for the next one.
   */
  deadline: (() => void) | null;
  /** Waiters before this index are answered by their deadline already. */
  expired: number;
}

/** The group commit state of one group: its calls out and the batches waiting for them. */
interface Group {
  readonly id: string | number;
  /** Batches by tag, each tag's in arrival order. */
  pending: Map<string, Pending[]>;
  /** Calls of this group not settled yet. */
  inFlight: number;
  /** In the list of the next flush. */
  ready: boolean;
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
 * the I/O callbacks already queued with it.
 *
 * Group commit, per group (`groupOf`: one for all by default, the hash slot on Redis Cluster): while
 * a call of a group is out, the consumes of that group that arrive are held and leave together as
 * soon as its calls have all settled (each settles by the store's deadline at the latest). Under
 * load a batch so holds what would have been several calls queued behind one another on the
 * connection anyway (the client writes one pipeline at a time); a lone request still goes at once.
 * Other groups do not wait: a slow or hung Cluster node holds only the limits of the slots it
 * serves. A consume held this way is answered by the deadline (`deadlineMs`) counted from its
 * arrival, not from its own call, so the fail mode answers within one deadline, not two.
 *
 * The runner decides the consumes in arrival order inside one atomic step, so each request
 * gets exactly the answer it would have had alone (the k-th of a batch sees the count after the
 * k-1 before it; a limit crossed mid-batch refuses exactly the consumes past it). Batches of one
 * tag start in arrival order, and a later batch of a tag starts only after the earlier ones
 * settled (a tag is in one group). Every consume of a batch has the same tag, so the batch stays
 * in one Redis Cluster slot.
 */
export class ConsumeBatcher {
  readonly #run: ConsumeBatchRunner;
  readonly #schedule: (flush: () => void) => void;
  readonly #around: ((startAll: () => void) => void) | undefined;
  readonly #groupOf: ((tag: string) => string | number) | undefined;
  readonly #deadlineMs: number | undefined;
  /** Groups with a call out or a batch waiting (an idle group is dropped). */
  readonly #groups = new Map<string | number, Group>();
  /** Groups with batches and no call out, started by the next flush. */
  #ready: Group[] = [];
  #scheduled = false;
  readonly #flushNow = () => this.#flush();

  constructor(run: ConsumeBatchRunner, options: ConsumeBatcherOptions = {}) {
    this.#run = run;
    this.#schedule = options.schedule ?? ((f) => void setImmediate(f));
    this.#around = options.around;
    this.#groupOf = options.groupOf;
    this.#deadlineMs = options.deadlineMs;
  }

  /** Queues one consume; resolves with its own result once its batch has run. */
  consume(tag: string, windows: readonly WindowCheck[], cost: number, guard: string | undefined): Promise<ConsumeResult> {
    const id = this.#groupOf === undefined ? 0 : this.#groupOf(tag);
    let group = this.#groups.get(id);
    if (group === undefined) {
      group = { id, pending: new Map(), inFlight: 0, ready: false };
      this.#groups.set(id, group);
    }
    // Nothing of the group out: the consume leaves with the next flush.
    if (group.inFlight === 0 && !group.ready) {
      group.ready = true;
      this.#ready.push(group);
    }
    let list = group.pending.get(tag);
    if (list === undefined) group.pending.set(tag, (list = []));
    let batch: Pending | undefined;
    for (const b of list) {
      if (b.guard === guard && sameWindows(b.windows, windows)) {
        batch = b;
        break;
      }
    }
    if (batch === undefined) {
      batch = { tag, windows: windows.slice(), guard, costs: [], group, waiters: [], started: false, deadline: null, expired: 0 };
      list.push(batch);
    } else {
      // The window that ends soonest is the truest TTL for a key made now (all name one window index).
      for (let i = 0; i < windows.length; i++) {
        const w = windows[i] as WindowCheck;
        if (w.ttlMs < (batch.windows[i] as WindowCheck).ttlMs) batch.windows[i] = w;
      }
    }
    batch.costs.push(cost);
    const ms = this.#deadlineMs;
    const queuedAt = group.inFlight > 0 && ms !== undefined ? performance.now() : -1;
    const b = batch;
    const result = new Promise<ConsumeResult>((resolve, reject) => {
      b.waiters.push({ resolve, reject, queuedAt });
    });
    if (queuedAt >= 0 && b.deadline === null) this.#arm(b, ms as number);
    if (!this.#scheduled && this.#ready.length > 0) {
      this.#scheduled = true;
      this.#schedule(this.#flushNow);
    }
    return result;
  }

  /** Arms the batch's deadline timer for its earliest queued waiter not answered yet (`ms` after it queued). */
  #arm(b: Pending, ms: number): void {
    const first = b.waiters[b.expired];
    if (first === undefined || first.queuedAt < 0) {
      b.deadline = null;
      return;
    }
    // What is left of its deadline; after a stall of this process the whole `ms` again (startDeadline).
    b.deadline = startDeadline(ms, () => this.#expireDue(b, ms), Math.max(1, first.queuedAt + ms - performance.now()));
  }

  /**
   * The deadline of the batch's earliest queued waiter passed (by the rules of `startDeadline`: a
   * stall of this process restarted it): every queued waiter whose `ms` have passed by now is
   * answered with {@link CommandTimeoutError}, still queued ones withdrawn from the batch (nothing
   * counted); the timer is armed again for the next.
   */
  #expireDue(b: Pending, ms: number): void {
    b.deadline = null;
    const now = performance.now();
    const due: Waiter[] = [];
    if (!b.started) {
      // Waiters queued in arrival order: the due ones are the first (those that did not queue, none
      // here: a batch made while its group was busy queues all its consumes).
      let k = 0;
      while (k < b.waiters.length && (b.waiters[k] as Waiter).queuedAt >= 0 && (b.waiters[k] as Waiter).queuedAt + ms <= now + 1) k++;
      due.push(...b.waiters.splice(0, k));
      b.costs.splice(0, k);
      if (b.waiters.length === 0) {
        const list = b.group.pending.get(b.tag) as Pending[];
        list.splice(list.indexOf(b), 1);
        if (list.length === 0) b.group.pending.delete(b.tag);
      }
    } else {
      // Sent: the waiters stay in place (their results are matched by index), answered early.
      while (b.expired < b.waiters.length) {
        const w = b.waiters[b.expired] as Waiter;
        if (w.queuedAt < 0 || w.queuedAt + ms > now + 1) break;
        due.push(w);
        b.expired += 1;
      }
    }
    for (const w of due) w.reject(new CommandTimeoutError(ms));
    this.#arm(b, ms);
  }

  #flush(): void {
    const ready = this.#ready;
    this.#ready = [];
    this.#scheduled = false;
    const startAll = () => {
      for (const group of ready) {
        group.ready = false;
        const pending = group.pending;
        group.pending = new Map();
        for (const list of pending.values()) for (const b of list) this.#start(b);
        // Every consume of it timed out while queued: nothing was left to send.
        if (group.inFlight === 0) this.#groups.delete(group.id);
      }
    };
    if (this.#around === undefined) startAll();
    else this.#around(startAll);
  }

  #start(b: Pending): void {
    const { waiters, group } = b;
    b.started = true;
    let run: Promise<ConsumeResult[]>;
    try {
      run = this.#run(b);
    } catch (err) {
      run = Promise.reject(err);
    }
    group.inFlight += 1;
    const settled = () => this.#settled(group);
    run
      .then(
        (results) => {
          b.deadline?.();
          // Waiters before `expired` were answered by their deadline (a promise settles once: a
          // second answer would do nothing, skipping them only saves the calls).
          for (let i = b.expired; i < waiters.length; i++) {
            const w = waiters[i] as Waiter;
            const r = results[i];
            if (r === undefined) w.reject(new Error(`consume batch answered ${results.length} of ${waiters.length} consumes`));
            else w.resolve(r);
          }
        },
        (err: unknown) => {
          b.deadline?.();
          for (let i = b.expired; i < waiters.length; i++) (waiters[i] as Waiter).reject(err);
        },
      )
      .then(settled, settled);
  }

  /** One call of `group` settled: when it was the last, the batches that waited for it leave. */
  #settled(group: Group): void {
    group.inFlight -= 1;
    if (group.inFlight > 0) return;
    if (group.pending.size === 0) {
      this.#groups.delete(group.id);
      return;
    }
    group.ready = true;
    this.#ready.push(group);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(this.#flushNow);
    }
  }
}
