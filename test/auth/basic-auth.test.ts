import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

// basic-auth through a real `tollgate start` process (on Postgres): passwords go in as YAML,
// are stored as scrypt hashes, and never come back out of any response, export, log or audit entry.
const TOKEN = 'basic-auth-admin-token-0123456789abcdef';
const PASSWORD = 'Pa55word-alice-9f3c1e';
const NEW_PASSWORD = 'Rotated-alice-77aa01';

const config = (upstream: string, password: string) => `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: svc }
spec: { targets: [{ url: "${upstream}" }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec:
  customId: cust-acme
  groups: [gold]
  basicAuth: [{ username: alice, password: "${password}" }]
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: basic }
spec:
  policies: [{ name: basic-auth, config: { realm: orders } }]
  routes: [{ name: all, destination: { upstream: svc } }]
`;

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('basic-auth through a real process', () => {
  let db: TestDatabase;
  let up: RecordingUpstream;
  let tg: TollgateProcess;
  const admin = (path: string, init: RequestInit = {}) => fetch(`${tg.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) } });
  const apply = async (yaml: string) => {
    const res = await admin('/config', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: yaml });
    return { status: res.status, body: await res.text() };
  };
  const call = async (authorization?: string) => {
    const res = await fetch(`${tg.proxyUrl}/orders/1`, { headers: authorization !== undefined ? { authorization } : {} });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    up = await startRecordingUpstream('svc');
    tg = await startTollgateProcess({ env: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, CONFIG_POLL_MS: '500' }, readyTimeoutMs: 55_000 });
    const applied = await apply(config(up.url, PASSWORD));
    expect(applied.status, applied.body).toBe(200);
    await waitUntil(async () => (await call()).status === 401, 5000);
  }, 90_000);

  afterAll(async () => {
    await tg?.stop();
    await up?.close();
    await db?.drop();
  });

  it('forwards a valid user with the identity headers and without the Authorization header', async () => {
    const res = await call(basic('alice', PASSWORD));
    expect(res.status, res.body).toBe(200);
    const seen = up.requests.at(-1);
    expect(seen?.headers['x-consumer-name']).toBe('acme');
    expect(seen?.headers['x-consumer-id']).toBe('cust-acme');
    expect(seen?.headers['x-consumer-groups']).toBe('gold');
    expect(seen?.headers.authorization).toBeUndefined();
  });

  it('answers 401 with the realm: no credential (AUTH_REQUIRED), wrong password, unknown user, malformed (INVALID_CREDENTIAL)', async () => {
    const none = await call();
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ code: 'AUTH_REQUIRED' });
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="orders", charset="UTF-8"');
    for (const a of [basic('alice', 'not-the-password'), basic('mallory', PASSWORD), 'Basic %%%']) {
      const res = await call(a);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'INVALID_CREDENTIAL' });
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="orders", charset="UTF-8"');
      expect(res.body).not.toContain(PASSWORD);
    }
  });

  it('re-applying the same YAML is unchanged; a new password replaces the old one on the next request', async () => {
    const same = await apply(config(up.url, PASSWORD));
    expect((JSON.parse(same.body) as { changes: Array<{ kind: string; action: string }> }).changes.find((c) => c.kind === 'Consumer')?.action).toBe('unchanged');
    expect((await apply(config(up.url, NEW_PASSWORD))).status).toBe(200);
    await waitUntil(async () => (await call(basic('alice', NEW_PASSWORD))).status === 200, 5000);
    expect((await call(basic('alice', PASSWORD))).status).toBe(401);
  });

  it('never shows a password: responses, export, consumer reads, audit log and process output hold only scrypt hashes', async () => {
    const bodies: string[] = [];
    for (const path of ['/config', '/config?format=json', '/consumers/acme', '/consumers', '/audit-log']) {
      const res = await admin(path);
      expect(res.status, path).toBe(200);
      bodies.push(await res.text());
    }
    const all = bodies.join('\n') + tg.output();
    expect(all).toContain('$scrypt$ln=15,r=8,p=1$');
    for (const secret of [PASSWORD, NEW_PASSWORD, Buffer.from(`alice:${PASSWORD}`).toString('base64')]) expect(all).not.toContain(secret);
  });
});
