import { stringify } from 'csv-stringify/sync';
import { formatMajor } from './money.js';
import { renderPdf } from './render-pdf.js';
import type { BillingReport, ConsumerTotal, ReportLine } from './report.js';

/** The report formats of the API, the CLI and the export. */
export const REPORT_FORMATS = ['csv', 'json', 'html', 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
/** The formats that are text (rendered synchronously). */
export type TextReportFormat = Exclude<ReportFormat, 'pdf'>;

/** Media type of each format (CSV: RFC 4180 §3 with the optional header parameter). */
export const REPORT_MEDIA_TYPES: Record<ReportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  json: 'application/json; charset=utf-8',
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
};

/** File name of a month's report in a format: `billing-2026-11.csv` (`billing-2026-11-acme.pdf` for one consumer). */
export function reportFileName(month: string, format: ReportFormat, consumer?: string): string {
  return `billing-${month}${consumer !== undefined ? `-${consumer}` : ''}.${format}`;
}

/** CSV columns, in order (snake_case, as spreadsheets and finance tools expect). */
export const CSV_COLUMNS = [
  'report_id',
  'status',
  'line_type',
  'period_start',
  'period_end',
  'consumer',
  'consumer_name',
  'custom_id',
  'plan',
  'subscription',
  'api',
  'metric',
  'unit',
  'quantity',
  'included_quantity',
  'billable_quantity',
  'charge_model',
  'unit_price',
  'amount',
  'currency',
  'events',
  'detail',
] as const;

/**
 * Text a spreadsheet would run as a formula (OWASP "CSV injection": cells starting with = + - @
 * or a tab/CR) gets a leading apostrophe. Only free text (display names, custom ids) can start
 * so; numbers are written as they are.
 */
function safeText(s: string): string {
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

function lineRecord(report: BillingReport, l: ReportLine): string[] {
  return [
    report.reportId,
    report.status,
    l.type,
    l.periodStart,
    l.periodEnd,
    l.consumer,
    safeText(l.consumerName),
    safeText(l.customId),
    l.plan,
    l.subscription,
    l.api,
    l.metric,
    safeText(l.unit),
    String(l.quantity),
    String(l.includedQuantity),
    String(l.billableQuantity),
    l.chargeModel,
    l.unitPrice,
    String(l.amount),
    l.currency,
    String(l.events),
    safeText(l.detail),
  ];
}

function totalRecord(report: BillingReport, t: ConsumerTotal): string[] {
  const row: Record<(typeof CSV_COLUMNS)[number], string> = Object.fromEntries(CSV_COLUMNS.map((c) => [c, ''])) as Record<(typeof CSV_COLUMNS)[number], string>;
  Object.assign(row, {
    report_id: report.reportId,
    status: report.status,
    line_type: 'total',
    consumer: t.consumer,
    consumer_name: safeText(t.consumerName),
    custom_id: safeText(t.customId),
    amount: String(t.amount),
    currency: t.currency,
    detail: `sum of ${t.lines} line(s)`,
  });
  return CSV_COLUMNS.map((c) => row[c]);
}

/**
 * CSV per RFC 4180: a header row, CRLF line ends, fields with a comma, quote, CR or LF quoted and
 * inner quotes doubled. UTF-8 with a byte order mark, without which Excel reads the file in the
 * system's legacy code page and garbles non-ASCII names. Each consumer's lines are followed by one `total` row per currency, whose
 * amount is the sum of the lines' amounts above it.
 */
export function renderCsv(report: BillingReport): string {
  const records: string[][] = [];
  for (const t of report.totals) {
    for (const l of report.lines) if (l.consumer === t.consumer && l.currency === t.currency) records.push(lineRecord(report, l));
    records.push(totalRecord(report, t));
  }
  return stringify(records, { bom: true, header: true, columns: [...CSV_COLUMNS], record_delimiter: 'windows', quoted_match: /^\s|\s$/ });
}

/** The report as JSON (2-space indented, a final newline): the same bytes for the same report. */
export function renderJson(report: BillingReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const CSS = `
:root { color-scheme: light; }
body { font: 10.5pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #111; margin: 0; background: #f3f4f6; }
.invoice { background: #fff; max-width: 60rem; margin: 1.5rem auto; padding: 2rem 2.5rem; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.banner { background: #fff4ce; border: 1px solid #e0b400; padding: .5rem .75rem; margin-bottom: 1rem; font-weight: 600; }
header { display: flex; justify-content: space-between; align-items: flex-start; border-bottom: 2px solid #111; padding-bottom: .75rem; margin-bottom: 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 0; }
dl { display: grid; grid-template-columns: auto auto; gap: .1rem .75rem; margin: 0; font-size: .9em; }
dt { color: #555; } dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
table { width: 100%; border-collapse: collapse; margin-top: .5rem; }
th, td { text-align: left; padding: .35rem .4rem; border-bottom: 1px solid #ddd; vertical-align: top; }
th { font-size: .8em; text-transform: uppercase; letter-spacing: .03em; color: #444; border-bottom: 1px solid #111; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.detail { font-size: .8em; color: #555; }
tfoot td { font-weight: 700; border-top: 2px solid #111; border-bottom: none; }
footer { margin-top: 1rem; font-size: .75em; color: #666; }
@page { size: A4; margin: 15mm; }
@media print {
  body { background: #fff; }
  .invoice { box-shadow: none; margin: 0; max-width: none; padding: 0; break-after: page; }
  .invoice:last-child { break-after: auto; }
  tr { break-inside: avoid; }
}
`;

function invoiceHtml(report: BillingReport, t: ConsumerTotal): string {
  const lines = report.lines.filter((l) => l.consumer === t.consumer && l.currency === t.currency);
  // Plans in different time zones have different months: every distinct period is shown.
  const period = [...new Set(lines.map((l) => `${l.periodStart} – ${l.periodEnd}`))].join('; ') || report.month;
  const rows = lines
    .map(
      (l) => `<tr data-line-type="${escapeHtml(l.type)}">
<td>${escapeHtml(l.type === 'base_fee' ? `Base fee (${l.subscription})` : l.api)}</td><td>${escapeHtml(l.plan)}</td><td>${escapeHtml(l.metric)}</td>
<td class="num">${l.quantity}</td><td class="num">${l.includedQuantity}</td><td class="num">${l.billableQuantity}</td>
<td class="num">${escapeHtml(l.unitPrice === '' ? '—' : l.unitPrice)}</td><td class="num" data-amount="${l.amount}">${escapeHtml(formatMajor(BigInt(l.amount), l.currency))}</td></tr>
<tr class="detail-row"><td class="detail" colspan="8">${escapeHtml(l.detail)}</td></tr>`,
    )
    .join('\n');
  return `<section class="invoice" data-consumer="${escapeHtml(t.consumer)}" data-currency="${escapeHtml(t.currency)}">
${report.status === 'preview' ? '<div class="banner">PREVIEW — this month is still open; amounts will change.</div>\n' : ''}${report.revision > 0 ? `<div class="banner">REVISION ${report.revision} — usage or prices changed after an earlier report of this month.</div>\n` : ''}<header>
<div><h1>Invoice</h1><h2>${escapeHtml(t.consumerName)}</h2><div>Consumer: ${escapeHtml(t.consumer)}${t.customId !== '' ? ` · Customer id: ${escapeHtml(t.customId)}` : ''}</div></div>
<dl><dt>Month</dt><dd>${escapeHtml(report.month)}</dd><dt>Period</dt><dd>${escapeHtml(period)}</dd><dt>Report</dt><dd>${escapeHtml(report.reportId)}</dd><dt>Generated</dt><dd>${escapeHtml(report.generatedAt)}</dd><dt>Currency</dt><dd>${escapeHtml(t.currency)}</dd></dl>
</header>
<table>
<thead><tr><th>API / item</th><th>Plan</th><th>Metric</th><th class="num">Quantity</th><th class="num">Included</th><th class="num">Billable</th><th class="num">Unit price (minor)</th><th class="num">Amount (${escapeHtml(t.currency)})</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr><td colspan="7">Total</td><td class="num total" data-amount="${t.amount}">${escapeHtml(formatMajor(BigInt(t.amount), t.currency))} ${escapeHtml(t.currency)}</td></tr></tfoot>
</table>
<footer>Amounts are rounded half up to the minor unit once per line; the total is the sum of the lines. Source checksum ${escapeHtml(report.sourceChecksum)}.</footer>
</section>`;
}

/** A self-contained printable HTML document: one invoice per consumer and currency, a page each. */
export function renderHtml(report: BillingReport): string {
  const invoices = report.totals.map((t) => invoiceHtml(report, t)).join('\n');
  const empty = report.totals.length === 0 ? `<section class="invoice"><h1>No billable usage</h1><p>Nothing to invoice for ${escapeHtml(report.month)}.</p></section>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`Tollgate billing ${report.month}${report.status === 'preview' ? ' (preview)' : ''}`)}</title>
<style>${CSS}</style>
</head>
<body data-report-id="${escapeHtml(report.reportId)}" data-status="${escapeHtml(report.status)}">
${invoices}${empty}
</body>
</html>
`;
}

/** Renders a report in a text format. */
export function renderReport(report: BillingReport, format: TextReportFormat): string {
  if (format === 'csv') return renderCsv(report);
  if (format === 'json') return renderJson(report);
  return renderHtml(report);
}

/** Renders a report in any format, as the bytes of the file. */
export async function renderReportBytes(report: BillingReport, format: ReportFormat): Promise<Buffer> {
  if (format === 'pdf') return renderPdf(report);
  return Buffer.from(renderReport(report, format), 'utf8');
}
