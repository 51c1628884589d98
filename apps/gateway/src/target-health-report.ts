import { MAX_REPORTED_TARGETS, type TargetHealth } from '@tollgate/stores';
import type { TargetState } from '@tollgate/upstream';

/** What the report reads of an upstream (a RuntimeUpstream has it). */
export interface ReportedUpstream {
  readonly targets: readonly { readonly origin: string; readonly state: TargetState }[];
  readonly maxInflightPerTarget: number;
}

/**
 * What this node knows about its upstream targets, for the heartbeat (the console's Upstreams
 * screen and `GET /upstream-health` read it): active health from probes, the end of a passive
 * ejection, and in-flight requests against the circuit breaker's per-target limit. Read from the
 * live target states once per heartbeat, never per request.
 */
export function targetHealthReport(upstreams: ReadonlyMap<string, ReportedUpstream>, now: number): TargetHealth[] {
  const out: TargetHealth[] = [];
  for (const [name, u] of upstreams) {
    for (const t of u.targets) {
      if (out.length >= MAX_REPORTED_TARGETS) return out;
      const s = t.state;
      out.push({
        upstream: name,
        target: t.origin,
        activeHealthy: s.activeHealthy,
        ejectedUntil: s.ejected(now) ? new Date(s.ejectedUntil).toISOString() : null,
        consecutiveErrors: s.consecutiveErrors,
        inflight: s.inflight,
        maxInflight: u.maxInflightPerTarget,
      });
    }
  }
  return out;
}
