import { randomUUID } from 'node:crypto';
import { BlockList } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { webhookDeliveries, writeEvents } from '@tollgate/db';
import { outboxEvent, type Resource } from '@tollgate/model';
import { createPostgresStores, type SqlStores } from '@tollgate/stores';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { WebhookDispatcher } from './dispatcher.js';

/**
 * The fan-out against transactions in flight on a real Postgres (PGlite has one connection, so
 * its transactions never interleave): "a webhook receives the events raised at or after its
 * creation" (docs/events.md) must hold whatever order the webhook's and the event's transactions
 * commit in. Each interleaving is driven step by step through a second session, no timing.
 */

const quiet = { info() {}, warn() {}, error() {} };
const policy = { allowPrivate: true, allow: new BlockList(), ownPorts: new Set<number>() };

function hook(name: string): Resource {
  return { apiVersion: 'tollgate.dev/v1', kind: 'Webhook', metadata: { name }, spec: { url: `http://127.0.0.1:9/${name}`, secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, events: ['api_key.*'], disabled: false } } as Resource;
}

const keyCreated = (keyId: string) => outboxEvent('api_key.created', { keyId, consumer: 'c', prefix: 'tg_', last4: 'abcd' });

let database: TestDatabase;
let stores: SqlStores;
/** A second session that holds transactions open. */
let other: pg.Client;
/** A third one that watches what the others wait for (pg_stat_activity is fixed per transaction). */
let probe: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  stores = await createPostgresStores({ url: database.url, poolMax: 4 });
  other = new pg.Client({ connectionString: database.url });
  probe = new pg.Client({ connectionString: database.url });
  await Promise.all([other.connect(), probe.connect()]);
});

afterAll(async () => {
  await Promise.all([other?.end(), probe?.end()]);
  await stores?.close();
  await database?.drop();
});

/** Resolves once a session of this database waits for a lock of the given kind (`transactionid`, `advisory`), or `done` settles. */
async function waitingOn(kind: string, done?: Promise<unknown>): Promise<void> {
  let settled = false;
  void done?.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 1_000 && !settled; i++) {
    const r = await probe.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = $1`, [kind]);
    if (r.rowCount !== 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (!settled) throw new Error(`no session waited on a ${kind} lock`);
}

/** Rows of a raw query through the store. */
const rows = async <T>(query: ReturnType<typeof sql>) => ((await stores.db.execute(query)) as unknown as { rows: T[] }).rows;
const deliveries = async () => (await stores.db.select({ webhook: webhookDeliveries.webhook, eventSeq: webhookDeliveries.eventSeq }).from(webhookDeliveries)).map((d) => `${d.webhook}:${d.eventSeq}`).sort();
const seqOf = async (id: string) => Number((await rows<{ seq: number | string }>(sql`SELECT seq FROM events WHERE id = ${id}`))[0]!.seq);

/** Whether the rule gives event `seq` to webhook `name` (created at or before it occurred), as the database compares the times. */
const ruleGives = async (name: string, seq: number) =>
  (await rows<{ gives: boolean }>(sql`SELECT r.created_at <= e.occurred_at AS gives FROM resources r, events e WHERE r.kind = 'Webhook' AND r.name = ${name} AND e.seq = ${seq}`))[0]!.gives;

describe('webhook fan-out with transactions in flight (Postgres)', () => {
  it('delivers an event raised while the creating transaction was open, although a fan-out ran before it committed', async () => {
    // Hold the webhook's transaction open in its validation (the webhook is stamped before it).
    let entered!: () => void;
    let release!: () => void;
    const inValidation = new Promise<void>((resolve) => (entered = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const applying = stores.config.apply([hook('late')], {
      validate: async () => {
        entered();
        await gate;
        return [];
      },
    });
    await inValidation;

    // Raised and committed after the webhook's transaction began, before it commits.
    const [raised] = await writeEvents(stores.db, [keyCreated('k_during')]);
    const fanning = new WebhookDispatcher({ db: stores.db, policy, log: quiet }).fanOut();
    // The fan-out waits for the webhook's commit (it would otherwise finish without the webhook).
    await waitingOn('advisory', fanning);

    release();
    await applying;
    expect(await fanning).toBe(1); // the event (the webhook's own config.applied was not committed when it was claimed)
    const seq = await seqOf(raised!);
    expect(await ruleGives('late', seq)).toBe(true);
    expect(await deliveries()).toContain(`late:${seq}`);
  });

  it('keeps the rule when a fan-out ran while the creating transaction waited for the config lock', async () => {
    // The webhook's transaction begins (its now() is fixed) and waits for the config lock another
    // session holds; an event is raised and fanned out meanwhile, without the webhook.
    await other.query('BEGIN');
    await other.query('SELECT version FROM config_state WHERE id = 1 FOR UPDATE');
    const applying = stores.config.apply([hook('waited')], { validate: () => [] });
    await waitingOn('transactionid', applying);
    const [raised] = await writeEvents(stores.db, [keyCreated('k_waited')]);
    await new WebhookDispatcher({ db: stores.db, policy, log: quiet }).fanOut();
    await other.query('COMMIT');
    await applying;

    // The event was fanned out before the webhook existed, so the webhook's time must be after it.
    const seq = await seqOf(raised!);
    expect(await deliveries()).not.toContain(`waited:${seq}`);
    expect(await ruleGives('waited', seq)).toBe(false);
  });

  it('does not deliver an event whose transaction began before the webhook was created and committed after', async () => {
    // The event's time is its transaction's start: before the webhook, so it is not the webhook's,
    // though it commits (and is fanned out) after the webhook exists.
    const id = `evt_${randomUUID()}`;
    await other.query('BEGIN');
    await other.query(`INSERT INTO events (id, type, data) VALUES ($1, 'api_key.created', $2)`, [id, JSON.stringify({ keyId: 'k_mirror', consumer: 'c', prefix: 'tg_', last4: 'abcd' })]);
    // The creation does not wait for the event's transaction.
    await stores.config.apply([hook('later')], { validate: () => [] });
    await other.query('COMMIT');

    await new WebhookDispatcher({ db: stores.db, policy, log: quiet }).fanOut();
    const seq = await seqOf(id);
    const got = await deliveries();
    expect(got).toContain(`late:${seq}`);
    expect(got).not.toContain(`later:${seq}`);
    expect(await ruleGives('later', seq)).toBe(false);
  });
});
