import { describe, expect, it } from 'vitest';
import { recentTraffic, type TrafficBucket } from './overview-data.js';

const bucket = (hour: string, requests: number, errorRate: number, p50: number, p99: number): TrafficBucket => ({ bucket: hour, requests, errorRate, serverErrorRate: 0, latencyMs: { mean: p50, p50, p90: p99, p99 } });

describe('recentTraffic', () => {
  const now = Date.parse('2026-12-07T09:30:00Z');

  it('sums the current and the previous hour, weights rates by requests, and takes the highest p99', () => {
    const r = recentTraffic([bucket('2026-12-07T07:00:00Z', 1000, 1, 500, 900), bucket('2026-12-07T08:00:00Z', 300, 0.1, 10, 50), bucket('2026-12-07T09:00:00Z', 100, 0.5, 30, 200)], now);
    expect(r.since.toISOString()).toBe('2026-12-07T08:00:00.000Z');
    expect(r.requests).toBe(400);
    expect(r.requestsPerSecond).toBeCloseTo(400 / 5400);
    expect(r.errorRate).toBeCloseTo((300 * 0.1 + 100 * 0.5) / 400);
    expect(r.p50).toBeCloseTo((300 * 10 + 100 * 30) / 400);
    expect(r.p99).toBe(200);
  });

  it('is all zeros without traffic', () => {
    expect(recentTraffic([], now)).toMatchObject({ requests: 0, requestsPerSecond: 0, errorRate: 0, p50: 0, p99: 0 });
  });
});
