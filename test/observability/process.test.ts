import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { apiYaml, proxyGet } from '../e2e/fixtures.js';

const TOKEN = 'obs-admin-token-0123456789abcdef';

// The CLI wires the observability settings: stores probed in the background, access log to a file.
describe('tollgate start: observability settings', () => {
  let db: TestDatabase;
  let upstream: RecordingUpstream;
  let tg: TollgateProcess;
  let logFile: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startRecordingUpstream('primary');
    logFile = join(mkdtempSync(join(tmpdir(), 'tg-obs-')), 'access.log');
    tg = await startTollgateProcess({ env: { DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), ADMIN_TOKEN: TOKEN, ACCESS_LOG_FILE: logFile, LATENCY_HEADERS: 'true', NODE_ID: 'obs-node' } });
  });

  afterAll(async () => {
    await tg?.stop();
    await upstream?.close();
    await db?.drop();
  });

  it('reports both stores reachable, serves traffic with latency headers, and logs to the file without credentials', async () => {
    const res = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: apiYaml(upstream.url) });
    expect(res.status).toBe(200);
    const { version } = (await res.json()) as { version: number };
    await waitUntil(async () => ((await (await fetch(`${tg.statusUrl}/status`)).json()) as { config: { version: number } }).config.version === version, 5_000);
    const r = await proxyGet(tg.proxyUrl, `/orders/1?token=${TOKEN}`, 'api.example.com');
    expect(r.status).toBe(200);
    expect(r.headers['x-tollgate-upstream-latency']).toMatch(/^\d+$/);

    const status = (await (await fetch(`${tg.statusUrl}/status`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ nodeId: 'obs-node', ready: true, stores: { postgres: true, redis: true } });
    const metrics = await (await fetch(`${tg.statusUrl}/metrics`)).text();
    expect(metrics).toContain('tollgate_datastore_reachable{store="postgres"} 1');
    expect(metrics).toContain('tollgate_datastore_reachable{store="redis"} 1');
    expect(metrics).toContain('tollgate_http_requests_total{api="orders",api_version="v1",route="all",method="GET",code="200",source="upstream"} 1');

    await tg.stop();
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ type: 'access', api: 'orders', apiVersion: 'v1', status: 200 });
    expect(readFileSync(logFile, 'utf8')).not.toContain(TOKEN);
    expect(tg.output()).not.toContain('"type":"access"');
  });
});
