import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { resourceName } from '@tollgate/model';
import { REPORT_FORMATS, REPORT_MEDIA_TYPES, forConsumer, generateReport, parseMonth, renderReport, renderReportBytes, reportFileName } from '@tollgate/billing';
import type { Database } from '@tollgate/db';
import type { AdminContext } from '../context.js';
import { ProblemError } from '../problem.js';
import { errorResponses, problemSchema } from '../schemas.js';

/** `GET /reports/billing` query. */
export const billingReportQuerySchema = z.strictObject({
  month: z
    .string()
    .refine((m) => parseMonth(m) !== null, 'must be a month as YYYY-MM, e.g. 2026-11')
    .describe('Billing month, YYYY-MM. Each plan bills the calendar month of its own time zone.'),
  consumer: resourceName.optional().describe('Only this consumer\'s lines and totals (one customer\'s invoice); the report id and checksums stay the whole month\'s.'),
  format: z.enum(REPORT_FORMATS).default('json').describe('csv (RFC 4180, header row, CRLF), json, html (a printable invoice per consumer) or pdf (the same invoices, A4).'),
});

/**
 * `GET /reports/billing?month=YYYY-MM&format=csv|json|html|pdf` (permission `billing:read`: roles
 * `billing` and `admin`). A closed month's report is recorded on first generation and is then
 * byte-identical on every re-run until late usage changes its rollups (a revision); an open month
 * is a preview. See docs/billing.md.
 */
export function register(app: FastifyInstance, ctx: AdminContext, db: Database | undefined, clock: () => Date = () => new Date()): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/reports/billing',
    {
      schema: {
        tags: ['billing'],
        summary: 'Billing report of a month (CSV, JSON, or printable HTML or PDF invoices)',
        querystring: billingReportQuerySchema,
        response: { 200: z.unknown().describe('The report in the requested format (text for csv, json and html; bytes for pdf).'), 404: problemSchema.describe('consumer= names no stored consumer and nobody with usage in the month'), ...errorResponses },
      },
    },
    async (request, reply) => {
      if (!db) throw new ProblemError('UNAVAILABLE', 'billing reports need the database; this admin process has none');
      const { month, format, consumer } = request.query;
      const { resources } = await ctx.config.load();
      const whole = await generateReport(db, resources, month, { now: clock() });
      const report = consumer === undefined ? whole : forConsumer(whole, consumer);
      // A name that is neither a stored consumer nor in the month's report is a typo, not an empty invoice.
      if (consumer !== undefined && report.lines.length === 0 && report.unpriced.length === 0 && !resources.some((r) => r.kind === 'Consumer' && r.metadata.name === consumer)) {
        throw new ProblemError('NOT_FOUND', `Consumer/${consumer} does not exist and has no usage in ${month}`);
      }
      const fileName = reportFileName(month, format, consumer);
      // CSV is a download for spreadsheets; JSON and HTML display in place (RFC 6266).
      const disposition = format === 'csv' ? 'attachment' : 'inline';
      return reply
        .header('content-type', REPORT_MEDIA_TYPES[format])
        .header('content-disposition', `${disposition}; filename="${fileName}"`)
        .header('cache-control', 'no-store')
        .header('x-tollgate-report-id', report.reportId)
        .header('x-tollgate-report-status', report.status)
        .send(format === 'pdf' ? await renderReportBytes(report, format) : renderReport(report, format));
    },
  );
}
