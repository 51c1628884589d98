import { useEffect, useState } from 'preact/hooks';
import { usageByHour } from './consumers.js';
import { Chart } from './ui/chart.js';
import { formatNumber } from './ui/format.js';
import { ErrorState, Loading, messageOf } from './ui/states.js';

const HOUR_MS = 3_600_000;
const HOURS = 24;

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; x: number[]; requests: number[]; total: number };

/** Requests per hour over the last 24 hours, from the usage rollups (what the invoice reads). */
export function ConsumerUsageChart({ consumer, generation }: { consumer: string; generation: number }) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const load = () => {
    const end = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + HOUR_MS;
    const start = end - HOURS * HOUR_MS;
    usageByHour(consumer, new Date(start), new Date(end))
      .then((usage) => {
        // Every hour of the range, zero where nothing was counted, so the chart has no gaps.
        const perHour = new Map<number, number>();
        for (const item of usage.items) {
          const t = Date.parse(item.bucket);
          perHour.set(t, (perHour.get(t) ?? 0) + item.requests);
        }
        const x: number[] = [];
        const requests: number[] = [];
        for (let t = start; t < end; t += HOUR_MS) {
          x.push(t / 1000);
          requests.push(perHour.get(t) ?? 0);
        }
        setState({ kind: 'loaded', x, requests, total: usage.totals.requests });
      })
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The usage could not be loaded.') }));
  };
  useEffect(load, [consumer, generation]);

  return (
    <div class="card panel" role="region" aria-labelledby="usage-title">
      <div class="panel-head">
        <h2 id="usage-title">Usage, last 24 hours</h2>
        {state.kind === 'loaded' && (
          <span class="count" data-testid="usage-total">
            {formatNumber(state.total)} requests
          </span>
        )}
        <span class="grow" />
        <button type="button" class="secondary small" onClick={load}>
          Refresh
        </button>
      </div>
      {state.kind === 'loading' && <Loading label="Loading usage…" />}
      {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
      {state.kind === 'loaded' && (
        <div class="pad">
          <Chart summary={`Requests per hour by ${consumer} over the last 24 hours: ${state.total} in total.`} x={state.x} series={[{ label: 'Requests', values: state.requests }]} bars />
          {state.total === 0 && <p class="muted">No requests counted yet. Usage is written every few seconds by the gateways.</p>}
        </div>
      )}
    </div>
  );
}
