import type { CompiledActiveCheck, CompiledUpstream } from '@tollgate/compiler';
import { tlsConnector, type TargetState } from '@tollgate/upstream';
import type { Logger } from 'pino';
import { Client } from 'undici';
import type { RuntimeSnapshot } from './runtime.js';

interface Check {
  readonly upstream: string;
  readonly origin: string;
  /** Identity of the settings; a changed check is restarted. */
  readonly settingsKey: string;
  readonly check: CompiledActiveCheck;
  readonly client: Client;
  state: TargetState;
  timer: NodeJS.Timeout | null;
  stopped: boolean;
}

function passes(check: CompiledActiveCheck, status: number): boolean {
  return check.expectedStatuses === null ? status >= 200 && status < 400 : check.expectedStatuses.includes(status);
}

/**
 * Active health checks, run by each gateway node in the background (never on the request path):
 * every target of an upstream with `healthChecks.active` gets a GET of `path` every `intervalMs`
 * on its own connection (not the traffic pool, so a saturated pool cannot fail the probe). After
 * `unhealthyThreshold` consecutive failures (an unexpected status, a timeout, a connection
 * error) the target receives no traffic; after `healthyThreshold` consecutive passes it returns.
 * Targets start healthy. Checks of unchanged targets keep running across snapshots.
 */
export class HealthChecker {
  readonly #checks = new Map<string, Check>();
  #closed = false;

  /** `onChange` hears every transition (the gateway raises `upstream.target_down` / `_up` events with it). */
  constructor(
    private readonly logger: Logger,
    private readonly onChange?: (upstream: string, target: string, healthy: boolean) => void,
  ) {}

  /** Starts, keeps or stops checks to match the snapshot. */
  sync(snapshot: RuntimeSnapshot): void {
    if (this.#closed) return;
    const wanted = new Set<string>();
    for (const [name, up] of snapshot.upstreams) {
      const compiled: CompiledUpstream | undefined = snapshot.compiledUpstreams[name];
      const check = compiled?.activeCheck ?? null;
      for (const t of up.targets) {
        const key = `${name}\n${t.origin}`;
        if (check === null || compiled === undefined) {
          // No active check (any more): the target is no longer held out by one.
          t.state.activeHealthy = true;
          t.state.probeFailures = 0;
          t.state.probePasses = 0;
          continue;
        }
        wanted.add(key);
        const settingsKey = JSON.stringify([check, compiled.tls, compiled.connectMs]);
        const existing = this.#checks.get(key);
        if (existing !== undefined && existing.settingsKey === settingsKey) {
          existing.state = t.state;
          continue;
        }
        if (existing !== undefined) this.#stop(existing);
        const c: Check = {
          upstream: name,
          origin: t.origin,
          settingsKey,
          check,
          client: new Client(t.origin, {
            connectTimeout: Math.min(check.timeoutMs, compiled.connectMs),
            pipelining: 1,
            ...(t.origin.startsWith('https:') ? { connect: tlsConnector(compiled.tls ?? { rejectUnauthorized: true }, Math.min(check.timeoutMs, compiled.connectMs)) } : {}),
          }),
          state: t.state,
          timer: null,
          stopped: false,
        };
        this.#checks.set(key, c);
        this.#schedule(c, 0);
      }
    }
    for (const [key, c] of this.#checks) {
      if (!wanted.has(key)) {
        this.#stop(c);
        this.#checks.delete(key);
      }
    }
  }

  #schedule(c: Check, delayMs: number): void {
    if (c.stopped) return;
    c.timer = setTimeout(() => void this.#probe(c), delayMs);
    c.timer.unref();
  }

  async #probe(c: Check): Promise<void> {
    let ok = false;
    let detail = '';
    try {
      const res = await c.client.request({
        method: 'GET',
        path: c.check.path,
        headers: { 'user-agent': 'tollgate-health-check' },
        signal: AbortSignal.timeout(c.check.timeoutMs),
      });
      await res.body.dump();
      ok = passes(c.check, res.statusCode);
      detail = `status ${res.statusCode}`;
    } catch (err) {
      detail = (err as Error).message;
    }
    if (c.stopped) return;
    this.#record(c, ok, detail);
    this.#schedule(c, c.check.intervalMs);
  }

  #record(c: Check, ok: boolean, detail: string): void {
    const s = c.state;
    if (ok) {
      s.probeFailures = 0;
      s.probePasses++;
      if (!s.activeHealthy && s.probePasses >= c.check.healthyThreshold) {
        s.activeHealthy = true;
        this.logger.info({ upstream: c.upstream, target: c.origin }, 'target healthy again (active health check)');
        this.onChange?.(c.upstream, c.origin, true);
      }
    } else {
      s.probePasses = 0;
      s.probeFailures++;
      if (s.activeHealthy && s.probeFailures >= c.check.unhealthyThreshold) {
        s.activeHealthy = false;
        this.logger.warn({ upstream: c.upstream, target: c.origin, detail }, 'target unhealthy (active health check); it gets no traffic');
        this.onChange?.(c.upstream, c.origin, false);
      }
    }
  }

  #stop(c: Check): void {
    c.stopped = true;
    if (c.timer !== null) clearTimeout(c.timer);
    c.client.destroy().catch(() => undefined);
  }

  /** Stops every check. */
  close(): void {
    this.#closed = true;
    for (const c of this.#checks.values()) this.#stop(c);
    this.#checks.clear();
  }
}
