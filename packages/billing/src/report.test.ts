import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { ACME_DISPLAY_NAME, EXPECTED_TOTALS, FIXTURE_MONTH, fixtureResources, novemberRows } from './report.fixtures.js';
import { CSV_COLUMNS, escapeHtml, renderCsv, renderHtml, renderJson } from './render.js';
import { closesAt, computeReport, sourceChecksum, type BillingReport, type ReportLine } from './report.js';

function report(overrides: Partial<Parameters<typeof computeReport>[0]> = {}): BillingReport {
  return computeReport({
    month: FIXTURE_MONTH,
    rows: novemberRows(),
    resources: fixtureResources(),
    reportId: 'rpt_202611_r0_test',
    status: 'final',
    revision: 0,
    generatedAt: new Date('2026-12-01T02:00:00Z'),
    ...overrides,
  });
}

const find = (r: BillingReport, p: Partial<ReportLine>) => {
  const found = r.lines.filter((l) => Object.entries(p).every(([k, v]) => l[k as keyof ReportLine] === v));
  expect(found, JSON.stringify(p)).toHaveLength(1);
  return found[0] as ReportLine;
};

describe('computeReport', () => {
  it('totals per consumer match the hand-worked amounts', () => {
    const r = report();
    expect(r.totals.map(({ consumer, currency, amount }) => ({ consumer, currency, amount }))).toEqual(EXPECTED_TOTALS);
    for (const t of r.totals) {
      const sum = r.lines.filter((l) => l.consumer === t.consumer && l.currency === t.currency).reduce((a, l) => a + l.amount, 0);
      expect(sum).toBe(t.amount);
    }
  });

  it('allocates included units to APIs by name and rounds each line half up once', () => {
    const r = report();
    const maps = find(r, { consumer: 'acme', api: 'maps' });
    expect([maps.quantity, maps.includedQuantity, maps.billableQuantity, maps.amount]).toEqual([60, 60, 0, 0]);
    const weather = find(r, { consumer: 'acme', api: 'weather' });
    expect([weather.quantity, weather.includedQuantity, weather.billableQuantity, weather.amount]).toEqual([151, 40, 111, 56]);
    expect(weather.unitPrice).toBe('0.5');
    expect(weather.unit).toBe('request');
    expect(weather.consumerName).toBe(ACME_DISPLAY_NAME);
    expect(weather.customId).toBe('=ACME-1');
    const fee = find(r, { consumer: 'acme', type: 'base_fee' });
    expect([fee.amount, fee.detail, fee.subscription]).toEqual([1000, 'whole month', 'acme-metered']);
    expect([weather.periodStart, weather.periodEnd]).toEqual(['2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z']);
  });

  it('bills a plan in its own time zone month (Europe/Berlin), graduated with a flat fee', () => {
    const r = report();
    const search = find(r, { consumer: 'globex', api: 'search' });
    expect([search.quantity, search.billableQuantity, search.amount, search.currency]).toEqual([250, 250, 225, 'USD']);
    expect([search.periodStart, search.periodEnd]).toEqual(['2026-10-31T23:00:00Z', '2026-11-30T23:00:00Z']);
    expect(search.unitPrice).toBe(''); // spans two tiers
    expect(search.detail).toContain('100 × 1 (tier 1) + 150 × 0.5 (tier 2) + flat 50');
    expect(search.consumerName).toBe('Globex Corporation');
    expect(r.periods).toEqual([
      { timeZone: 'Europe/Berlin', start: '2026-10-31T23:00:00Z', end: '2026-11-30T23:00:00Z' },
      { timeZone: 'UTC', start: '2026-11-01T00:00:00Z', end: '2026-12-01T00:00:00Z' },
    ]);
  });

  it('splits a mid-month plan change by period: usage by plan, base fee and included units prorated', () => {
    const r = report();
    const basicFee = find(r, { consumer: 'initech', plan: 'basic', type: 'base_fee' });
    expect(basicFee.amount).toBe(1000);
    expect(basicFee.detail).toContain('864000 s of 2592000 s');
    const basic = find(r, { consumer: 'initech', plan: 'basic', type: 'usage' });
    expect([basic.quantity, basic.includedQuantity, basic.billableQuantity, basic.amount]).toEqual([400, 333, 67, 67]);
    const meteredFee = find(r, { consumer: 'initech', plan: 'metered', type: 'base_fee' });
    expect(meteredFee.amount).toBe(667);
    const metered = find(r, { consumer: 'initech', plan: 'metered', type: 'usage' });
    expect([metered.quantity, metered.includedQuantity, metered.billableQuantity, metered.amount]).toEqual([500, 66, 434, 217]);
    expect(metered.customId).toBe('INI-7');
  });

  it('volume prices every API at the month total\'s tier; per-metric package pricing and unit', () => {
    const r = report();
    expect(find(r, { consumer: 'hooli', api: 'a', metric: 'requests' }).amount).toBe(700);
    expect(find(r, { consumer: 'hooli', api: 'b', metric: 'requests' }).amount).toBe(500);
    const compute = find(r, { consumer: 'hooli', metric: 'compute' });
    expect([compute.quantity, compute.events, compute.amount, compute.unit, compute.chargeModel]).toEqual([25, 5, 300, 'GPU-second', 'package']);
  });

  it('a plan change to another currency gives one total (and invoice) per currency', () => {
    const resources = fixtureResources().map((r) => (r.kind === 'Plan' && r.metadata.name === 'metered' && r.spec.billing ? { ...r, spec: { ...r.spec, billing: { ...r.spec.billing, currency: 'USD' } } } : r));
    const r = report({ resources });
    const initech = r.totals.filter((t) => t.consumer === 'initech');
    expect(initech.map((t) => [t.currency, t.amount])).toEqual([
      ['EUR', 1000 + 67],
      ['USD', 667 + 217],
    ]);
    expect(renderHtml(r).match(/data-consumer="initech"/g)).toHaveLength(2);
  });

  it('lists usage it cannot price apart, never on an invoice', () => {
    const r = report();
    expect(r.unpriced).toEqual([
      { consumer: 'hooli', plan: 'free', metric: 'requests', units: 3, events: 3, reason: 'plan_without_billing' },
      { consumer: 'nobody', plan: '', metric: 'requests', units: 7, events: 7, reason: 'no_plan' },
    ]);
    expect(r.lines.some((l) => l.consumer === 'nobody')).toBe(false);
  });

  it('is the same whatever order rows arrive in; the checksum moves with any change', () => {
    const rows = novemberRows();
    const a = renderJson(report({ rows }));
    const b = renderJson(report({ rows: [...rows].reverse() }));
    expect(b).toBe(a);
    const changed = rows.map((r, i) => (i === 0 ? { ...r, units: r.units + 1 } : r));
    expect(sourceChecksum(changed)).not.toBe(sourceChecksum(rows));
    expect(sourceChecksum(rows)).toBe(sourceChecksum([...rows].reverse()));
    expect(sourceChecksum(rows)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('a month closes at its latest end over the plans\' time zones', () => {
    // UTC November ends after Berlin November
    expect(closesAt(FIXTURE_MONTH, fixtureResources()).toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });
});

describe('CSV', () => {
  it('is RFC 4180: header, CRLF, quoted comma/quote/newline; money columns add up to the totals', () => {
    const r = report();
    const csv = renderCsv(r);
    expect(csv.startsWith('\uFEFF')).toBe(true); // UTF-8 BOM, for Excel
    expect(csv.slice(1).split('\r\n')[0]).toBe(CSV_COLUMNS.join(','));
    expect(csv.endsWith('\r\n')).toBe(true);
    // the display name is quoted with its inner quotes doubled, its newline kept inside the field
    expect(csv).toContain('"Acme, Inc. ""Rockets""\nDivision <b>"');
    // a text field starting with "=" is defused for spreadsheets
    expect(csv).toContain(",'=ACME-1,");
    const records = parse(csv, { bom: true, columns: true, record_delimiter: '\r\n' }) as Array<Record<string, string>>;
    const lines = records.filter((x) => x.line_type !== 'total');
    const totals = records.filter((x) => x.line_type === 'total');
    expect(lines).toHaveLength(r.lines.length);
    expect(totals.map((t) => [t.consumer, t.currency, Number(t.amount)])).toEqual(EXPECTED_TOTALS.map((t) => [t.consumer, t.currency, t.amount]));
    for (const t of totals) {
      const sum = lines.filter((l) => l.consumer === t.consumer && l.currency === t.currency).reduce((a, l) => a + Number(l.amount), 0);
      expect(sum, t.consumer).toBe(Number(t.amount));
    }
    expect(lines.find((l) => l.consumer === 'acme')?.consumer_name).toBe(ACME_DISPLAY_NAME);
  });
});

describe('HTML', () => {
  it('one escaped invoice per consumer whose line amounts add up to its total', () => {
    const r = report();
    const html = renderHtml(r);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toContain('<b>');
    expect(html).toContain(escapeHtml(ACME_DISPLAY_NAME));
    expect(html).toContain('@media print');
    expect(html).not.toMatch(/<(script|link|img)\b/); // self-contained, nothing fetched
    const sections = html.split('<section class="invoice"').slice(1);
    expect(sections).toHaveLength(EXPECTED_TOTALS.length);
    for (const [i, expected] of EXPECTED_TOTALS.entries()) {
      const s = sections[i] as string;
      expect(s).toContain(`data-consumer="${expected.consumer}"`);
      const amounts = [...s.matchAll(/<td class="num" data-amount="(\d+)">/g)].map((m) => Number(m[1]));
      const total = Number(/class="num total" data-amount="(\d+)"/.exec(s)?.[1]);
      expect(total).toBe(expected.amount);
      expect(amounts.reduce((a, b) => a + b, 0)).toBe(total);
    }
    expect(html).toContain('10.56 EUR'); // acme, in major units
  });

  it('marks a preview', () => {
    const html = renderHtml(report({ status: 'preview', reportId: 'preview_202611' }));
    expect(html).toContain('PREVIEW');
    expect(html).toContain('data-status="preview"');
  });
});
