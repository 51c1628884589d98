import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';
import { countFilesAnswered, keyedFilesConfig, waitUntilFilesAnswered } from './keyed-files-api.js';

const TOKEN = 'sigkill-metering-token-0123456789';
const KEY = 'tg_sigkill_meter_0123456789abcdefgh';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// What docs/metering.md promises for a SIGKILL: usage older than one flush interval is committed;
// only the last interval's can be lost.
describe('SIGKILL loses at most the last flush interval', () => {
  let db: TestDatabase;
  let up: RecordingUpstream;
  let tg: TollgateProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    up = await startRecordingUpstream('svc');
    tg = await startTollgateProcess({ env: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'warn', USAGE_FLUSH_MS: '200' } });
  });
  afterAll(async () => {
    await tg?.stop();
    await up?.close();
    await db?.drop();
  });

  it('requests answered more than an interval before the kill are in the rollups; the last interval may not be', async () => {
    const applied = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: keyedFilesConfig(up.url, KEY) });
    expect(applied.status).toBe(200);
    let early = await waitUntilFilesAnswered(tg.proxyUrl, KEY);
    early += await countFilesAnswered(tg.proxyUrl, KEY, 9);
    // Several intervals pass: all of that is committed.
    await sleep(1_500);
    const late = await countFilesAnswered(tg.proxyUrl, KEY, 5, 'late-');
    tg.child.kill('SIGKILL');
    await tg.exited;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>("SELECT coalesce(sum(requests), 0) AS n FROM usage_rollups WHERE consumer = 'acme' AND billable");
      const n = Number(rows[0]?.n);
      expect(early).toBe(10);
      expect(n).toBeGreaterThanOrEqual(early);
      expect(n).toBeLessThanOrEqual(early + late);
    } finally {
      await client.end();
    }
  }, 60_000);
});
