import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiJson, BACKENDS, startAdminHarness, upstreamJson, type AdminHarness } from './harness.js';

// A large JSON apply (issue #16): 5,000 Upstreams + 5,000 Apis + 923 Consumers = 10,923 documents.
// Written as one multi-row INSERT it needs ~65,500 bind parameters, past Postgres' 65,535 cap,
// and the apply used to fail with a 500. The store now writes in batches inside one transaction.
const UPSTREAMS = 5_000;
const APIS = 5_000;
const CONSUMERS = 923;

function consumerJson(name: string) {
  return { apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name }, spec: { groups: ['bulk'] } };
}

function largeSet(suffix = ''): unknown[] {
  return [
    ...Array.from({ length: UPSTREAMS }, (_, i) => upstreamJson(`u${i}${suffix}`)),
    ...Array.from({ length: APIS }, (_, i) => apiJson(`a${i}${suffix}`, `u${i % UPSTREAMS}${suffix}`)),
    ...Array.from({ length: CONSUMERS }, (_, i) => consumerJson(`c${i}${suffix}`)),
  ];
}

describe.each(BACKENDS)('a large apply (%s)', (backend) => {
  let h: AdminHarness;
  beforeAll(async () => {
    // The document cap (10,000 by default) is raised for this deployment-sized set.
    h = await startAdminHarness(backend, { maxDocuments: 20_000 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('applies 10,923 JSON documents in one change, then prunes them all', async () => {
    const before = Number((await h.app.inject({ method: 'GET', url: '/config', headers: h.auth() })).headers['tollgate-config-version']);
    const started = performance.now();
    const res = await h.app.inject({ method: 'POST', url: '/config', headers: h.auth(), payload: largeSet() });
    const took = performance.now() - started;
    expect(res.statusCode, res.body.slice(0, 500)).toBe(200);
    console.log(`[${backend}] POST /config with ${UPSTREAMS + APIS + CONSUMERS} documents: ${took.toFixed(0)} ms`);
    const body = res.json<{ version: number; changes: Array<{ action: string }> }>();
    expect(body.version).toBe(before + 1);
    expect(body.changes.filter((c) => c.action === 'create')).toHaveLength(UPSTREAMS + APIS + CONSUMERS);
    const page = (await h.app.inject({ method: 'GET', url: '/consumers?limit=500', headers: h.auth() })).json<{ items: unknown[] }>();
    expect(page.items).toHaveLength(500);
    const pruned = await h.app.inject({ method: 'POST', url: '/config?prune=true&pruneBilling=true', headers: h.auth(), payload: [upstreamJson('only')] });
    expect(pruned.statusCode, pruned.body.slice(0, 500)).toBe(200);
    expect(pruned.json<{ version: number }>().version).toBe(before + 2);
    expect(await h.exportYaml()).not.toContain('name: c0');
  });
});
