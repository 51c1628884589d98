import { describe, expect, it } from 'vitest';
import { TargetState } from '@tollgate/upstream';
import { targetHealthReport } from './target-health-report.js';

describe('targetHealthReport', () => {
  it('reports active health, a running ejection and in-flight requests against the limit, per target', () => {
    const now = Date.parse('2026-12-07T09:00:00Z');
    const a = new TargetState('orders', 'http://10.0.0.1:80');
    a.inflight = 3;
    const b = new TargetState('orders', 'http://10.0.0.2:80');
    b.activeHealthy = false;
    b.consecutiveErrors = 2;
    b.ejectedUntil = now + 30_000;
    const c = new TargetState('orders', 'http://10.0.0.3:80');
    c.ejectedUntil = now - 1; // an ejection that has ended is not reported
    const report = targetHealthReport(new Map([['orders', { maxInflightPerTarget: 8, targets: [a, b, c].map((state) => ({ origin: state.origin, state })) }]]), now);
    expect(report).toEqual([
      { upstream: 'orders', target: 'http://10.0.0.1:80', activeHealthy: true, ejectedUntil: null, consecutiveErrors: 0, inflight: 3, maxInflight: 8 },
      { upstream: 'orders', target: 'http://10.0.0.2:80', activeHealthy: false, ejectedUntil: '2026-12-07T09:00:30.000Z', consecutiveErrors: 2, inflight: 0, maxInflight: 8 },
      { upstream: 'orders', target: 'http://10.0.0.3:80', activeHealthy: true, ejectedUntil: null, consecutiveErrors: 0, inflight: 0, maxInflight: 8 },
    ]);
  });
});
