import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterFamily, HistogramFamily } from './metric-accumulators.js';

const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A deterministic spread of latencies, including exact bounds, zero and values past the last bound. */
function values(n: number): number[] {
  const out: number[] = [];
  let x = 7;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(i % 17 === 0 ? (BOUNDS[i % BOUNDS.length] as number) : i % 29 === 0 ? 75 : i % 31 === 0 ? 0 : (x % 100000) / 1e6);
  }
  return out;
}

describe('metric accumulators', () => {
  it('expose exactly what prom-client exposes for the same calls (text and JSON)', async () => {
    const ref = new Registry();
    const acc = new Registry();
    const labelNames = ['api', 'api_version', 'route', 'method', 'code', 'source'];
    const refCounter = new Counter({ name: 'c_total', help: 'a "counter"\nwith escapes \\', labelNames, registers: [ref] });
    const refHist = new Histogram({ name: 'h_seconds', help: 'a histogram', labelNames: ['api', 'api_version', 'route'], buckets: BOUNDS, registers: [ref] });
    const refBytes = new Counter({ name: 'b_total', help: 'bytes', labelNames: ['direction'], registers: [ref] });
    const counter = new CounterFamily(acc, 'c_total', 'a "counter"\nwith escapes \\', labelNames);
    const hist = new HistogramFamily(acc, 'h_seconds', 'a histogram', ['api', 'api_version', 'route'], BOUNDS);
    const bytes = new CounterFamily(acc, 'b_total', 'bytes', ['direction']);
    const routes = [
      { api: 'a', api_version: 'v1', route: 'r' },
      { api: 'b"q\\x\ny', api_version: '', route: '(none)' },
    ];
    const seriesOf = routes.map((r) => hist.of(r));
    values(500).forEach((v, i) => {
      const r = routes[i % 2] as (typeof routes)[number];
      const labels = { ...r, method: i % 3 === 0 ? 'POST' : 'GET', code: i % 5 === 0 ? 404 : 200, source: i % 7 === 0 ? 'gateway' : 'upstream' };
      refCounter.inc(labels);
      counter.of(labels).value += 1;
      refHist.observe(r, v);
      hist.observe(seriesOf[i % 2] as ReturnType<typeof hist.of>, v);
      refBytes.labels('egress').inc(i + 1);
      bytes.of({ direction: 'egress' }).value += i + 1;
    });
    expect(await acc.metrics()).toBe(await ref.metrics());
    expect(await acc.getMetricsAsJSON()).toEqual(await ref.getMetricsAsJSON());
  });

  it('shows a series only once it has been updated, and forgets all on reset', async () => {
    const reg = new Registry();
    const c = new CounterFamily(reg, 'x_total', 'x', ['k']);
    const h = new HistogramFamily(reg, 'y_seconds', 'y', ['k'], [1]);
    const s = c.of({ k: 'a' });
    h.of({ k: 'a' });
    expect(await reg.metrics()).not.toContain('k="a"');
    expect(c.of({ k: 'a' })).toBe(s);
    s.value += 2;
    expect(await reg.metrics()).toContain('x_total{k="a"} 2');
    reg.resetMetrics();
    expect(await reg.metrics()).not.toContain('k="a"');
  });
});
