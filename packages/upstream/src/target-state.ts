/**
 * Mutable health and load state of one target of one upstream. It lives in the
 * {@link TargetStateRegistry}, outside the immutable snapshot, so a config swap that keeps the
 * target keeps its health (an ejected target stays ejected, an unhealthy one stays out).
 */
export class TargetState {
  /** Requests sent and not finished (response body not yet done). */
  inflight = 0;
  /** Active health: false after `unhealthyThreshold` failed probes, until `healthyThreshold` pass. */
  activeHealthy = true;
  /** Consecutive passing / failing probes. */
  probePasses = 0;
  probeFailures = 0;
  /** Consecutive 5xx or connection failures seen on live traffic. */
  consecutiveErrors = 0;
  /** Passive ejection: no traffic before this time (ms since epoch). */
  ejectedUntil = 0;
  /** Ejection multiplier: the n-th ejection lasts n × baseEjectionMs. */
  ejections = 0;

  constructor(
    readonly upstream: string,
    readonly origin: string,
  ) {}

  /** True when the target may receive traffic at `now`. */
  available(now: number): boolean {
    return this.activeHealthy && now >= this.ejectedUntil;
  }

  /** True while a passive ejection lasts. */
  ejected(now: number): boolean {
    return now < this.ejectedUntil;
  }
}

/** Holds target states across snapshots, keyed by upstream name and target origin. */
export class TargetStateRegistry {
  readonly #states = new Map<string, TargetState>();

  /** Returns the state of each wanted (upstream, origin), reusing existing ones; forgets the rest. */
  sync(wanted: readonly { upstream: string; origin: string }[]): Map<string, TargetState> {
    const out = new Map<string, TargetState>();
    for (const w of wanted) {
      const key = `${w.upstream}\n${w.origin}`;
      out.set(key, this.#states.get(key) ?? new TargetState(w.upstream, w.origin));
    }
    this.#states.clear();
    for (const [k, v] of out) this.#states.set(k, v);
    return out;
  }

  /** The state of a target, if the serving config has it. */
  get(upstream: string, origin: string): TargetState | undefined {
    return this.#states.get(`${upstream}\n${origin}`);
  }
}
