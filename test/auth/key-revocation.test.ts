import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '@tollgate/compiler';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { createPostgresStores, type SqlStores } from '@tollgate/stores';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';

// Two gateway processes on one Postgres: a key created through the key store authenticates on
// both, and its revocation (a change-feed delta: NOTIFY, no config version bump) stops it on both within one second.
// The safety-net poll is a minute, so only the notification can explain the pickup.
describe('API key revocation across two gateway processes', () => {
  let db: TestDatabase;
  let stores: SqlStores;
  let up: RecordingUpstream;
  let gateways: TollgateProcess[] = [];
  const key = `tg_${randomBytes(24).toString('base64url')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    stores = await createPostgresStores({ url: db.url });
    up = await startRecordingUpstream('svc');
    const parsed = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: svc }
spec: { targets: [{ url: "${up.url}" }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { groups: [gold] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: keyed }
spec:
  policies: [{ name: key-auth }]
  routes: [{ name: all, destination: { upstream: svc } }]
`);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const validate = (r: Resource[]) => {
      const c = compileConfig(r, 0);
      return c.ok ? [] : c.issues;
    };
    await stores.config.apply(parsed.resources, { validate });
    const env = { DATABASE_URL: db.url, ADMIN_TOKEN: 'revocation-admin-token-0123456789', CONFIG_POLL_MS: '60000' };
    gateways = await Promise.all([startTollgateProcess({ role: 'gateway', env }), startTollgateProcess({ role: 'gateway', env })]);
  });

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await stores?.close();
    await up?.close();
    await db?.drop();
  });

  async function status(g: TollgateProcess): Promise<number> {
    const res = await fetch(`${g.proxyUrl}/x`, { headers: { apikey: key } });
    await res.arrayBuffer();
    return res.status;
  }

  async function within(ms: number, want: number): Promise<number> {
    const t0 = Date.now();
    const waits = await Promise.all(
      gateways.map(async (g) => {
        while (Date.now() - t0 < ms) {
          if ((await status(g)) === want) return Date.now() - t0;
          await new Promise((r) => setTimeout(r, 20));
        }
        return Infinity;
      }),
    );
    return Math.max(...waits);
  }

  it('a created key works on both nodes, and its revocation reaches both within one second', async () => {
    for (const g of gateways) expect(await status(g)).toBe(401);
    const { key: rec } = await stores.apiKeys.create({ id: `key_${randomBytes(6).toString('hex')}`, consumer: 'acme', hash: createHash('sha256').update(key).digest('hex'), prefix: key.slice(0, 8), last4: key.slice(-4) });
    expect(await within(1000, 200)).toBeLessThan(1000);
    expect(up.requests.at(-1)?.headers['x-consumer-name']).toBe('acme');
    expect(up.requests.every((r) => r.headers.apikey === undefined)).toBe(true);
    await stores.apiKeys.revoke('acme', rec.id);
    expect(await within(1000, 401)).toBeLessThan(1000);
    for (const g of gateways) expect(g.output()).not.toContain(key);
  });
});
