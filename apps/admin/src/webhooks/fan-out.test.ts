import { BlockList } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { webhookDeliveries, writeEvents } from '@tollgate/db';
import { outboxEvent, type Resource } from '@tollgate/model';
import { createPgliteStores, createPostgresStores, type SqlStores } from '@tollgate/stores';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { WebhookDispatcher } from './dispatcher.js';

/**
 * The fan-out honours "a webhook receives the events raised after it was created"
 * (docs/events.md): an event still waiting for its fan-out when a webhook is created does not go
 * to that webhook. On both drivers.
 */

const quiet = { info() {}, warn() {}, error() {} };
const policy = { allowPrivate: true, allow: new BlockList(), ownPorts: new Set<number>() };

function hook(name: string, events: string[]): Resource {
  return { apiVersion: 'tollgate.dev/v1', kind: 'Webhook', metadata: { name }, spec: { url: `http://127.0.0.1:9/${name}`, secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, events, disabled: false } } as Resource;
}

interface Backend {
  name: string;
  open(): Promise<{ stores: SqlStores; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'PGlite',
    async open() {
      const stores = await createPgliteStores();
      return { stores, close: () => stores.close() };
    },
  },
  {
    name: 'Postgres',
    async open() {
      const database: TestDatabase = await createTestDatabase();
      const stores = await createPostgresStores({ url: database.url, poolMax: 2 });
      return {
        stores,
        async close() {
          await stores.close();
          await database.drop();
        },
      };
    },
  },
];

describe.each(backends)('webhook fan-out ($name)', (backend) => {
  let stores: SqlStores;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ stores, close } = await backend.open());
  });
  afterAll(async () => {
    await close?.();
  });

  const deliveries = async () =>
    (await stores.db.select({ webhook: webhookDeliveries.webhook, eventSeq: webhookDeliveries.eventSeq }).from(webhookDeliveries)).map((d) => `${d.webhook}:${d.eventSeq}`).sort();
  const seqOf = async (where: ReturnType<typeof sql>) => Number(((await stores.db.execute(sql`SELECT seq FROM events WHERE ${where}`)) as unknown as { rows: Array<{ seq: number | string }> }).rows[0]!.seq);

  it('sends an event only to the webhooks created at or before it was raised', async () => {
    await stores.config.apply([hook('old', ['api_key.*'])], { validate: () => [] });
    const [raised] = await writeEvents(stores.db, [outboxEvent('api_key.created', { keyId: 'k_before', consumer: 'c', prefix: 'tg_', last4: 'abcd' })]);
    // Created after the event, before any fan-out; it also takes the `config.applied` of its own
    // apply (written in the same transaction as the webhook: the same database time).
    await stores.config.apply([hook('new', ['api_key.*', 'config.applied'])], { validate: () => [] });

    const dispatcher = new WebhookDispatcher({ db: stores.db, policy, log: quiet });
    // The `old` apply's config.applied, the event, the `new` apply's config.applied.
    expect(await dispatcher.fanOut()).toBe(3);

    const before = await seqOf(sql`id = ${raised!}`);
    const ownApply = await seqOf(sql`type = 'config.applied' ORDER BY seq DESC LIMIT 1`);
    expect(await deliveries()).toEqual([`new:${ownApply}`, `old:${before}`].sort());

    // A later event goes to both.
    const [later] = await writeEvents(stores.db, [outboxEvent('api_key.created', { keyId: 'k_after', consumer: 'c', prefix: 'tg_', last4: 'abcd' })]);
    expect(await dispatcher.fanOut()).toBe(1);
    const after = await seqOf(sql`id = ${later!}`);
    expect(await deliveries()).toEqual([`new:${after}`, `new:${ownApply}`, `old:${after}`, `old:${before}`].sort());
  });
});
