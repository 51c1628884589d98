import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { billingRuns, migratePglite, migratePostgres, openPglite, openPostgres, usageRollups, type Database } from '@tollgate/db';
import { createTestDatabase, type TestDatabase } from '../../../test/support/databases.js';
import { EXPECTED_TOTALS, FIXTURE_MONTH, fixtureResources, fixtureRows, type FixtureRow } from './report.fixtures.js';
import { REPORT_FORMATS, renderReport, renderReportBytes } from './render.js';
import { generateReport, runChecksum } from './report.js';
import { exportDueMonth, type ExportOutcome } from './scheduler.js';

async function insertRows(db: Database, rows: FixtureRow[]): Promise<void> {
  await db.insert(usageRollups).values(rows.map((r) => ({ ...r, bytesIn: 0, bytesOut: 0, latencyMsSum: 0, latencyHist: [] })));
}

const AFTER_CLOSE = new Date('2026-12-01T02:00:00Z');
const resources = fixtureResources();

interface Backend {
  db: Database;
  /** A second, independent connection to the same database (another admin process); PGlite has only one. */
  other: Database;
  close(): Promise<void>;
}

const backends: Record<string, () => Promise<Backend>> = {
  pglite: async () => {
    const handle = await openPglite();
    await migratePglite(handle.db);
    return { db: handle.db, other: handle.db, close: () => handle.close() };
  },
  postgres: async () => {
    const database: TestDatabase = await createTestDatabase();
    await migratePostgres(database.url);
    const a = openPostgres(database.url, { max: 3 });
    const b = openPostgres(database.url, { max: 3 });
    return {
      db: a.db,
      other: b.db,
      async close() {
        await a.close();
        await b.close();
        await database.drop();
      },
    };
  },
};

describe.each(Object.keys(backends))('billing report on %s', (name) => {
  let backend: Backend;
  let dir: string;
  beforeAll(async () => {
    backend = await (backends[name] as () => Promise<Backend>)();
    dir = await mkdtemp(join(tmpdir(), 'tollgate-billing-'));
  });
  afterAll(async () => {
    await backend?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an open month is a preview and records nothing', async () => {
    await insertRows(backend.db, fixtureRows());
    const r = await generateReport(backend.db, resources, FIXTURE_MONTH, { now: new Date('2026-11-20T00:00:00Z') });
    expect(r.status).toBe('preview');
    expect(r.reportId).toBe('preview_202611');
    expect(r.generatedAt).toBe('2026-11-20T00:00:00Z');
    expect(await backend.db.select().from(billingRuns)).toEqual([]);
  });

  it('a closed month: exact totals from the rollups (other months and non-billable rows left out)', async () => {
    const r = await generateReport(backend.db, resources, FIXTURE_MONTH, { now: AFTER_CLOSE });
    expect(r.status).toBe('final');
    expect(r.revision).toBe(0);
    expect(r.reportId).toMatch(/^rpt_202611_r0_[0-9a-f]{12}$/);
    expect(r.generatedAt).toBe('2026-12-01T02:00:00Z');
    expect(r.totals.map(({ consumer, currency, amount }) => ({ consumer, currency, amount }))).toEqual(EXPECTED_TOTALS);
    expect(r.sourceRows).toBe(fixtureRows().filter((x) => x.period === FIXTURE_MONTH && x.billable).length);
    const runs = await backend.db.select().from(billingRuns);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.reportId).toBe(r.reportId);
    expect(runs[0]?.sourceChecksum).toBe(runChecksum(r.sourceChecksum, r.configChecksum));
  });

  it('a re-run over unchanged rollups is byte-identical in every format', async () => {
    const first = await generateReport(backend.db, resources, FIXTURE_MONTH, { now: AFTER_CLOSE });
    const again = await generateReport(backend.other, resources, FIXTURE_MONTH, { now: new Date('2027-02-03T04:05:06Z') });
    for (const format of REPORT_FORMATS) expect((await renderReportBytes(again, format)).equals(await renderReportBytes(first, format)), format).toBe(true);
  });

  it('late usage makes a revision with a new id; re-running the revision is identical again', async () => {
    const before = await generateReport(backend.db, resources, FIXTURE_MONTH, { now: AFTER_CLOSE });
    await insertRows(backend.db, [{ ...(fixtureRows()[0] as FixtureRow), hour: new Date('2026-11-30T18:00:00Z'), units: 10, requests: 10 }]);
    const revised = await generateReport(backend.db, resources, FIXTURE_MONTH, { now: new Date('2026-12-02T00:00:00Z') });
    expect(revised.revision).toBe(1);
    expect(revised.reportId).toMatch(/^rpt_202611_r1_/);
    expect(revised.reportId).not.toBe(before.reportId);
    expect(revised.sourceChecksum).not.toBe(before.sourceChecksum);
    expect(revised.generatedAt).toBe('2026-12-02T00:00:00Z');
    expect(revised.totals.find((t) => t.consumer === 'acme')?.amount).toBe(1056 + 5); // 10 more at 0.5
    const again = await generateReport(backend.db, resources, FIXTURE_MONTH, { now: new Date('2026-12-05T00:00:00Z') });
    expect(renderReport(again, 'json')).toBe(renderReport(revised, 'json'));
    expect(renderReport(again, 'html')).toContain('REVISION 1');
  });

  it('a changed price after the close is a revision too (the output never changes silently)', async () => {
    const before = await generateReport(backend.db, resources, FIXTURE_MONTH, { now: AFTER_CLOSE });
    const repriced = resources.map((r) => (r.kind === 'Plan' && r.metadata.name === 'metered' && r.spec.billing ? { ...r, spec: { ...r.spec, billing: { ...r.spec.billing, charge: { perUnit: { unitPrice: '1' } } } } } : r));
    const revised = await generateReport(backend.db, repriced, FIXTURE_MONTH, { now: new Date('2026-12-02T01:00:00Z') });
    expect(revised.revision).toBe(before.revision + 1);
    expect(revised.configChecksum).not.toBe(before.configChecksum);
    expect(revised.sourceChecksum).toBe(before.sourceChecksum);
    expect(revised.totals.find((t) => t.consumer === 'acme')?.amount).toBe(1000 + 121); // 121 billable at 1
    // back to the original prices: another revision, with the original amounts
    const back = await generateReport(backend.db, resources, FIXTURE_MONTH, { now: new Date('2026-12-02T02:00:00Z') });
    expect(back.revision).toBe(before.revision + 2);
    expect(back.totals).toEqual(before.totals);
  });

  it('the scheduled export happens once with two schedulers racing, atomically, after the delay', async () => {
    const options = (db: Database, now: Date) => ({ db, loadResources: async () => resources, dir, delayMs: 3_600_000, now: () => now });
    // Before close + delay: nothing.
    const early = await exportDueMonth(options(backend.db, new Date('2026-12-01T00:30:00Z')));
    expect(early.result).toBe('not_due');
    const now = new Date('2026-12-01T01:30:00Z');
    const outcomes: ExportOutcome[] = await Promise.all([exportDueMonth(options(backend.db, now)), exportDueMonth(options(backend.other, now))]);
    const results = outcomes.map((o) => o.result).sort();
    expect(results.filter((r) => r === 'exported')).toHaveLength(1);
    expect(results.filter((r) => r !== 'exported')[0]).toMatch(/^(locked|already_exported)$/);
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(['billing-2026-11.csv', 'billing-2026-11.html', 'billing-2026-11.json', 'billing-2026-11.pdf']);
    // Later checks (any process) do nothing; the files are the report as generated.
    const later = await exportDueMonth(options(backend.other, new Date('2026-12-01T06:00:00Z')));
    expect(later.result).toBe('already_exported');
    const report = await generateReport(backend.db, resources, FIXTURE_MONTH, { now });
    for (const format of REPORT_FORMATS) expect((await readFile(join(dir, `billing-2026-11.${format}`))).equals(await renderReportBytes(report, format)), format).toBe(true);
    const run = (await backend.db.select().from(billingRuns).where(eq(billingRuns.month, FIXTURE_MONTH)))[0];
    expect(run?.exportedAt?.toISOString()).toBe(now.toISOString());
    expect(run?.exportDir).toBe(dir);
  });

  it('a revision after the export is exported again at the next check', async () => {
    await insertRows(backend.db, [{ ...(fixtureRows()[0] as FixtureRow), hour: new Date('2026-11-30T19:00:00Z'), units: 2, requests: 2 }]);
    const outcome = await exportDueMonth({ db: backend.db, loadResources: async () => resources, dir, now: () => new Date('2026-12-03T00:00:00Z') });
    expect(outcome.result).toBe('exported');
    const json = JSON.parse(await readFile(join(dir, 'billing-2026-11.json'), 'utf8')) as { revision: number };
    expect(json.revision).toBe(4);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
