import { useEffect, useState } from 'preact/hooks';
import { call } from './api.js';
import { formatMoney, formatNumber, thisMonth } from './ui/format.js';
import { Empty, ErrorState, Loading, messageOf } from './ui/states.js';

interface ReportLine {
  type: 'usage' | 'base_fee';
  consumer: string;
  consumerName: string;
  plan: string;
  api: string;
  metric: string;
  unit: string;
  quantity: number;
  includedQuantity: number;
  billableQuantity: number;
  unitPrice: string;
  amount: number;
  currency: string;
}

interface BillingReport {
  reportId: string;
  month: string;
  status: 'final' | 'preview';
  revision: number;
  generatedAt: string;
  lines: ReportLine[];
  totals: Array<{ consumer: string; consumerName: string; customId: string; currency: string; amount: number; lines: number }>;
  unpriced: Array<{ consumer: string; plan: string; metric: string; units: number; reason: string }>;
}

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; report: BillingReport };

const FORMATS = [
  ['csv', 'CSV'],
  ['json', 'JSON'],
  ['html', 'HTML invoices'],
  ['pdf', 'PDF invoices'],
] as const;

/** Totals per currency (a report may mix plans priced in different currencies). */
function grandTotals(report: BillingReport): string {
  const sums = new Map<string, number>();
  for (const t of report.totals) sums.set(t.currency, (sums.get(t.currency) ?? 0) + t.amount);
  return [...sums].map(([c, a]) => formatMoney(a, c)).join(' + ') || formatMoney(0, 'EUR');
}

/** The Billing screen: a month's report (preview while the month is open), per consumer and per line, and its downloads. */
export function Billing() {
  const [month, setMonth] = useState(thisMonth());
  const [state, setState] = useState<State>({ kind: 'loading' });
  const load = () => {
    if (!/^\d{4}-\d{2}$/.test(month)) return;
    setState({ kind: 'loading' });
    call<BillingReport>('GET', `/reports/billing?month=${month}&format=json`)
      .then((report) => setState({ kind: 'loaded', report }))
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The billing report could not be loaded.') }));
  };
  useEffect(load, [month]);

  return (
    <section aria-labelledby="billing-title">
      <div class="page-head">
        <h1 id="billing-title">Billing</h1>
        {state.kind === 'loaded' && <span class={`badge plain ${state.report.status === 'final' ? 'badge-published' : 'badge-deprecated'}`}>{state.report.status === 'final' ? `Final, revision ${state.report.revision}` : 'Preview: month still open'}</span>}
      </div>
      <div class="toolbar">
        <label for="billing-month" class="inline-label">
          Month
        </label>
        <input id="billing-month" type="month" value={month} max={thisMonth()} onChange={(e) => setMonth((e.target as HTMLInputElement).value)} />
        <span class="grow" />
        <span class="muted">Download</span>
        {FORMATS.map(([format, label]) => (
          // Same-origin GETs authenticated by the session cookie: nothing secret in the URL.
          <a key={format} class="button secondary" href={`/reports/billing?month=${month}&format=${format}`} download={`billing-${month}.${format}`}>
            {label}
          </a>
        ))}
      </div>
      {state.kind === 'loading' && <Loading label="Loading the billing report…" />}
      {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
      {state.kind === 'loaded' && state.report.lines.length === 0 && state.report.unpriced.length === 0 && (
        <Empty title={`Nothing billed in ${state.report.month}`}>No subscribed consumer used a priced plan this month.</Empty>
      )}
      {state.kind === 'loaded' && (state.report.lines.length > 0 || state.report.unpriced.length > 0) && (
        <div class="stack">
          <div class="stats">
            <div class="stat card">
              <span class="stat-label">Total</span>
              <span class="stat-value" data-testid="billing-total">
                {grandTotals(state.report)}
              </span>
            </div>
            <div class="stat card">
              <span class="stat-label">Consumers billed</span>
              <span class="stat-value">{state.report.totals.length}</span>
            </div>
            <div class="stat card">
              <span class="stat-label">Report</span>
              <span class="stat-value small">
                <code>{state.report.reportId}</code>
              </span>
            </div>
          </div>
          <div class="card table-card" role="region" aria-labelledby="billing-totals-title">
            <h2 id="billing-totals-title" class="table-title">
              Per consumer
            </h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Consumer</th>
                  <th scope="col">Custom ID</th>
                  <th scope="col" class="num">
                    Lines
                  </th>
                  <th scope="col" class="num">
                    Amount
                  </th>
                </tr>
              </thead>
              <tbody>
                {state.report.totals.map((t) => (
                  <tr key={`${t.consumer}-${t.currency}`}>
                    <td class="name">{t.consumerName || t.consumer}</td>
                    <td>{t.customId || <span class="muted">—</span>}</td>
                    <td class="num">{t.lines}</td>
                    <td class="num">{formatMoney(t.amount, t.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="card table-card" role="region" aria-labelledby="billing-lines-title">
            <h2 id="billing-lines-title" class="table-title">
              Lines
            </h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Consumer</th>
                  <th scope="col">Plan</th>
                  <th scope="col">What</th>
                  <th scope="col" class="num">
                    Quantity
                  </th>
                  <th scope="col" class="num">
                    Included
                  </th>
                  <th scope="col" class="num">
                    Billable
                  </th>
                  <th scope="col" class="num">
                    Amount
                  </th>
                </tr>
              </thead>
              <tbody>
                {state.report.lines.map((l, i) => (
                  <tr key={i}>
                    <td>{l.consumerName || l.consumer}</td>
                    <td>{l.plan}</td>
                    <td>{l.type === 'base_fee' ? 'Base fee' : `${l.metric} on ${l.api}`}</td>
                    <td class="num">{l.type === 'base_fee' ? '' : formatNumber(l.quantity)}</td>
                    <td class="num">{l.type === 'base_fee' ? '' : formatNumber(l.includedQuantity)}</td>
                    <td class="num">{l.type === 'base_fee' ? '' : formatNumber(l.billableQuantity)}</td>
                    <td class="num">{formatMoney(l.amount, l.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {state.report.unpriced.length > 0 && (
            <p class="notice" role="note">
              {state.report.unpriced.length} consumer/metric combinations had usage without a priced plan ({state.report.unpriced.map((u) => u.consumer).join(', ')}); they appear in the downloads, not in the totals.
            </p>
          )}
        </div>
      )}
    </section>
  );
}
