import { describe, expect, it } from 'vitest';
import { seriesByGroup, type AnalyticsItem } from './analytics-series.js';

const H = 3_600_000;
const from = Date.UTC(2026, 11, 7, 0, 0);
const item = (hour: number, group: string | null, requests: number, classes: Record<string, number> = { '2xx': requests }, p99 = 10): AnalyticsItem => ({
  bucket: new Date(from + hour * H).toISOString().replace('.000Z', 'Z'),
  group,
  requests,
  statusClasses: classes,
  latencyMs: { mean: 5, p50: 4, p90: 8, p99 },
});

describe('seriesByGroup', () => {
  it('fills every hour of the range, zero where nothing was counted, busiest group first', () => {
    const out = seriesByGroup([item(1, 'shop', 3), item(3, 'shop', 2), item(3, 'billing', 9)], from, from + 4 * H, 'hour');
    expect(out.x).toEqual([0, 1, 2, 3].map((h) => (from + h * H) / 1000));
    expect(out.series).toEqual([
      { label: 'billing', values: [0, 0, 0, 9] },
      { label: 'shop', values: [0, 3, 0, 2] },
    ]);
    expect(out.rows.map((r) => [r.group, r.requests])).toEqual([
      ['billing', 9],
      ['shop', 5],
    ]);
  });

  it('counts 4xx and 5xx as errors, keeps the worst p99 and names anonymous callers', () => {
    const out = seriesByGroup([item(0, null, 10, { '2xx': 7, '4xx': 2, '5xx': 1 }, 30), item(1, null, 10, { '2xx': 10 }, 80)], from, from + 2 * H, 'hour');
    expect(out.rows).toEqual([{ group: 'anonymous', requests: 20, errors: 3, serverErrors: 1, latencySum: 100, worstP99: 80 }]);
  });

  it('draws six lines and sums the rest into "other"; day buckets are UTC dates', () => {
    const D = 86_400_000;
    const items: AnalyticsItem[] = Array.from({ length: 8 }, (_, i) => ({ ...item(0, `api-${i}`, 10 - i), bucket: '2026-12-08' }));
    const out = seriesByGroup(items, from, from + 2 * D, 'day');
    expect(out.x).toEqual([from / 1000, (from + D) / 1000]);
    expect(out.series.map((s) => s.label)).toEqual(['api-0', 'api-1', 'api-2', 'api-3', 'api-4', 'api-5', 'other']);
    expect(out.series.at(-1)?.values).toEqual([0, 4 + 3]);
    expect(out.rows).toHaveLength(8);
  });
});
