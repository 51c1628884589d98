import { useEffect, useState } from 'preact/hooks';
import { call } from './api.js';
import { Chart, type Series } from './ui/chart.js';
import { formatNumber, formatPercent } from './ui/format.js';
import { Empty, ErrorState, Loading, messageOf } from './ui/states.js';

interface Item {
  bucket: string;
  group: string | null;
  requests: number;
  statusClasses: Record<string, number>;
  latencyMs: { mean: number; p50: number; p90: number; p99: number };
}

const RANGES = [
  ['1h', 'Last hour', 3_600_000, 'hour'],
  ['24h', 'Last 24 hours', 86_400_000, 'hour'],
  ['7d', 'Last 7 days', 7 * 86_400_000, 'hour'],
  ['30d', 'Last 30 days', 30 * 86_400_000, 'day'],
] as const;
const GROUPS = [
  ['api', 'API'],
  ['route', 'Route'],
  ['consumer', 'Consumer'],
  ['status_class', 'Status class'],
] as const;
type RangeKey = (typeof RANGES)[number][0];
type GroupKey = (typeof GROUPS)[number][0];

/** Lines drawn at most; the rest are summed into "other" (the table lists every group). */
const MAX_LINES = 6;

interface Row {
  group: string;
  requests: number;
  errors: number;
  serverErrors: number;
  latencySum: number;
  worstP99: number;
}

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; x: number[]; series: Series[]; rows: Row[] };

const STEP_MS = { hour: 3_600_000, day: 86_400_000 } as const;

function shape(items: Item[], from: number, to: number, granularity: 'hour' | 'day'): { x: number[]; series: Series[]; rows: Row[] } {
  const step = STEP_MS[granularity];
  const start = Math.floor(from / step) * step;
  const x: number[] = [];
  for (let t = start; t < to; t += step) x.push(t / 1000);
  const index = new Map(x.map((t, i) => [t * 1000, i]));
  const rows = new Map<string, Row>();
  const perGroup = new Map<string, number[]>();
  for (const item of items) {
    const group = item.group ?? 'anonymous';
    const row = rows.get(group) ?? { group, requests: 0, errors: 0, serverErrors: 0, latencySum: 0, worstP99: 0 };
    row.requests += item.requests;
    row.errors += (item.statusClasses['4xx'] ?? 0) + (item.statusClasses['5xx'] ?? 0);
    row.serverErrors += item.statusClasses['5xx'] ?? 0;
    row.latencySum += item.latencyMs.mean * item.requests;
    row.worstP99 = Math.max(row.worstP99, item.latencyMs.p99);
    rows.set(group, row);
    const t = Date.parse(item.bucket.length === 10 ? `${item.bucket}T00:00:00Z` : item.bucket);
    const i = index.get(t);
    if (i === undefined) continue;
    const values = perGroup.get(group) ?? new Array<number>(x.length).fill(0);
    values[i] = (values[i] ?? 0) + item.requests;
    perGroup.set(group, values);
  }
  const sorted = [...rows.values()].sort((a, b) => b.requests - a.requests);
  const shown = sorted.slice(0, MAX_LINES).map((r) => r.group);
  const series: Series[] = shown.map((g) => ({ label: g, values: perGroup.get(g) ?? [] }));
  if (sorted.length > MAX_LINES) {
    const other = new Array<number>(x.length).fill(0);
    for (const r of sorted.slice(MAX_LINES)) (perGroup.get(r.group) ?? []).forEach((v, i) => (other[i] = (other[i] ?? 0) + v));
    series.push({ label: 'other', values: other });
  }
  return { x, series, rows: sorted };
}

/** The Analytics screen: requests by API, route, consumer or status class over a chosen range, from the stored rollups. */
export function Analytics() {
  const [range, setRange] = useState<RangeKey>('24h');
  const [groupBy, setGroupBy] = useState<GroupKey>('api');
  const [state, setState] = useState<State>({ kind: 'loading' });
  const load = () => {
    const [, , span, granularity] = RANGES.find((r) => r[0] === range) ?? RANGES[1];
    const to = Date.now();
    const from = to - span;
    setState({ kind: 'loading' });
    const query = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), granularity, groupBy });
    call<{ items: Item[] }>('GET', `/analytics/requests?${query.toString()}`)
      .then((res) => setState({ kind: 'loaded', ...shape(res.items, from, to, granularity) }))
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The analytics could not be loaded.') }));
  };
  useEffect(load, [range, groupBy]);
  const groupLabel = GROUPS.find((g) => g[0] === groupBy)?.[1] ?? groupBy;

  return (
    <section aria-labelledby="analytics-title">
      <div class="page-head">
        <h1 id="analytics-title">Analytics</h1>
      </div>
      <div class="toolbar">
        <label for="analytics-range" class="inline-label">
          Range
        </label>
        <select id="analytics-range" value={range} onChange={(e) => setRange((e.target as HTMLSelectElement).value as RangeKey)}>
          {RANGES.map(([key, label]) => (
            <option key={key} value={key}>
              {label}
            </option>
          ))}
        </select>
        <label for="analytics-group" class="inline-label">
          Group by
        </label>
        <select id="analytics-group" value={groupBy} onChange={(e) => setGroupBy((e.target as HTMLSelectElement).value as GroupKey)}>
          {GROUPS.map(([key, label]) => (
            <option key={key} value={key}>
              {label}
            </option>
          ))}
        </select>
        <span class="grow" />
        <button type="button" class="secondary" onClick={load}>
          Refresh
        </button>
      </div>
      {state.kind === 'loading' && <Loading label="Loading analytics…" />}
      {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
      {state.kind === 'loaded' && state.rows.length === 0 && <Empty title="No requests in this range">Traffic through the gateways shows up here within a few seconds.</Empty>}
      {state.kind === 'loaded' && state.rows.length > 0 && (
        <div class="stack">
          <div class="card pad" role="region" aria-labelledby="analytics-chart-title">
            <h2 id="analytics-chart-title">Requests by {groupLabel.toLowerCase()}</h2>
            <Chart summary={`Requests per ${range === '30d' ? 'day' : 'hour'} by ${groupLabel.toLowerCase()}: ${state.rows.map((r) => `${r.group} ${r.requests}`).join(', ')}.`} x={state.x} series={state.series} />
          </div>
          <div class="card table-card">
            <table>
              <thead>
                <tr>
                  <th scope="col">{groupLabel}</th>
                  <th scope="col" class="num">
                    Requests
                  </th>
                  <th scope="col" class="num">
                    Error rate
                  </th>
                  <th scope="col" class="num">
                    5xx rate
                  </th>
                  <th scope="col" class="num">
                    Mean latency
                  </th>
                  <th scope="col" class="num">
                    Worst p99
                  </th>
                </tr>
              </thead>
              <tbody>
                {state.rows.map((r) => (
                  <tr key={r.group}>
                    <td class="name">{r.group}</td>
                    <td class="num">{formatNumber(r.requests)}</td>
                    <td class="num">{formatPercent(r.requests === 0 ? 0 : r.errors / r.requests)}</td>
                    <td class="num">{formatPercent(r.requests === 0 ? 0 : r.serverErrors / r.requests)}</td>
                    <td class="num">{r.requests === 0 ? '—' : `${(r.latencySum / r.requests).toFixed(1)} ms`}</td>
                    <td class="num">{`${r.worstP99.toFixed(1)} ms`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </section>
  );
}
