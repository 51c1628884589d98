/**
 * Stable code of the 503 answered while the event loop lags (the proxy listener refuses requests
 * with it before any routing or upstream work, RFC 9110 §15.6.4 and §10.2.3).
 */
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
