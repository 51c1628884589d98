import { BlockList } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import { writeEvents } from '@tollgate/db';
import { outboxEvent } from '@tollgate/model';
import { createPgliteStores, type SqlStores } from '@tollgate/stores';
import { hashToken } from '../auth.js';
import { buildAdmin } from '../build-admin.js';
import { compilerValidator } from '../validator.js';
import { WebhookDispatcher } from './dispatcher.js';
import { EventRetention } from './retention.js';

/** The retention in the admin process (embedded PGlite): what it deletes, and the deliveries listing over pruned ranges. */

const token = 'tgadm_event_retention_test_0001';
const quiet = { info() {}, warn() {}, error() {} };

describe('EventRetention (admin, PGlite)', () => {
  let stores: SqlStores;
  let app: FastifyInstance;
  const list = (query: string) => app.inject({ method: 'GET', url: `/webhooks/hook/deliveries${query}`, headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    stores = await createPgliteStores();
    await stores.tokens.insert({ id: 'atk_t', name: 't', role: 'admin', hash: hashToken(token) });
    app = await buildAdmin({ config: stores.config, tokens: stores.tokens, apiKeys: stores.apiKeys, audit: stores.audit, validate: compilerValidator, db: stores.db });
    const hook = { apiVersion: 'tollgate.dev/v1' as const, kind: 'Webhook' as const, metadata: { name: 'hook' }, spec: { url: 'http://127.0.0.1:9/h', secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, events: ['api_key.*'], disabled: false } };
    await stores.config.apply([hook], { validate: () => [] });
  });
  afterAll(async () => {
    await app?.close();
    await stores?.close();
  });

  it('deletes the old settled events; the deliveries listing pages over the pruned range', async () => {
    // Ten events, fanned out to `hook`; deliveries settled, then events 3..7 made 40 days old.
    await writeEvents(stores.db, Array.from({ length: 10 }, (_, i) => outboxEvent('api_key.created', { keyId: `k${i}`, consumer: 'c', prefix: 'tg_', last4: 'abcd' })));
    const dispatcher = new WebhookDispatcher({ db: stores.db, policy: { allowPrivate: true, allow: new BlockList(), ownPorts: new Set() }, log: quiet });
    // (and the config.applied event of the Webhook's apply, which `hook` does not take).
    expect(await dispatcher.fanOut()).toBe(11);
    await stores.db.execute(sql`UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now()`);
    const seqs = (await stores.db.execute(sql`SELECT seq FROM events WHERE type = 'api_key.created' ORDER BY seq`)).rows.map((r) => Number((r as { seq: number }).seq));
    const old = seqs.slice(2, 7);
    await stores.db.execute(sql`UPDATE events SET occurred_at = now() - interval '40 days' WHERE seq IN (${sql.join(old.map((s) => sql`${s}`), sql`, `)})`);
    // One old one still has a pending delivery: it stays.
    await stores.db.execute(sql`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now() + interval '1 hour' WHERE event_seq = ${old[2]!}`);

    const logged: object[] = [];
    const retention = new EventRetention({ db: stores.db, retentionMs: 30 * 86_400_000, batch: 2, log: { info: (o) => logged.push(o), warn: quiet.warn } });
    expect(await retention.run()).toMatchObject({ events: 4, batches: 2, locked: false });
    expect(logged).toEqual([{ events: 4, dedupeKeys: 0, batches: 2 }]);
    await retention.stop();

    const kept = seqs.filter((s) => !old.includes(s) || s === old[2]);
    // Pages of three, newest first, across the hole the retention left.
    const seen: number[] = [];
    let cursor = '';
    for (let page = 0; page < 5; page++) {
      const res = await list(`?limit=3${cursor}`);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { items: Array<{ event: { id: string } }>; next?: string };
      expect(body.items.length).toBeLessThanOrEqual(3);
      for (const item of body.items) {
        const seq = (await stores.db.execute(sql`SELECT seq FROM events WHERE id = ${item.event.id}`)).rows[0] as { seq: number };
        seen.push(Number(seq.seq));
      }
      if (body.next === undefined) break;
      cursor = `&before=${body.next}`;
    }
    expect(seen).toEqual([...kept].reverse());
    // A cursor pointing into the pruned range is still a valid cursor.
    const into = await list(`?before=${old[1]!}`);
    expect((into.json() as { items: unknown[] }).items).toHaveLength(2);
  });

  it('logs a failed round and keeps going', async () => {
    const warned: object[] = [];
    const broken = { transaction: () => Promise.reject(new Error('database gone')) } as unknown as SqlStores['db'];
    const retention = new EventRetention({ db: broken, retentionMs: 86_400_000, log: { info: quiet.info, warn: (o) => warned.push(o) } });
    expect(await retention.run()).toBeUndefined();
    expect(warned).toHaveLength(1);
    await retention.stop();
  });
});
