import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRoutes, ROLE_PERMISSIONS, ruleOf } from '@tollgate/admin';
import type { AdminRole, AuditEntry } from '@tollgate/stores';
import { startAdminHarness, upstreamYaml, type AdminHarness } from './harness.js';
import { expectProblem } from './problem-assertions.js';

const ROLES: AdminRole[] = ['admin', 'operator', 'viewer', 'billing'];

/** A concrete URL for a route pattern: names and ids that exist nowhere, so allowed mutations change nothing. */
function urlOf(pattern: string): string {
  return pattern.replace(':name', 'role-probe').replace(':id', pattern.startsWith('/admin-tokens') ? 'atk_absent' : 'key_00');
}

async function auditEntries(h: AdminHarness): Promise<AuditEntry[]> {
  const all: AuditEntry[] = [];
  let before: number | undefined;
  do {
    const page = await h.stores.audit.query({ limit: 500, ...(before !== undefined ? { before } : {}) });
    all.push(...page.items);
    before = page.next;
  } while (before !== undefined);
  return all;
}

describe('every admin route against every role (from the registered route table)', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness('pglite');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('each route has a permission entry; no token and a wrong token get 401; each role gets 403 exactly when it lacks the permission', async () => {
    await h.applyYaml(upstreamYaml('kept'));
    const exportBefore = await h.exportYaml();
    const tokensBefore = await h.stores.tokens.list();
    // The console's assets are public; its session routes authenticate themselves (admin-console-session.test.ts).
    const routes = adminRoutes(h.app).filter((r) => r.method !== 'HEAD' && r.url !== '/docs' && !r.url.startsWith('/docs/') && r.url !== '/console' && !r.url.startsWith('/console/'));
    // The table of the API as built: a route added without a permission would have stopped buildAdmin.
    expect(routes.length).toBeGreaterThanOrEqual(26);
    const tried: Array<{ requestId: string; method: string; url: string; role?: AdminRole; status: number }> = [];
    let n = 0;
    for (const { method, url: pattern } of routes) {
      const rule = ruleOf(method, pattern);
      expect(rule, `${method} ${pattern}`).toBeDefined();
      if (!rule) continue;
      const url = urlOf(pattern);
      const send = async (headers: Record<string, string>, role?: AdminRole) => {
        const requestId = `probe-${n++}`;
        const res = await h.app.inject({ method: method as 'GET', url, headers: { ...headers, 'x-request-id': requestId, 'content-type': 'application/json' }, payload: method === 'GET' || method === 'DELETE' ? undefined : '{}' });
        tried.push({ requestId, method, url: pattern, ...(role ? { role } : {}), status: res.statusCode });
        return res;
      };
      if (rule.permission === 'public') {
        expect((await send({})).statusCode, `${method} ${pattern}`).toBeLessThan(400);
        continue;
      }
      expectProblem(await send({}), 401, 'UNAUTHORIZED');
      expectProblem(await send({ authorization: 'Bearer tgadm_wrong_token_0123456789' }), 401, 'UNAUTHORIZED');
      for (const role of ROLES) {
        const res = await send(h.auth(role), role);
        if (ROLE_PERMISSIONS[role].has(rule.permission)) {
          expect([401, 403], `${role} ${method} ${pattern}: ${res.body}`).not.toContain(res.statusCode);
        } else {
          const body = expectProblem(res, 403, 'FORBIDDEN');
          expect(body.detail).toContain(rule.permission);
          expect(body.detail).toMatch(/requires role "admin"/);
        }
      }
    }

    // A viewer (and billing) changed nothing: configuration and tokens are as before.
    expect(await h.exportYaml()).toBe(exportBefore);
    expect(await h.stores.tokens.list()).toEqual(tokensBefore);

    // The audit log has one entry per failed authentication and per mutation attempt, with its outcome.
    const entries = await auditEntries(h);
    const byRequest = new Map(entries.map((e) => [e.requestId, e]));
    for (const t of tried) {
      const rule = ruleOf(t.method, t.url);
      const entry = byRequest.get(t.requestId);
      if (t.status === 401) {
        expect(entry, `${t.requestId} ${t.method} ${t.url}`).toMatchObject({ action: 'auth.failed', outcome: 'unauthenticated', clientAddress: '127.0.0.1' });
        expect(entry?.actor).toBeUndefined();
      } else if (rule?.action) {
        expect(entry, `${t.requestId} ${t.method} ${t.url} ${t.role}`).toMatchObject({ action: rule.action, outcome: t.status === 403 ? 'denied' : t.status < 400 ? 'success' : 'rejected', status: t.status, actor: { role: t.role } });
      } else {
        expect(entry, `reads are not audited: ${t.method} ${t.url}`).toBeUndefined();
      }
    }
  });
});
