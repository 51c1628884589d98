import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { billingRuns, type Database } from '@tollgate/db';
import type { Resource } from '@tollgate/model';
import { REPORT_FORMATS, renderReportBytes, reportFileName } from './render.js';
import { closesAt, generateReport } from './report.js';
import { addMonths, periodOf } from './time.js';

/** First key of the advisory lock the export takes (the second is the month as YYYYMM). */
export const EXPORT_LOCK_KEY = 0x746f6c6c; // "toll"

/** Where the scheduler logs (a pino logger fits). */
export interface ExportLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ExportSchedulerOptions {
  db: Database;
  /** The current configuration (plans, consumers, subscriptions). */
  loadResources: () => Promise<readonly Resource[]>;
  /** Directory the reports are written to (created when missing). */
  dir: string;
  /** How long after the month closes the export waits, so the last flushes land (default 1 h). */
  delayMs?: number;
  /** How often to check (default 5 minutes); also checked once at start. */
  intervalMs?: number;
  /** Clock (injectable for tests). */
  now?: () => Date;
  log?: ExportLog;
}

/** What one check did. */
export type ExportOutcome =
  | { result: 'exported'; month: string; reportId: string; files: string[] }
  | { result: 'already_exported'; month: string }
  | { result: 'not_due'; month: string; dueAt: Date }
  | { result: 'locked'; month: string };

/** Writes `content` to `path` atomically: a temporary file in the same directory, flushed, then renamed over. */
export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** The month the export is about at `now`: the previous calendar month (UTC). */
export function previousMonth(now: Date): string {
  return addMonths(periodOf(now, 'UTC'), -1);
}

/**
 * Exports the previous month's billing reports (csv, json, html, pdf) once per month, however many
 * admin processes run the scheduler: each check takes `pg_try_advisory_xact_lock(EXPORT_LOCK_KEY,
 * YYYYMM)` in a transaction (a process that does not get it skips this round), then exports only
 * when the month's `billing_runs.exported_at` is unset, and sets it in the same transaction.
 * A revision (usage or configuration that changed after the report) clears `exported_at`, so the revised report is
 * exported over the old files at the next check.
 */
export async function exportDueMonth(options: ExportSchedulerOptions): Promise<ExportOutcome> {
  const now = options.now?.() ?? new Date();
  const month = previousMonth(now);
  const resources = await options.loadResources();
  const dueAt = new Date(closesAt(month, resources).getTime() + (options.delayMs ?? 3_600_000));
  if (now.getTime() < dueAt.getTime()) return { result: 'not_due', month, dueAt };
  const monthKey = Number(month.replace('-', ''));
  return options.db.transaction(async (tx) => {
    const lock = await tx.execute<{ locked: boolean }>(sql`SELECT pg_try_advisory_xact_lock(${EXPORT_LOCK_KEY}::int4, ${monthKey}::int4) AS locked`);
    const locked = (lock as unknown as { rows: Array<{ locked: boolean }> }).rows[0]?.locked;
    if (!locked) return { result: 'locked', month } as const;
    const db = tx as unknown as Database;
    const report = await generateReport(db, resources, month, { now });
    const run = (await db.select().from(billingRuns).where(eq(billingRuns.month, month)))[0];
    if (run?.exportedAt) return { result: 'already_exported', month } as const;
    await mkdir(options.dir, { recursive: true });
    const files: string[] = [];
    for (const format of REPORT_FORMATS) {
      const path = join(options.dir, reportFileName(month, format));
      await writeFileAtomic(path, await renderReportBytes(report, format));
      files.push(path);
    }
    await db.update(billingRuns).set({ exportedAt: now, exportDir: options.dir }).where(eq(billingRuns.month, month));
    return { result: 'exported', month, reportId: report.reportId, files } as const;
  });
}

/** Runs `exportDueMonth` at start and every `intervalMs` until stopped. */
export class BillingExportScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ExportOutcome | undefined> | undefined;
  private stopped = false;

  constructor(private readonly options: ExportSchedulerOptions) {}

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? 300_000);
    this.timer.unref();
  }

  /** One check now (skipped while one is still running); resolves to what it did. */
  async tick(): Promise<ExportOutcome | undefined> {
    if (this.stopped) return undefined;
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        const outcome = await exportDueMonth(this.options);
        if (outcome.result === 'exported') this.options.log?.info({ month: outcome.month, reportId: outcome.reportId, files: outcome.files }, 'billing reports exported');
        return outcome;
      } catch (err) {
        this.options.log?.error({ err }, 'billing export failed; will retry at the next check');
        return undefined;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Stops the timer and waits for a check in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
