import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { apiYaml, proxyGet } from './fixtures.js';

const TOKEN = 'e2e-admin-token-0123456789abcdef';

// The same first run on real Postgres and Redis, through the REST API.
describe('on real Postgres and Redis', () => {
  let db: TestDatabase;
  let upstream: RecordingUpstream;
  let other: RecordingUpstream;
  let tg: TollgateProcess;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startRecordingUpstream('primary');
    other = await startRecordingUpstream('other');
    tg = await startTollgateProcess({ env: { DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), ADMIN_TOKEN: TOKEN } });
  });

  afterAll(async () => {
    await tg?.stop();
    await upstream?.close();
    await other?.close();
    await db?.drop();
  });

  it('routes an API applied with POST /config within one second', async () => {
    const res = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { ...auth, 'content-type': 'application/yaml' }, body: apiYaml(upstream.url) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { version: number; changes: Array<{ kind: string; name: string; action: string }> };
    expect(body.changes).toEqual(
      expect.arrayContaining([
        { kind: 'Upstream', name: 'orders-backend', action: 'create' },
        { kind: 'Api', name: 'orders', action: 'create' },
      ]),
    );
    const waited = await waitUntil(async () => (await proxyGet(tg.proxyUrl, '/orders', 'api.example.com')).status === 200, 1000);
    expect(waited).toBeLessThan(1000);
    expect(upstream.requests.at(-1)?.url).toBe('/orders');
  });

  it.each([
    ['invalid YAML', () => 'kind: Api\nmetadata: {name: x\n', 400, { document: 0 }],
    ['an unknown kind', () => 'apiVersion: tollgate.dev/v1\nkind: Gizmo\nmetadata: {name: x}\nspec: {}\n', 422, { document: 0, path: 'kind' }],
    ['an unknown field', () => apiYamlWith('  colour: red\n'), 422, { document: 1, path: 'spec.colour' }],
    ['a wrong type', () => apiYamlWith('  stripBasePath: sometimes\n'), 422, { document: 1, path: 'spec.stripBasePath' }],
    ['a dangling upstream reference', () => apiYamlDangling(), 422, { document: 0, path: 'spec.routes[0].destination.upstream' }],
  ])('refuses %s with problem+json naming document and field, and keeps serving', async (_name, makeYaml, status, where) => {
    const yaml = makeYaml();
    const res = await fetch(`${tg.adminUrl}/config?prune=true`, { method: 'POST', headers: { ...auth, 'content-type': 'application/yaml' }, body: yaml });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { code: string; errors: Array<Record<string, unknown>> };
    expect(problem.errors[0]).toMatchObject(where);
    // Nothing changed: the previous config still serves, to the previous upstream.
    const after = await proxyGet(tg.proxyUrl, '/orders/still', 'api.example.com');
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body)).toMatchObject({ upstream: 'primary' });
  });

  function apiYamlWith(extraSpecLine: string): string {
    return apiYaml(upstream.url).replace('  basePath: /orders\n', `  basePath: /orders\n${extraSpecLine}`);
  }
  function apiYamlDangling(): string {
    return apiYaml(other.url).split('---\n')[1]!.replace('upstream: orders-backend', 'upstream: nowhere');
  }
});
