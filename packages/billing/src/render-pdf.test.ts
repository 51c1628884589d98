import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FIXTURE_MONTH, fixtureResources, novemberRows } from './report.fixtures.js';
import { defaultPdfFonts, renderPdf } from './render-pdf.js';
import { computeReport, type BillingReport } from './report.js';

function report(overrides: Partial<Parameters<typeof computeReport>[0]> = {}): BillingReport {
  return computeReport({ month: FIXTURE_MONTH, rows: novemberRows(), resources: fixtureResources(), reportId: 'rpt_202611_r0_test', status: 'final', revision: 0, generatedAt: new Date('2026-12-01T02:00:00Z'), ...overrides });
}

/** The page objects of a PDF (their dictionaries are not compressed; only content streams are). */
function pageCount(pdf: Buffer): number {
  return (pdf.toString('latin1').match(/\/Type \/Page\b(?!s)/g) ?? []).length;
}

/** Text drawn with the built-in Helvetica: PDFKit writes it as hex strings in the (deflated) content streams. */
function helveticaText(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  let text = '';
  // Each stream is read by its /Length (compressed bytes may contain anything, "endstream" included).
  for (const m of raw.matchAll(/\/Length (\d+)[^>]*>>\s*stream\n/g)) {
    const start = (m.index as number) + m[0].length;
    let content: string;
    try {
      content = inflateSync(Buffer.from(raw.slice(start, start + Number(m[1])), 'latin1')).toString('latin1');
    } catch {
      continue; // not deflated (fonts, metadata)
    }
    for (const h of content.matchAll(/<([0-9a-f]+)>/g)) text += Buffer.from(h[1] as string, 'hex').toString('latin1');
    text += '\n';
  }
  return text;
}

describe('PDF invoices', () => {
  it('one A4 page per consumer; the same report gives the same bytes', async () => {
    const r = report();
    const a = await renderPdf(r);
    const b = await renderPdf(r);
    expect(a.subarray(0, 5).toString()).toBe('%PDF-');
    expect(a.equals(b)).toBe(true);
    expect(pageCount(a)).toBe(r.totals.length);
    expect(a.toString('latin1')).toContain('/MediaBox [0 0 595.28 841.89]');
    // another generation time is another document
    expect((await renderPdf(report({ generatedAt: new Date('2026-12-01T03:00:00Z') }))).equals(a)).toBe(false);
  });

  it('without DejaVu it falls back to Helvetica, with the totals and a preview banner in the text', async () => {
    const pdf = await renderPdf(report({ status: 'preview', reportId: 'preview_202611' }), null);
    // PDFKit may draw a space as a move rather than a glyph: compare without spaces.
    const text = helveticaText(pdf).replace(/\s/g, '');
    expect(text).toContain('PREVIEW');
    expect(text).toContain('10.56EUR');
    expect(text).toContain('19.51EUR');
    expect(text).toContain('Acme,Inc."Rockets"Division<b>');
  });

  it('uses DejaVu Sans when installed (embedded as a subset)', async (ctx) => {
    if (!defaultPdfFonts()) ctx.skip();
    const pdf = await renderPdf(report());
    expect(pdf.toString('latin1')).toMatch(/\/FontName \/[A-Z]{6}\+DejaVuSans/);
  });

  it('a long invoice continues on further pages with the table header repeated', async () => {
    const base = novemberRows().find((r) => r.consumer === 'acme');
    const rows = Array.from({ length: 90 }, (_, i) => ({ ...(base as NonNullable<typeof base>), api: `api-${String(i).padStart(3, '0')}`, units: 10 + i }));
    const pdf = await renderPdf(report({ rows }), null);
    expect(pageCount(pdf)).toBeGreaterThanOrEqual(3);
    const text = helveticaText(pdf);
    expect(text.match(/API \/ ITEM/g)?.length).toBe(pageCount(pdf));
    expect(text).toContain('api-089');
  });

  it('an empty month is one page saying so', async () => {
    const pdf = await renderPdf(report({ rows: [], resources: [] }), null);
    expect(pageCount(pdf)).toBe(1);
    expect(helveticaText(pdf)).toContain('No billable usage');
  });
});
