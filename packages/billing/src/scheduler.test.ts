import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratePglite, openPglite, type PgliteHandle } from '@tollgate/db';
import { fixtureResources } from './report.fixtures.js';
import { BillingExportScheduler, previousMonth, writeFileAtomic, type ExportLog } from './scheduler.js';

function recordingLog() {
  const entries: Array<{ level: string; msg: string; obj: object }> = [];
  const log: ExportLog = {
    info: (obj, msg) => entries.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => entries.push({ level: 'warn', msg, obj }),
    error: (obj, msg) => entries.push({ level: 'error', msg, obj }),
  };
  return { log, entries };
}

describe('BillingExportScheduler', () => {
  let handle: PgliteHandle;
  let work: string;
  beforeAll(async () => {
    handle = await openPglite();
    await migratePglite(handle.db);
    work = await mkdtemp(join(tmpdir(), 'tollgate-sched-'));
  });
  afterAll(async () => {
    await handle?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the export month is the previous UTC calendar month', () => {
    expect(previousMonth(new Date('2026-12-01T00:00:00Z'))).toBe('2026-11');
    expect(previousMonth(new Date('2026-11-30T23:59:59.900Z'))).toBe('2026-10');
    expect(previousMonth(new Date('2027-01-15T00:00:00Z'))).toBe('2026-12');
  });

  it('a failed export is logged and retried at the next check; start checks at once', async () => {
    const blocker = join(work, 'not-a-dir');
    await writeFile(blocker, 'x');
    const { log, entries } = recordingLog();
    let dir = join(blocker, 'reports'); // under a file: mkdir fails
    const scheduler = new BillingExportScheduler({ db: handle.db, loadResources: async () => fixtureResources(), get dir() { return dir; }, delayMs: 0, intervalMs: 3_600_000, now: () => new Date('2026-12-02T00:00:00Z'), log });
    expect(await scheduler.tick()).toBeUndefined();
    expect(entries.filter((e) => e.level === 'error').map((e) => e.msg)).toEqual(['billing export failed; will retry at the next check']);
    dir = join(work, 'reports');
    const outcome = await scheduler.tick();
    expect(outcome?.result).toBe('exported');
    expect((await readdir(dir)).sort()).toEqual(['billing-2026-11.csv', 'billing-2026-11.html', 'billing-2026-11.json', 'billing-2026-11.pdf']);
    expect((await scheduler.tick())?.result).toBe('already_exported');
    await scheduler.stop();
    expect(await scheduler.tick()).toBeUndefined(); // stopped: no more checks
  });

  it('a check does not start while one is running', async () => {
    const { log } = recordingLog();
    let loads = 0;
    const scheduler = new BillingExportScheduler({
      db: handle.db,
      loadResources: async () => {
        loads++;
        await new Promise((r) => setTimeout(r, 50));
        return fixtureResources();
      },
      dir: join(work, 'reports'),
      now: () => new Date('2026-12-01T00:10:00Z'), // November closed 10 minutes ago; the default delay is 1 h
      log,
    });
    const [a, b] = await Promise.all([scheduler.tick(), scheduler.tick()]);
    expect(loads).toBe(1);
    expect(a).toEqual(b);
    expect(a?.result).toBe('not_due');
    await scheduler.stop();
  });

  it('writeFileAtomic replaces a file whole and leaves no temporary file', async () => {
    const path = join(work, 'atomic.txt');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, Buffer.from('second'));
    expect((await readdir(work)).filter((f) => f.startsWith('atomic'))).toEqual(['atomic.txt']);
    await expect(writeFileAtomic(join(work, 'missing-dir', 'x.txt'), 'x')).rejects.toThrow();
  });
});
