import { PassThrough } from 'node:stream';
import { TargetState, UpstreamRuntime } from '@tollgate/upstream';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { RequestState } from './access-log.js';
import { acquireTarget, Lease, type RuntimeTarget } from './runtime.js';

function upstream(maxInflight: number, consecutiveErrors = 100): { rt: UpstreamRuntime<RuntimeTarget>; t: RuntimeTarget } {
  const t: RuntimeTarget = { origin: 'http://a', host: 'a', pool: {} as Dispatcher, state: new TargetState('u', 'http://a') };
  const outlier = { consecutiveErrors, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 100 };
  const rt = new UpstreamRuntime<RuntimeTarget>({ name: 'u', algorithm: 'round-robin', hashOn: null, subsets: {}, outlier, maxInflightPerTarget: maxInflight }, [{ value: t, weight: 1 }]);
  return { rt, t };
}
const pick = { headers: {}, clientIp: '10.0.0.1', query: null };

describe('Lease', () => {
  it('releases once however many paths end it, and observes once', () => {
    const { rt, t } = upstream(1, 2);
    const lease = acquireTarget(rt, null, pick, null) as Lease;
    expect(lease).toBeInstanceOf(Lease);
    expect(acquireTarget(rt, null, pick, null)).toBe('UPSTREAM_OVERLOADED');
    lease.release(true);
    lease.release(true);
    lease.release();
    expect(t.state.inflight).toBe(0);
    // One failure observed, not three (the outlier threshold is 2).
    expect(t.state.consecutiveErrors).toBe(1);
    expect(acquireTarget(rt, null, pick, null)).toBeInstanceOf(Lease);
  });

  it('a release without a verdict leaves passive health alone', () => {
    const { rt, t } = upstream(1);
    t.state.consecutiveErrors = 1;
    (acquireTarget(rt, null, pick, null) as Lease).release();
    expect(t.state.consecutiveErrors).toBe(1);
  });

  it('destroys an upstream body left unread when released', () => {
    const { rt } = upstream(1);
    const lease = acquireTarget(rt, null, pick, null) as Lease;
    const body = new PassThrough();
    lease.body = body;
    lease.release();
    expect(body.destroyed).toBe(true);
  });
});

describe('RequestState as the lease holder', () => {
  it('releases every lease it still holds (one or many), once', () => {
    const { rt, t } = upstream(5);
    const state = new RequestState();
    const a = acquireTarget(rt, null, pick, state) as Lease;
    acquireTarget(rt, null, pick, state);
    acquireTarget(rt, null, pick, state);
    a.release(false);
    // A retry's next try replaces a released lease.
    acquireTarget(rt, null, pick, state);
    expect(t.state.inflight).toBe(3);
    state.releaseLeases();
    state.releaseLeases();
    expect(t.state.inflight).toBe(0);
  });
});
