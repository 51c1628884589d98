import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCa, yamlBlock } from '../edge/certs.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { startNatsServer, type OwnedProcess } from './private-brokers.js';

// A broker reached over TLS: a private nats-server with a certificate of a test CA. The gateway
// trusts it through the Broker's `tls.ca`; a Broker without that CA never connects (503).

const TOKEN = `tgadm_${randomBytes(24).toString('hex')}`;
let dir: string;
let db: TestDatabase;
let tg: TollgateProcess;
let nats: OwnedProcess;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-broker-tls-'));
  const ca = new TestCa();
  const leaf = ca.issue('127.0.0.1', ['127.0.0.1', 'localhost']);
  writeFileSync(join(dir, 'server.crt'), leaf.cert);
  writeFileSync(join(dir, 'server.key'), leaf.key);
  port = await freePort();
  nats = await startNatsServer(port, join(dir, 'js'), { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') });
  db = await createTestDatabase();
  tg = await startTollgateProcess({ env: { TOLLGATE_DATA: join(dir, 'data'), DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, MAX_EVENT_LOOP_DELAY_MS: '0' } });
  const yaml = `apiVersion: tollgate.dev/v1
kind: Broker
metadata: { name: nats-tls }
spec:
  type: nats
  servers: ["tls://127.0.0.1:${port}"]
  tls:
    ca: ${yamlBlock(ca.ca.cert, 6)}
---
apiVersion: tollgate.dev/v1
kind: Broker
metadata: { name: nats-tls-untrusted }
spec: { type: nats, servers: ["tls://127.0.0.1:${port}"] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: tls-events }
spec:
  basePath: /t
  routes:
    - { name: trusted, match: [{ path: { exact: /trusted } }], messaging: { broker: nats-tls, subject: tls.trusted } }
    - { name: untrusted, match: [{ path: { exact: /untrusted } }], messaging: { broker: nats-tls-untrusted, subject: tls.untrusted } }
`;
  const r = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: yaml });
  expect(r.status, await r.text()).toBe(200);
}, 60_000);

afterAll(async () => {
  await tg?.stop();
  await db?.drop();
  await nats?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a broker over TLS', () => {
  it('publishes through a TLS connection verified with the Broker CA; without it the broker stays down (503)', async () => {
    await waitUntil(async () => (await fetch(`${tg.proxyUrl}/t/trusted`, { method: 'POST', body: 'x' })).status === 202, 15_000);
    const r = await fetch(`${tg.proxyUrl}/t/untrusted`, { method: 'POST', body: 'x' });
    expect(r.status).toBe(503);
    expect(((await r.json()) as { code: string }).code).toBe('MESSAGING_BROKER_DOWN');
  });
});
