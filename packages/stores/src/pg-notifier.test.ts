import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/databases.js';
import { upstream } from './config-store.contract.js';
import { startTcpProxy } from '../../../test/faults/tcp-proxy.js';
import { LISTENER_APPLICATION_NAME, PgChangeNotifier } from './pg-notifier.js';
import { createPostgresStores, type SqlStores } from './sql-stores.js';

describe('Postgres LISTEN connection', () => {
  let database: TestDatabase;
  let watcher: SqlStores;
  let writer: SqlStores;
  beforeAll(async () => {
    database = await createTestDatabase();
    watcher = await createPostgresStores({ url: database.url, listenBackoff: { minMs: 300, maxMs: 600 } });
    writer = await createPostgresStores({ url: database.url });
  });
  afterAll(async () => {
    await Promise.all([watcher?.close(), writer?.close()]);
    await database?.drop();
  });

  async function terminateListener(): Promise<number> {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [
        LISTENER_APPLICATION_NAME,
      ]);
      return rowCount ?? 0;
    } finally {
      await admin.end();
    }
  }

  it('reconnects after the connection drops, reports the version it may have missed, and keeps receiving', async () => {
    const versions: number[] = [];
    const stop = await watcher.config.watch((v) => versions.push(v));
    try {
      await checkReconnect(versions);
    } finally {
      await stop();
    }
  });

  async function checkReconnect(versions: number[]): Promise<void> {
    expect(await terminateListener()).toBe(1);
    // Committed while the listener is gone (it waits 300 ms before reconnecting): the NOTIFY is
    // lost, so only the catch-up report after reconnecting can deliver this version.
    const missed = await writer.config.apply([upstream('during-outage')], { validate: () => [] });
    await expect.poll(() => versions, { timeout: 5_000 }).toContain(missed.version);
    const after = await writer.config.apply([upstream('after-reconnect')], { validate: () => [] });
    await expect.poll(() => versions, { timeout: 5_000 }).toContain(after.version);
  }

  it('after a drop, reports the change-feed position it may have missed, so a key revoked meanwhile is caught up', async () => {
    await writer.config.apply([{ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: 'feed', labels: {}, annotations: {} }, spec: { groups: [], jwtSubjects: [], keys: [], metadata: {} } } as never], { validate: () => [] });
    const seqs: number[] = [];
    const stop = await watcher.config.watchChanges((s) => seqs.push(s));
    try {
      expect(await terminateListener()).toBe(1);
      // Committed while the listener is away: its NOTIFY is lost; the reconnect reports the position.
      const missed = await writer.apiKeys.create({ id: 'key_missed', consumer: 'feed', hash: 'e'.repeat(64), prefix: 'tg_', last4: 'eeee' });
      await expect.poll(() => seqs, { timeout: 5_000 }).toContain(missed.seq);
      const after = await writer.apiKeys.revoke('feed', 'key_missed');
      await expect.poll(() => seqs, { timeout: 5_000 }).toContain(after.seq);
    } finally {
      await stop();
    }
  });

  it('holds no listening connection when nobody watches', async () => {
    const stop = await watcher.config.watch(() => {});
    await stop();
    expect(await terminateListener()).toBe(0);
  });

  it('a LISTEN session that silently stops answering is probed, replaced, and catches up once the network heals', async () => {
    const target = new URL(database.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const notifier = new PgChangeNotifier(viaProxy.toString(), { minMs: 100, maxMs: 200 }, { timeouts: { connectMs: 500, statementMs: 0, queryMs: 400, keepAliveMs: 1_000 }, pingMs: 200 });
    const versions: number[] = [];
    const stop = await notifier.listen((v) => versions.push(v));
    try {
      const before = proxy.accepted;
      proxy.freeze();
      const missed = await writer.config.apply([upstream('while-silent')], { validate: () => [] });
      // The probe gets no answer within the query deadline: the session is dropped and a new one attempted.
      await expect.poll(() => proxy.accepted, { timeout: 5_000 }).toBeGreaterThan(before);
      proxy.thaw();
      await expect.poll(() => versions, { timeout: 5_000 }).toContain(missed.version);
    } finally {
      await stop();
      await notifier.close();
      await proxy.close();
    }
  });
});
