import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateCluster, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { apiYaml, proxyGet } from './fixtures.js';

const TOKEN = 'e2e-admin-token-0123456789abcdef';

// Two gateway processes and one admin process on one Postgres: a change committed through the
// admin reaches both gateways by LISTEN/NOTIFY within one second. The periodic safety-net poll
// is set to a minute here, so only the notification can explain a fast pickup.
describe('two gateway nodes on one Postgres', () => {
  let db: TestDatabase;
  let blue: RecordingUpstream;
  let green: RecordingUpstream;
  let admin: TollgateProcess;
  let gateways: TollgateProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    blue = await startRecordingUpstream('blue');
    green = await startRecordingUpstream('green');
    const env = { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, CONFIG_POLL_MS: '60000' };
    // Start all three at once: migrations must be safe under concurrent starts.
    ({ admin, gateways } = await startTollgateCluster(env));
  });

  afterAll(async () => {
    await Promise.all([admin?.stop(), ...gateways.map((g) => g.stop())]);
    await blue?.close();
    await green?.close();
    await db?.drop();
  });

  async function apply(yaml: string): Promise<number> {
    const res = await fetch(`${admin.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: yaml });
    expect(res.status).toBe(200);
    return Date.now();
  }

  async function servedBy(g: TollgateProcess): Promise<string | undefined> {
    const res = await proxyGet(g.proxyUrl, '/orders/1', 'api.example.com');
    return res.status === 200 ? (JSON.parse(res.body) as { upstream: string }).upstream : undefined;
  }

  it('both pick up a new API within one second', async () => {
    const t0 = await apply(apiYaml(blue.url));
    const waits = await Promise.all(gateways.map((g) => waitUntil(async () => (await servedBy(g)) === 'blue', 1000)));
    for (const w of waits) expect(w).toBeLessThan(1000);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('both pick up a changed upstream within one second', async () => {
    await apply(apiYaml(green.url));
    const waits = await Promise.all(gateways.map((g) => waitUntil(async () => (await servedBy(g)) === 'green', 1000)));
    for (const w of waits) expect(w).toBeLessThan(1000);
    const before = green.requests.length;
    for (let i = 0; i < 10; i++) expect(await servedBy(gateways[i % 2]!)).toBe('green');
    expect(green.requests.length).toBe(before + 10);
  });
});
