import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

const TOKEN = 'sigkill-metering-token-0123456789';
const KEY = 'tg_sigkill_meter_0123456789abcdefgh';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const config = (upstream: string) =>
  [
    `kind: Upstream\nmetadata: { name: svc }\nspec: { targets: [{ url: ${upstream} }] }`,
    `kind: Api\nmetadata: { name: files }\nspec:\n  basePath: /files\n  policies: [{ name: key-auth }]\n  routes: [{ name: all, destination: { upstream: svc } }]`,
    `kind: Consumer\nmetadata: { name: acme }\nspec: { keys: [{ name: k, key: ${KEY} }] }`,
    `kind: Plan\nmetadata: { name: basic }\nspec: { billing: { currency: EUR } }`,
    `kind: Subscription\nmetadata: { name: acme-basic }\nspec: { consumer: acme, plan: basic, start: "2020-01-01T00:00:00Z" }`,
  ]
    .map((d) => `apiVersion: tollgate.dev/v1\n${d}\n`)
    .join('---\n');

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
    const applied = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: config(up.url) });
    expect(applied.status).toBe(200);
    let early = 0;
    await waitUntil(async () => {
      const r = await fetch(`${tg.proxyUrl}/files/x`, { headers: { apikey: KEY } });
      await r.arrayBuffer();
      if (r.status === 200) early += 1;
      return r.status === 200;
    }, 10_000, 50);
    for (let i = 0; i < 9; i++) {
      const r = await fetch(`${tg.proxyUrl}/files/${i}`, { headers: { apikey: KEY } });
      await r.arrayBuffer();
      if (r.status === 200) early += 1;
    }
    // Several intervals pass: all of that is committed.
    await sleep(1_500);
    let late = 0;
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${tg.proxyUrl}/files/late-${i}`, { headers: { apikey: KEY } });
      await r.arrayBuffer();
      if (r.status === 200) late += 1;
    }
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
