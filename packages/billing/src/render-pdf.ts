import { existsSync } from 'node:fs';
import { formatMajor } from './money.js';
import type { BillingReport, ConsumerTotal, ReportLine } from './report.js';

/** TrueType fonts for the PDF: a regular and a bold face. */
export interface PdfFonts {
  regular: string;
  bold: string;
}

/** DejaVu Sans (Debian `fonts-dejavu-core`), which covers Latin, Greek and Cyrillic. */
const DEJAVU: PdfFonts = { regular: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', bold: '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf' };

/**
 * The fonts the PDF is set in: DejaVu Sans when installed, else PDF's built-in Helvetica, whose
 * WinAnsi encoding covers Latin-1 only (other characters are printed as "?"; the CSV, JSON and
 * HTML reports always carry the exact text).
 */
export function defaultPdfFonts(): PdfFonts | null {
  return existsSync(DEJAVU.regular) && existsSync(DEJAVU.bold) ? DEJAVU : null;
}

const A4 = { width: 595.28, height: 841.89 };
const MARGIN = 50;
const CONTENT = A4.width - 2 * MARGIN;
/** Table columns: label, width (points), alignment. Widths add up to the content width (495 pt). */
const COLUMNS: Array<{ label: string; width: number; align: 'left' | 'right' }> = [
  { label: 'API / item', width: 120, align: 'left' },
  { label: 'Plan', width: 60, align: 'left' },
  { label: 'Metric', width: 60, align: 'left' },
  { label: 'Quantity', width: 45, align: 'right' },
  { label: 'Included', width: 45, align: 'right' },
  { label: 'Billable', width: 45, align: 'right' },
  { label: 'Unit price', width: 55, align: 'right' },
  { label: 'Amount', width: 65, align: 'right' },
];

interface Faces {
  regular: string;
  bold: string;
  /** Makes text printable in the fonts (Helvetica: Latin-1 only). */
  text: (s: string) => string;
}

/**
 * A PDF with one A4 invoice per consumer and currency, the same content as the HTML invoice.
 * `fonts` null sets it in the built-in Helvetica. Deterministic: the document's creation date is the report's generation time (and its file id
 * derives from it), so the same report gives the same bytes.
 */
export async function renderPdf(report: BillingReport, fonts: PdfFonts | null = defaultPdfFonts()): Promise<Buffer> {
  // Loaded on first use: pdfkit and its font tables cost every process start (gateway included)
  // CPU and memory, and only the admin's billing reports and the monthly export render PDFs.
  const { default: PDFDocument } = await import('pdfkit');
  const created = new Date(report.generatedAt);
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    autoFirstPage: false,
    compress: true,
    info: { Title: `Tollgate billing ${report.month}${report.status === 'preview' ? ' (preview)' : ''}`, Author: 'Tollgate', Subject: report.reportId, Producer: 'Tollgate', Creator: 'Tollgate', CreationDate: created, ModDate: created },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  let faces: Faces;
  if (fonts) {
    doc.registerFont('regular', fonts.regular);
    doc.registerFont('bold', fonts.bold);
    faces = { regular: 'regular', bold: 'bold', text: (s) => s };
  } else {
    faces = { regular: 'Helvetica', bold: 'Helvetica-Bold', text: (s) => s.replace(/[^\n\x20-\x7e\xa0-\xff]/g, '?') };
  }
  if (report.totals.length === 0) {
    doc.addPage();
    doc.font(faces.bold).fontSize(18).text('No billable usage');
    doc.font(faces.regular).fontSize(10).text(`Nothing to invoice for ${report.month}.`);
  }
  for (const t of report.totals) invoice(doc, faces, report, t);
  doc.end();
  return done;
}

function invoice(doc: PDFKit.PDFDocument, f: Faces, report: BillingReport, t: ConsumerTotal): void {
  const lines = report.lines.filter((l) => l.consumer === t.consumer && l.currency === t.currency);
  doc.addPage();
  let y = MARGIN;
  const banners = [
    ...(report.status === 'preview' ? ['PREVIEW: this month is still open; amounts will change.'] : []),
    ...(report.revision > 0 ? [`REVISION ${report.revision}: usage or prices changed after an earlier report of this month.`] : []),
  ];
  for (const b of banners) {
    doc.rect(MARGIN, y, CONTENT, 20).fillAndStroke('#fff4ce', '#e0b400');
    doc.fillColor('#111').font(f.bold).fontSize(9).text(b, MARGIN + 8, y + 6, { width: CONTENT - 16, lineBreak: false });
    y += 28;
  }
  doc.fillColor('#111').font(f.bold).fontSize(20).text('Invoice', MARGIN, y);
  doc.fontSize(12).text(f.text(t.consumerName.replace(/\s+/g, ' ')), MARGIN, y + 26, { width: 260 });
  doc.font(f.regular).fontSize(8.5).text(f.text(`Consumer: ${t.consumer}${t.customId !== '' ? ` · Customer id: ${t.customId}` : ''}`.replace(' · ', fontHasMiddot(f) ? ' · ' : ' - ')), MARGIN, doc.y + 2, { width: 260 });
  const leftBottom = doc.y;
  const meta: Array<[string, string]> = [
    ['Month', report.month],
    ['Period', [...new Set(lines.map((l) => `${l.periodStart} to ${l.periodEnd}`))].join('; ') || report.month],
    ['Report', report.reportId],
    ['Generated', report.generatedAt],
    ['Currency', t.currency],
  ];
  let my = y + 2;
  for (const [k, v] of meta) {
    doc.font(f.regular).fontSize(8).fillColor('#555').text(k, 320, my, { width: 50, lineBreak: false });
    doc.fillColor('#111').text(f.text(v), 372, my, { width: A4.width - MARGIN - 372 });
    my = doc.y + 1;
  }
  y = Math.max(leftBottom, my) + 10;
  doc.moveTo(MARGIN, y).lineTo(A4.width - MARGIN, y).lineWidth(1.5).strokeColor('#111').stroke();
  y += 10;
  y = header(doc, f, y, t.currency);
  for (const l of lines) {
    const cells = cellsOf(l);
    doc.font(f.regular).fontSize(8.5);
    const rowHeight = Math.max(...cells.map((c, i) => doc.heightOfString(f.text(c), { width: (COLUMNS[i] as { width: number }).width - 4 })));
    doc.fontSize(7);
    const detailHeight = doc.heightOfString(f.text(l.detail), { width: CONTENT - 4 });
    if (y + rowHeight + detailHeight + 12 > A4.height - MARGIN - 40) {
      doc.addPage();
      y = header(doc, f, MARGIN, t.currency);
    }
    let x = MARGIN;
    doc.font(f.regular).fontSize(8.5).fillColor('#111');
    cells.forEach((c, i) => {
      const col = COLUMNS[i] as (typeof COLUMNS)[number];
      doc.text(f.text(c), x + 2, y, { width: col.width - 4, align: col.align });
      x += col.width;
    });
    y += rowHeight + 2;
    doc.font(f.regular).fontSize(7).fillColor('#555').text(f.text(l.detail), MARGIN + 2, y, { width: CONTENT - 4 });
    y += detailHeight + 4;
    doc.moveTo(MARGIN, y).lineTo(A4.width - MARGIN, y).lineWidth(0.5).strokeColor('#dddddd').stroke();
    y += 4;
  }
  if (y + 60 > A4.height - MARGIN) {
    doc.addPage();
    y = MARGIN;
  }
  doc.moveTo(MARGIN, y).lineTo(A4.width - MARGIN, y).lineWidth(1.5).strokeColor('#111').stroke();
  y += 6;
  doc.font(f.bold).fontSize(10).fillColor('#111').text('Total', MARGIN + 2, y, { width: 200 });
  doc.text(`${formatMajor(BigInt(t.amount), t.currency)} ${t.currency}`, A4.width - MARGIN - 200, y, { width: 198, align: 'right' });
  y = doc.y + 14;
  doc.font(f.regular).fontSize(7).fillColor('#666').text(`Amounts are rounded half up to the minor unit once per line; the total is the sum of the lines. Source checksum ${report.sourceChecksum}.`, MARGIN, y, { width: CONTENT });
}

function fontHasMiddot(f: Faces): boolean {
  return f.text('·') === '·';
}

function header(doc: PDFKit.PDFDocument, f: Faces, y: number, currency: string): number {
  let x = MARGIN;
  doc.font(f.bold).fontSize(6.5).fillColor('#444');
  for (const col of COLUMNS) {
    doc.text((col.label === 'Amount' ? `Amount (${currency})` : col.label).toUpperCase(), x + 2, y, { width: col.width - 4, align: col.align, lineBreak: false });
    x += col.width;
  }
  y += 12;
  doc.moveTo(MARGIN, y).lineTo(A4.width - MARGIN, y).lineWidth(1).strokeColor('#111').stroke();
  return y + 5;
}

function cellsOf(l: ReportLine): string[] {
  return [
    l.type === 'base_fee' ? `Base fee (${l.subscription})` : l.api,
    l.plan,
    l.metric,
    String(l.quantity),
    String(l.includedQuantity),
    String(l.billableQuantity),
    l.unitPrice === '' ? '-' : l.unitPrice,
    formatMajor(BigInt(l.amount), l.currency),
  ];
}
