import { useEffect, useState } from 'preact/hooks';
import { call } from './api.js';
import { seriesByGroup, type AnalyticsItem, type GroupRow } from './analytics-series.js';
import { Chart, type Series } from './ui/chart.js';
import { formatNumber, formatPercent } from './ui/format.js';
import { Empty, ErrorState, Loading, messageOf } from './ui/states.js';

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

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; x: number[]; series: Series[]; rows: GroupRow[] };

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
    call<{ items: AnalyticsItem[] }>('GET', `/analytics/requests?${query.toString()}`)
      .then((res) => setState({ kind: 'loaded', ...seriesByGroup(res.items, from, to, granularity) }))
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
