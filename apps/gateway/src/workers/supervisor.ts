import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { isTollgateMessage, type WorkerAnswer, type WorkerQuestion } from './messages.js';

/** Options of {@link WorkerSupervisor}. */
export interface SupervisorOptions {
  /** How many gateway workers to keep running. */
  readonly count: number;
  readonly logger: Logger;
  /** How long stopped workers may take to drain and flush before SIGKILL, ms. */
  readonly stopTimeoutMs: number;
  /** First restart delay after a crash, ms; doubles per consecutive crash. Default 250. */
  readonly restartBaseMs?: number;
  /** Longest restart delay, ms. Default 30000. */
  readonly restartMaxMs?: number;
  /** A worker that ran this long before crashing resets the backoff, ms. Default 10000. */
  readonly stableMs?: number;
}

/** One live worker as `/status` lists it. */
export interface WorkerInfo {
  /** node:cluster id: unique per fork, so a restarted worker has a new one. */
  readonly id: number;
  readonly pid: number | undefined;
  /** The worker's proxy listens. */
  readonly ready: boolean;
  /** When it was forked (ms since epoch). */
  readonly startedAt: number;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  startedAt: number;
}

interface Pending {
  resolve(answer: WorkerAnswer | null): void;
  timer: NodeJS.Timeout;
}

/**
 * Keeps `count` gateway workers (node:cluster) running in the primary process: forks them,
 * restarts one that dies with an exponential backoff (so a crash loop does not spin the CPU),
 * asks them for their readiness, status and metrics over IPC, and stops them gracefully.
 *
 * Why node:cluster rather than a home-made socket handoff: the workers share the listening
 * sockets (the primary accepts and hands connections out round-robin on Linux), and the
 * built-in IPC channel carries the queries.
 */
export class WorkerSupervisor {
  readonly #o: Required<SupervisorOptions>;
  readonly #slots = new Map<number, Slot>();
  readonly #pending = new Map<number, Pending>();
  #nextQuery = 1;
  #stopping = false;
  #started = false;
  #crashStreak = 0;
  #restartTimers = new Set<NodeJS.Timeout>();
  /** Workers restarted after an unexpected exit, since start. */
  restarts = 0;
  /** Called when a worker died before the initial set was ready (start-up fails). */
  #failStart: ((err: Error) => void) | null = null;
  /** Called when the initial set is ready (start() resolves). */
  #whenAllReady: (() => void) | null = null;

  constructor(options: SupervisorOptions) {
    this.#o = { restartBaseMs: 250, restartMaxMs: 30_000, stableMs: 10_000, ...options };
  }

  /** Whether stop() has begun. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** The live workers. */
  workers(): WorkerInfo[] {
    return [...this.#slots.values()].map((s) => ({ id: s.worker.id, pid: s.worker.process.pid, ready: s.ready, startedAt: s.startedAt }));
  }

  /**
   * Forks the workers and resolves once every one of them serves. A worker that exits before the
   * initial set is ready fails the start (a bad port or database would otherwise loop forever):
   * the caller stops the rest and exits non-zero, as a single process does.
   */
  async start(): Promise<void> {
    cluster.on('message', this.#onMessage);
    cluster.on('exit', this.#onExit);
    await new Promise<void>((resolve, reject) => {
      this.#failStart = reject;
      this.#whenAllReady = () => {
        this.#failStart = null;
        this.#started = true;
        resolve();
      };
      for (let i = 0; i < this.#o.count; i++) this.#fork();
    });
  }

  #fork(): void {
    const worker = cluster.fork();
    // A send racing the worker's death fails on the channel: logged, never an unhandled 'error'.
    worker.on('error', (err) => this.#o.logger.debug({ err, worker: worker.id }, 'worker channel error'));
    this.#slots.set(worker.id, { worker, ready: false, startedAt: Date.now() });
    this.#o.logger.debug({ worker: worker.id, pid: worker.process.pid }, 'worker forked');
  }

  readonly #onMessage = (worker: Worker, message: unknown): void => {
    if (!isTollgateMessage(message)) return;
    if (message.tollgate === 'ready') {
      const slot = this.#slots.get(worker.id);
      if (slot === undefined) return;
      slot.ready = true;
      this.#o.logger.info({ worker: worker.id, pid: worker.process.pid }, 'worker serving');
      if (!this.#started && [...this.#slots.values()].filter((s) => s.ready).length >= this.#o.count) this.#whenAllReady?.();
      return;
    }
    if (message.tollgate === 'answer') {
      const answer = message as WorkerAnswer;
      const p = this.#pending.get(answer.id);
      if (p === undefined) return;
      this.#pending.delete(answer.id);
      clearTimeout(p.timer);
      p.resolve(answer);
    }
  };

  readonly #onExit = (worker: Worker, code: number | null, signal: string | null): void => {
    const slot = this.#slots.get(worker.id);
    this.#slots.delete(worker.id);
    if (slot === undefined || this.#stopping) return;
    const lived = Date.now() - slot.startedAt;
    if (!this.#started) {
      this.#failStart?.(new Error(`gateway worker ${worker.id} exited during start-up (code ${code}, signal ${signal})`));
      this.#failStart = null;
      return;
    }
    // A worker that served for a while then died is a new incident: start the backoff over.
    this.#crashStreak = lived >= this.#o.stableMs ? 1 : this.#crashStreak + 1;
    const delay = Math.min(this.#o.restartMaxMs, this.#o.restartBaseMs * 2 ** (this.#crashStreak - 1));
    this.#o.logger.error({ worker: worker.id, pid: worker.process.pid, code, signal, livedMs: lived, restartInMs: delay }, 'gateway worker exited; restarting it');
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer);
      if (this.#stopping) return;
      this.restarts += 1;
      this.#fork();
    }, delay);
    this.#restartTimers.add(timer);
  };

  /**
   * Asks every serving worker `what`; a worker still starting is not asked (it has no answer
   * yet, and waiting for it would stall probes), and one that does not answer within `timeoutMs`
   * (busy, dying) is reported with a null answer rather than failing the whole question.
   */
  ask(what: WorkerQuestion, timeoutMs: number): Promise<Array<{ worker: WorkerInfo; answer: WorkerAnswer | null }>> {
    const infos = this.workers();
    return Promise.all(
      infos.map(async (info) => {
        const slot = this.#slots.get(info.id);
        if (slot === undefined || !slot.ready || !slot.worker.isConnected()) return { worker: info, answer: null };
        const id = this.#nextQuery++;
        const answer = await new Promise<WorkerAnswer | null>((resolve) => {
          const timer = setTimeout(() => {
            this.#pending.delete(id);
            resolve(null);
          }, timeoutMs);
          this.#pending.set(id, { resolve, timer });
          const failed = () => {
            clearTimeout(timer);
            this.#pending.delete(id);
            resolve(null);
          };
          try {
            slot.worker.send({ tollgate: 'query', id, what }, undefined, (err) => (err ? failed() : undefined));
          } catch {
            failed();
          }
        });
        return { worker: info, answer };
      }),
    );
  }

  /**
   * Stops every worker: SIGTERM (each drains its in-flight requests and flushes its usage, as a
   * single process does on SIGTERM), then SIGKILL for any still running after `stopTimeoutMs`.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#restartTimers) clearTimeout(t);
    this.#restartTimers.clear();
    const exits = [...this.#slots.values()].map(
      ({ worker }) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once('exit', () => resolve());
          worker.process.kill('SIGTERM');
        }),
    );
    const timer = setTimeout(() => {
      for (const { worker } of this.#slots.values()) {
        if (!worker.isDead()) {
          this.#o.logger.error({ worker: worker.id, pid: worker.process.pid }, 'worker did not stop in time; killing it');
          worker.process.kill('SIGKILL');
        }
      }
    }, this.#o.stopTimeoutMs);
    await Promise.all(exits);
    clearTimeout(timer);
    this.#slots.clear();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.resolve(null);
    }
    this.#pending.clear();
    cluster.off('message', this.#onMessage);
    cluster.off('exit', this.#onExit);
  }
}
