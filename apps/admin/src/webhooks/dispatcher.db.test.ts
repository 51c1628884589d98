import { createServer, type Server } from 'node:http';
import { BlockList } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookDeliveries, writeEvents } from '@tollgate/db';
import { outboxEvent } from '@tollgate/model';
import { createPostgresStores, type SqlStores } from '@tollgate/stores';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { WebhookDispatcher } from './dispatcher.js';
import type { OutboundPolicy } from './outbound-policy.js';

/** The dispatcher on a real Postgres: SKIP LOCKED sharing between two dispatchers, dead-lettering. */

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const policy: OutboundPolicy = { allowPrivate: true, allow: new BlockList(), ownPorts: new Set() };
const quiet = { info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let db: TestDatabase;
let stores: SqlStores;
let server: Server;
let port = 0;
const seen: Array<{ path: string; id: string }> = [];

beforeAll(async () => {
  db = await createTestDatabase();
  stores = await createPostgresStores({ url: db.url });
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', id: String(req.headers['webhook-id']) });
    req.resume();
    // A little latency, so two dispatchers' rounds overlap.
    setTimeout(() => {
      res.statusCode = req.url === '/down' ? 500 : 204;
      res.end();
    }, 5);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  port = typeof a === 'object' && a ? a.port : 0;
  const hook = (name: string, path: string, events: string[]) => ({ apiVersion: 'tollgate.dev/v1' as const, kind: 'Webhook' as const, metadata: { name }, spec: { url: `http://127.0.0.1:${port}${path}`, secret: SECRET, events, disabled: false } });
  await stores.config.apply([hook('up', '/up', ['api_key.*']), hook('down', '/down', ['api_key.revoked'])], { validate: () => [] });
});

afterAll(async () => {
  await stores?.close();
  server?.close();
  await db?.drop();
});

describe('WebhookDispatcher on Postgres', () => {
  it('two dispatchers share the outbox: every delivery sent once', async () => {
    const events = Array.from({ length: 40 }, (_, i) => outboxEvent('api_key.created', { keyId: `k${i}`, consumer: 'c', prefix: 'tg_', last4: 'abcd' }));
    await writeEvents(stores.db, events);
    const opts = { db: stores.db, policy, log: quiet, concurrency: 4, retry: { baseMs: 50, maxMs: 100, horizonMs: 60_000 } };
    const a = new WebhookDispatcher(opts);
    const b = new WebhookDispatcher(opts);
    await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
    const ups = seen.filter((s) => s.path === '/up');
    expect(ups).toHaveLength(40);
    expect(new Set(ups.map((s) => s.id)).size).toBe(40);
    const rows = await stores.db.select().from(webhookDeliveries);
    expect(rows.filter((r) => r.webhook === 'up' && r.status === 'delivered')).toHaveLength(40);
  });

  it('dead-letters a delivery whose receiver keeps failing past the horizon', async () => {
    await writeEvents(stores.db, [outboxEvent('api_key.revoked', { keyId: 'k1', consumer: 'c' })]);
    const d = new WebhookDispatcher({ db: stores.db, policy, log: quiet, retry: { baseMs: 20, maxMs: 40, horizonMs: 300 } });
    const deadline = Date.now() + 5_000;
    let row: typeof webhookDeliveries.$inferSelect | undefined;
    while (Date.now() < deadline) {
      await d.tick();
      row = (await stores.db.select().from(webhookDeliveries)).find((r) => r.webhook === 'down');
      if (row?.status === 'dead') break;
      await sleep(30);
    }
    expect(row?.status).toBe('dead');
    expect(row!.attempts).toBeGreaterThanOrEqual(2);
    expect(row!.lastStatus).toBe(500);
    const downs = seen.filter((s) => s.path === '/down');
    expect(downs).toHaveLength(row!.attempts);
    expect(new Set(downs.map((s) => s.id))).toEqual(new Set([row!.id]));
    // The revoked-key event also went to `up` (filter api_key.*), once.
    expect(seen.filter((s) => s.path === '/up')).toHaveLength(41);
  });
});
