import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '@tollgate/model';
import { startAdminHarness, upstreamJson, upstreamYaml, type AdminHarness } from './harness.js';
import { expectProblem } from './problem-assertions.js';

interface Entry {
  id: number;
  at: string;
  action: string;
  outcome: string;
  status?: number;
  actor?: { id: string; name: string; role: string };
  resourceKind?: string;
  resourceName?: string;
  requestId?: string;
  clientAddress?: string;
  detail?: string;
  before?: unknown;
  after?: unknown;
}

const CONSUMER = `apiVersion: tollgate.dev/v1
kind: Consumer
metadata:
  name: acme
spec:
  keys:
    - name: ci
      key: audit-plaintext-key-0123456789
  metadata:
    password: hunter2-do-not-log
`;

describe('audit log', () => {
  let h: AdminHarness;
  const log = async (query = '', role: 'admin' | 'viewer' = 'admin') => h.app.inject({ method: 'GET', url: `/audit-log${query}`, headers: h.auth(role) });
  const entries = async (query = '') => (await log(query)).json<{ items: Entry[]; next?: number }>();
  beforeAll(async () => {
    h = await startAdminHarness('pglite');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('records a mutation in its transaction, with actor, request id, address and redacted before/after', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/config', headers: { ...h.auth('operator'), 'content-type': 'application/yaml', 'x-request-id': 'req-audit-1' }, payload: CONSUMER });
    expect(res.statusCode, res.body).toBe(200);
    const [entry] = (await entries('?action=config.apply')).items;
    expect(entry).toMatchObject({ action: 'config.apply', outcome: 'success', actor: { id: 'atk_operator', name: 'operator', role: 'operator' }, requestId: 'req-audit-1', clientAddress: '127.0.0.1' });
    expect(entry?.before).toEqual({});
    const after = (entry?.after as Record<string, { spec: { keys: Array<Record<string, unknown>>; metadata: Record<string, unknown> } }>)['Consumer/acme'];
    expect(after?.spec.keys[0]).toEqual({ name: 'ci', hash: '[REDACTED]' });
    expect(after?.spec.metadata.password).toBe('[REDACTED]');
    const raw = JSON.stringify(await entries());
    for (const secret of ['audit-plaintext-key-0123456789', hashApiKey('audit-plaintext-key-0123456789'), 'hunter2-do-not-log']) expect(raw).not.toContain(secret);

    const put = await h.app.inject({ method: 'PUT', url: '/upstreams/u1', headers: h.auth(), payload: upstreamJson('u1', 9002) });
    expect(put.statusCode).toBe(201);
    await h.app.inject({ method: 'PUT', url: '/upstreams/u1', headers: h.auth(), payload: upstreamJson('u1', 9003) });
    const [replace] = (await entries('?resource=Upstream/u1&action=upstream.replace')).items;
    expect(replace).toMatchObject({ resourceKind: 'Upstream', resourceName: 'u1', outcome: 'success' });
    expect(JSON.stringify(replace?.before)).toContain('9002');
    expect(JSON.stringify(replace?.after)).toContain('9003');
  });

  it('records refusals (denied, rejected, dry run) without the submitted secrets', async () => {
    expectProblem(await h.app.inject({ method: 'POST', url: '/config', headers: { ...h.auth('viewer'), 'content-type': 'application/yaml', 'x-request-id': 'req-denied' }, payload: CONSUMER }), 403, 'FORBIDDEN');
    expectProblem(await h.app.inject({ method: 'DELETE', url: '/upstreams/absent', headers: { ...h.auth(), 'x-request-id': 'req-404' } }), 404, 'NOT_FOUND');
    const bad = CONSUMER.replace('name: ci', 'name: ci\n      unknown: 1');
    expectProblem(await h.app.inject({ method: 'POST', url: '/config', headers: { ...h.auth(), 'content-type': 'application/yaml', 'x-request-id': 'req-422' }, payload: bad }), 422, 'INVALID_CONFIG');
    expect((await h.app.inject({ method: 'POST', url: '/config?dryRun=true', headers: { ...h.auth(), 'content-type': 'application/yaml', 'x-request-id': 'req-dry' }, payload: upstreamYaml('dry') })).statusCode).toBe(200);
    const all = (await entries('?limit=500')).items;
    const byId = (id: string) => all.find((e) => e.requestId === id);
    expect(byId('req-denied')).toMatchObject({ action: 'config.apply', outcome: 'denied', status: 403, actor: { role: 'viewer' } });
    expect(byId('req-404')).toMatchObject({ action: 'upstream.delete', outcome: 'rejected', status: 404, resourceKind: 'Upstream', resourceName: 'absent' });
    expect(byId('req-422')).toMatchObject({ action: 'config.apply', outcome: 'rejected', status: 422 });
    expect(JSON.stringify(byId('req-422')?.after)).toContain('[REDACTED]');
    expect(byId('req-dry')).toMatchObject({ outcome: 'dry_run', status: 200 });
    expect(JSON.stringify(all)).not.toContain('audit-plaintext-key-0123456789');
  });

  it('records failed authentications with address and reason, never the token', async () => {
    await h.app.inject({ method: 'GET', url: '/apis', headers: { 'x-request-id': 'req-noauth' }, remoteAddress: '203.0.113.7' });
    await h.app.inject({ method: 'DELETE', url: '/apis/x', headers: { authorization: 'Bearer tgadm_guessed_secret_value', 'x-request-id': 'req-badauth' } });
    const failed = (await entries('?action=auth.failed')).items;
    expect(failed.find((e) => e.requestId === 'req-noauth')).toMatchObject({ outcome: 'unauthenticated', status: 401, clientAddress: '203.0.113.7', detail: 'no credentials: GET /apis' });
    expect(failed.find((e) => e.requestId === 'req-badauth')).toMatchObject({ detail: 'invalid or revoked token: DELETE /apis/x' });
    expect(JSON.stringify(failed)).not.toContain('tgadm_guessed_secret_value');
  });

  it('filters by actor, action, resource and time, and pages newest first with a Link', async () => {
    for (let i = 0; i < 5; i++) await h.app.inject({ method: 'PUT', url: `/upstreams/p${i}`, headers: h.auth(), payload: upstreamJson(`p${i}`) });
    const seen: number[] = [];
    let url = '?actor=atk_admin&action=upstream.replace&limit=2';
    let pages = 0;
    for (;;) {
      const res = await log(url);
      const page = res.json<{ items: Entry[]; next?: number }>();
      pages++;
      seen.push(...page.items.map((e) => e.id));
      expect(page.items.every((e) => e.actor?.id === 'atk_admin' && e.action === 'upstream.replace')).toBe(true);
      if (page.next === undefined) break;
      expect(res.headers.link).toBe(`</audit-log?actor=atk_admin&action=upstream.replace&limit=2&after=${page.next}>; rel="next"`);
      url = `?actor=atk_admin&action=upstream.replace&limit=2&after=${page.next}`;
    }
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(7); // p0..p4 and u1 twice
    expect(pages).toBe(4);
    expect((await entries('?resource=Upstream/p3')).items.map((e) => e.action)).toEqual(['upstream.replace']);
    expect((await entries(`?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).items).toEqual([]);
    expect((await entries(`?to=${encodeURIComponent(new Date(0).toISOString())}`)).items).toEqual([]);
    expectProblem(await log('?from=yesterday'), 400, 'INVALID_REQUEST');
  });

  it('a large apply is audited in parts of at most 100 changed resources, which together name every change', async () => {
    const many = Array.from({ length: 250 }, (_, i) => upstreamJson(`big-${String(i).padStart(3, '0')}`, 9100));
    const res = await h.app.inject({ method: 'POST', url: '/config', headers: { ...h.auth(), 'x-request-id': 'req-audit-big' }, payload: many });
    expect(res.statusCode, res.body).toBe(200);
    const parts = (await entries('?action=config.apply&limit=10')).items.filter((e) => e.requestId === 'req-audit-big');
    expect(parts.map((e) => e.detail).sort()).toEqual(['part 1 of 3: 100 of 250 changed resources', 'part 2 of 3: 100 of 250 changed resources', 'part 3 of 3: 50 of 250 changed resources']);
    const named = parts.flatMap((e) => Object.keys(e.after as Record<string, unknown>));
    expect(named.sort()).toEqual(many.map((u) => `Upstream/${u.metadata.name}`));
    for (const e of parts) expect(e).toMatchObject({ action: 'config.apply', outcome: 'success', actor: { id: 'atk_admin' }, before: {} });
  });

  it('is readable by admins only', async () => {
    const res = expectProblem(await log('', 'viewer'), 403, 'FORBIDDEN');
    expect(res.detail).toContain('audit:read');
    expect((await h.app.inject({ method: 'GET', url: '/audit-log', headers: h.auth('operator') })).statusCode).toBe(403);
  });
});

describe('repeated failed admin authentication', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness('pglite', { authThrottle: { maxFailures: 3, windowMs: 60_000 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers 429 with Retry-After once an address failed N times, even for a valid token; other addresses are unaffected', async () => {
    const from = (remoteAddress: string, authorization?: string) =>
      h.app.inject({ method: 'GET', url: '/apis', remoteAddress, headers: authorization ? { authorization } : {} });
    for (let i = 0; i < 3; i++) expectProblem(await from('198.51.100.9', 'Bearer wrong-guess-value'), 401, 'UNAUTHORIZED');
    const limited = expectProblem(await from('198.51.100.9', 'Bearer wrong-guess-value'), 429, 'TOO_MANY_REQUESTS');
    expect(limited.detail).toMatch(/too many failed/);
    const again = await from('198.51.100.9', h.auth().authorization);
    expect(again.statusCode).toBe(429);
    expect(Number(again.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(again.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await from('198.51.100.10', h.auth().authorization)).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '198.51.100.9' })).statusCode).toBe(200);
    // Only the failures are audited, not the throttled attempts.
    const failed = await h.stores.audit.query({ limit: 100, action: 'auth.failed' });
    expect(failed.items.filter((e) => e.clientAddress === '198.51.100.9')).toHaveLength(3);
  });
});
