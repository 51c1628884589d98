import { describe, expect, it } from 'vitest';
import type { OutboxEvent } from '@tollgate/model';
import type { UsageEvent } from './accumulator.js';
import { ConditionDetectors } from './condition-detectors.js';

const base: UsageEvent = { at: 0, consumer: 'acme', subscription: null, api: 'shop', apiVersion: '', route: 'r', status: 200, source: 'upstream', units: 1, metric: 'requests', bytesIn: 0, bytesOut: 0, latencyMs: 1 };

function collect() {
  const out: Array<{ event: OutboxEvent; latch?: { key: string; state: string; initial: string } }> = [];
  return { out, raise: (event: OutboxEvent, latch?: { key: string; state: string; initial: string }) => out.push({ event, ...(latch ? { latch } : {}) }) };
}

describe('ConditionDetectors', () => {
  it('raises consumer.rate_limited once per window at the threshold of gateway 429s', () => {
    const d = new ConditionDetectors({ windowMs: 60_000, rateLimitedThreshold: 3 });
    const { out, raise } = collect();
    for (let i = 0; i < 2; i++) d.record({ ...base, at: 1_000 + i, status: 429, source: 'gateway' });
    d.record({ ...base, at: 1_500, status: 429, source: 'upstream' });
    d.evaluate(2_000, 'n1', raise);
    expect(out).toHaveLength(0);
    d.record({ ...base, at: 3_000, status: 429, source: 'gateway' });
    d.evaluate(4_000, 'n1', raise);
    d.record({ ...base, at: 5_000, status: 429, source: 'gateway' });
    d.evaluate(6_000, 'n1', raise);
    expect(out.map((o) => o.event.type)).toEqual(['consumer.rate_limited']);
    expect(out[0]!.event).toMatchObject({ data: { consumer: 'acme', refused: 3, threshold: 3, windowStart: '1970-01-01T00:00:00.000Z' }, dedupeKey: 'consumer.rate_limited:acme:1970-01-01T00:00:00.000Z' });
  });

  it('judges an API\'s error rate on completed windows, latched high/normal', () => {
    const d = new ConditionDetectors({ windowMs: 10_000, errorRateThreshold: 0.2, errorRateMinRequests: 5 });
    const { out, raise } = collect();
    for (let i = 0; i < 10; i++) d.record({ ...base, at: 100 + i, status: i < 3 ? 502 : 200 });
    d.evaluate(9_000, 'n1', raise);
    expect(out).toHaveLength(0);
    for (let i = 0; i < 10; i++) d.record({ ...base, at: 10_100 + i, status: 200 });
    d.evaluate(10_500, 'n1', raise);
    expect(out[0]).toMatchObject({ event: { type: 'api.error_rate_high', data: { api: 'shop', errorRate: 0.3, requests: 10, errors: 3 } }, latch: { key: 'api-error-rate:shop', state: 'high', initial: 'normal' } });
    d.evaluate(20_100, 'n1', raise);
    expect(out[1]).toMatchObject({ event: { type: 'api.error_rate_normal', data: { errors: 0, requests: 10 } }, latch: { state: 'normal' } });
    // Too few answers say nothing.
    d.record({ ...base, at: 30_000, status: 500 });
    d.evaluate(40_000, 'n1', raise);
    expect(out).toHaveLength(2);
  });
});
