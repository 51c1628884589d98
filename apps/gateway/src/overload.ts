import type { FastifyInstance } from 'fastify';
import { sendProblem } from './problem.js';

/** Stable code of the 503 answered while the event loop lags. */
export const OVERLOADED = 'OVERLOADED';

/**
 * Measures event-loop delay as the lateness of a repeating timer (what `@fastify/under-pressure`
 * derives from `monitorEventLoopDelay`): when a sample is later than the threshold, the process
 * is already behind on the work it has, and accepting more would only queue it without bound.
 */
export class EventLoopMonitor {
  #timer: NodeJS.Timeout | null = null;
  #expected = 0;
  /** Delay of the last sample, ms. */
  lastDelayMs = 0;

  constructor(
    private readonly thresholdMs: number,
    private readonly sampleMs: number,
  ) {}

  /** Starts sampling (the timer does not keep the process alive). */
  start(): void {
    if (this.#timer !== null) return;
    this.#expected = performance.now() + this.sampleMs;
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.lastDelayMs = Math.max(0, now - this.#expected);
      this.#expected = now + this.sampleMs;
    }, this.sampleMs);
    this.#timer.unref();
  }

  /** True while the last sample was later than the threshold. */
  get overloaded(): boolean {
    return this.lastDelayMs > this.thresholdMs;
  }

  /** Stops sampling. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/**
 * Refuses requests with 503, `Retry-After` and code OVERLOADED while the monitor reports
 * overload, before any routing or upstream work (RFC 9110 §15.6.4 and §10.2.3). The request body
 * is not read, so the connection is closed.
 */
export function addOverloadGuard(app: FastifyInstance, monitor: EventLoopMonitor, retryAfterSeconds: number): void {
  app.addHook('onRequest', (_request, reply, done) => {
    if (!monitor.overloaded) return done();
    reply.header('retry-after', String(retryAfterSeconds));
    sendProblem(reply, 503, OVERLOADED, 'Gateway overloaded', `the gateway is behind on its work (event-loop delay ${Math.round(monitor.lastDelayMs)} ms); retry later`, true);
  });
}
