import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { REPORT_FORMATS, addMonths, parseMonth, reportFileName, writeFileAtomic, type ReportFormat } from '@tollgate/billing';
import { AdminClient, ProblemResponseError } from '../admin-client.js';
import { CliError, problemLine } from '../cli-error.js';
import { connectionOf } from './common.js';

/** The earliest UTC offset in use (UTC-12): a month has closed in every zone 12 h after it closed in UTC. */
const LATEST_ZONE_MS = 12 * 3_600_000;

/**
 * The last month that has ended in every time zone a plan can bill in: the default of `--month`,
 * so the report is final (not a preview) whatever the plans' zones.
 */
export function lastClosedMonth(now: number = Date.now()): string {
  const d = new Date(now - LATEST_ZONE_MS);
  const current = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  return addMonths(current, -1);
}

/**
 * `tollgate report billing --month 2026-11 --format csv|json|html|pdf [--out DIR]`: the month's billing
 * report from the admin API (`GET /reports/billing`, role billing or admin), on stdout or written
 * to DIR as `billing-2026-11.<format>` (replaced atomically).
 */
export function registerReport(program: Command): void {
  const report = program.command('report').description('reports from the admin API');
  report
    .command('billing')
    .description('the billing report of a month: one line per consumer × plan × API × metric, with totals per consumer')
    .option('--month <YYYY-MM>', 'billing month, e.g. 2026-11 (default: the last month that has closed in every time zone)')
    .addOption(new Option('--format <format>', 'output format').choices([...REPORT_FORMATS]).default('csv'))
    .option('--consumer <name>', "only this consumer's lines and totals (one customer's invoice)")
    .option('--out <dir>', 'write billing-YYYY-MM[-consumer].<format> into this directory instead of stdout')
    .action(async (options: { month?: string; format: ReportFormat; consumer?: string; out?: string }, command: Command) => {
      if (options.month === undefined) {
        options.month = lastClosedMonth();
        process.stderr.write(`billing report of ${options.month} (the last closed month; --month chooses another)\n`);
      }
      if (!parseMonth(options.month)) throw new CliError(`--month must be YYYY-MM, e.g. 2026-11 (got ${JSON.stringify(options.month)})`);
      const month = options.month;
      const client = new AdminClient(connectionOf(command));
      const query = new URLSearchParams({ month, format: options.format, ...(options.consumer !== undefined ? { consumer: options.consumer } : {}) });
      let response: { body: Buffer; headers: Headers };
      try {
        response = await client.getBytes(`/reports/billing?${query}`);
      } catch (error) {
        if (error instanceof ProblemResponseError) throw new CliError(problemLine(error.problem));
        throw error;
      }
      const { body, headers } = response;
      if (options.out === undefined) {
        process.stdout.write(body);
        return;
      }
      const path = join(options.out, reportFileName(month, options.format, options.consumer));
      try {
        await mkdir(options.out, { recursive: true });
        await writeFileAtomic(path, body);
      } catch (error) {
        throw new CliError(`${path}: cannot write (${(error as { code?: string }).code ?? (error as Error).message})`);
      }
      const status = headers.get('x-tollgate-report-status');
      process.stderr.write(`${path} written (report ${headers.get('x-tollgate-report-id') ?? '?'}${status === 'preview' ? ', PREVIEW: the month is still open' : ''})\n`);
    });
}
