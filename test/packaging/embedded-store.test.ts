import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The built @tollgate/db (dist, what `npm start` runs; unit tests import the sources, where the
 * initdb worker does not exist): a missing data directory is created by a child process (initdb), then opened
 * here with the embedded store's settings, and opened again as a restart would.
 */
describe('embedded PGlite data directory (built package)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-embedded-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is created by the initdb child process, runs with 16MB shared_buffers, and reopens', async () => {
    const db = (await import(new URL('../../packages/db/dist/index.js', import.meta.url).href)) as typeof import('@tollgate/db');
    const pgdata = join(dir, 'pgdata');
    const first = await db.openPglite(pgdata);
    try {
      expect(existsSync(join(pgdata, 'PG_VERSION'))).toBe(true);
      await db.migratePglite(first.db);
      const { rows } = await first.client.query<{ shared_buffers: string }>('SHOW shared_buffers');
      expect(rows[0]?.shared_buffers).toBe('16MB');
    } finally {
      await first.close();
    }
    const again = await db.openPglite(pgdata);
    try {
      const { rows } = await again.client.query<{ version: string }>('SELECT version::text FROM config_state');
      expect(rows).toHaveLength(1);
    } finally {
      await again.close();
    }
  }, 120_000);
});
