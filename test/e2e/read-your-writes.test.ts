import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';

const TOKEN = 'tgadm_read_your_writes_0123456789abcdef';

/**
 * `tollgate start all` answers an admin change once its own data plane serves it, so a script can
 * call what it just created on the next line (apps/admin/src/local-data-plane.ts). Before, the
 * reply raced the reload on the same event loop and such a call got 404 / 401 now and then (a
 * README block failed that way under load).
 */
describe('one process: what the admin API just changed is served at once', () => {
  let tollgate: TollgateProcess;
  let data: string;
  const admin = (path: string, body: unknown, method = 'POST') =>
    fetch(`${tollgate.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    data = mkdtempSync(join(tmpdir(), 'tollgate-ryw-'));
    tollgate = await startTollgateProcess({ role: 'all', env: { TOLLGATE_DATA: data, ADMIN_TOKEN: TOKEN } });
  }, 90_000);
  afterAll(async () => {
    await tollgate?.stop();
    if (data) rmSync(data, { recursive: true, force: true });
  });

  it('a new API answers on the very next request, every time', async () => {
    // 1,000 routes each: the data plane's reload takes long enough that an early answer would show.
    const filler = Array.from({ length: 1_000 }, (_, r) => ({ name: `r${r}`, match: [{ path: { exact: `/filler/${r}` } }], directResponse: { status: 204 } }));
    for (let i = 0; i < 5; i++) {
      const api = { apiVersion: 'tollgate.dev/v1', kind: 'Api', metadata: { name: `ryw-${i}` }, spec: { basePath: `/ryw-${i}`, routes: [...filler, { name: 'hello', directResponse: { status: 200, body: `api ${i}` } }] } };
      const applied = await admin('/config', [api]);
      expect(applied.status, await applied.text()).toBe(200);
      const res = await fetch(`${tollgate.proxyUrl}/ryw-${i}/x`);
      expect(res.status, `api ${i}`).toBe(200);
      expect(await res.text()).toBe(`api ${i}`);
    }
  });

  it('a new consumer and key authenticate on the very next request (change-feed deltas)', async () => {
    const guarded = { apiVersion: 'tollgate.dev/v1', kind: 'Api', metadata: { name: 'ryw-guarded' }, spec: { basePath: '/guarded', policies: [{ name: 'key-auth' }], routes: [{ name: 'hello', directResponse: { status: 200, body: 'ok' } }] } };
    expect((await admin('/config', [guarded])).status).toBe(200);
    for (let i = 0; i < 10; i++) {
      const consumer = { apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: `ryw-c${i}` }, spec: {} };
      expect((await admin('/config', [consumer])).status).toBe(200);
      const created = await admin(`/consumers/ryw-c${i}/keys`, { name: 'k' });
      expect(created.status).toBe(201);
      const { key } = (await created.json()) as { key: string };
      const res = await fetch(`${tollgate.proxyUrl}/guarded/x`, { headers: { apikey: key } });
      expect(res.status, `consumer ${i}`).toBe(200);
    }
  });

  it('the reload after an apply compiles none of the Apis the apply validated (the admin and its data plane share one compile cache)', async () => {
    const apis = Array.from({ length: 3 }, (_, i) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Api', metadata: { name: `shared-${i}` }, spec: { basePath: `/shared-${i}`, routes: [{ name: 'hello', directResponse: { status: 200 } }] } }));
    const applied = await admin('/config', apis);
    expect(applied.status).toBe(200);
    const { version } = (await applied.json()) as { version: number };
    // The install of that version, as logged (the output may reach this process a little later).
    const installed = async () => {
      for (let i = 0; i < 100; i++) {
        for (const line of tollgate.output().split('\n')) {
          if (!line.includes('config snapshot installed')) continue;
          const entry = JSON.parse(line) as { version?: number; compiledApis?: number; reusedApis?: number };
          if (entry.version === version) return entry;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no install of version ${version} logged`);
    };
    const entry = await installed();
    expect(entry.compiledApis).toBe(0);
    expect(entry.reusedApis).toBeGreaterThanOrEqual(3);
  });
});
