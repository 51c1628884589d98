import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/tollgate-process.js';
import { adminRead, applyExtra, expectAlive, expectDatabaseUnavailable, gatewayVersion, rolledUp, serve, startRig, type FaultRig } from './postgres-fixture.js';
import type { ProxyConnection } from './tcp-proxy.js';

// The server ends sessions under the processes' feet: pg_terminate_backend (what a restart or a
// failover does to every session) in the middle of transactions and of the LISTEN session, and a
// COMMIT that succeeds on the server but whose answer never reaches the gateway. No process may
// crash, the admin API answers 200 or the documented 503, configuration keeps propagating, and the
// rollups count exactly what the gateway served.
describe('Postgres sessions ended by the server', () => {
  let rig: FaultRig;
  let killer: pg.Client;

  beforeAll(async () => {
    rig = await startRig();
    killer = new pg.Client({ connectionString: rig.db.url });
    await killer.connect();
  }, 60_000);
  afterAll(async () => {
    await killer?.end();
    await rig?.stop();
  });

  /** Terminates Tollgate backends that are inside a transaction whose last statement matches `like`, until `times` were. */
  async function terminateMidTransaction(like: string, times: number): Promise<void> {
    let done = 0;
    await waitUntil(
      async () => {
        const { rows } = await killer.query<{ t: boolean }>(
          "SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tollgate' AND xact_start IS NOT NULL AND query ILIKE $1 AND pid <> pg_backend_pid()",
          [like],
        );
        done += rows.filter((r) => r.t).length;
        return done >= times;
      },
      30_000,
      0,
    );
  }

  it('backends terminated mid-transaction (usage flushes, config applies): no crash, 200 or 503 DATABASE_UNAVAILABLE, usage counted once', async () => {
    let stop = false;
    const statuses: Array<Awaited<ReturnType<typeof adminRead>>> = [];
    const applyStatuses: number[] = [];
    // Traffic (so the meter flushes a batch every 100 ms) and config writes (transactions on the admin) all along.
    const traffic = (async () => {
      while (!stop) await serve(rig, 5);
    })();
    const writes = (async () => {
      for (let i = 0; !stop; i++) {
        const res = await fetch(`${rig.admin.adminUrl}/config`, { method: 'POST', headers: { authorization: 'Bearer faults-admin-token-0123456789abcdef', 'content-type': 'application/yaml' }, body: `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: churn-${i} }\nspec: { targets: [{ url: http://127.0.0.1:9 }] }\n` });
        const body = (await res.json()) as { code?: string };
        applyStatuses.push(res.status);
        if (res.status !== 200) expect(body.code).toBe('DATABASE_UNAVAILABLE');
        statuses.push(await adminRead(rig.admin));
      }
    })();
    try {
      await terminateMidTransaction('%usage%', 2);
      await terminateMidTransaction('%resources%', 1);
      await terminateMidTransaction('%', 2);
    } finally {
      stop = true;
      await Promise.all([traffic, writes]);
    }
    expectAlive(rig.gateway);
    expectAlive(rig.admin);
    for (const s of statuses) if (s.status !== 200) expectDatabaseUnavailable(s);
    for (const s of applyStatuses) expect([200, 503]).toContain(s);
    // The service carries on: the admin answers, a change reaches the gateway by LISTEN.
    expect((await adminRead(rig.admin)).status).toBe(200);
    const v = await applyExtra(rig.admin, 'after-terminate');
    await waitUntil(async () => (await gatewayVersion(rig.gateway)) >= v, 5_000);
    await waitUntil(async () => (await rolledUp(rig.db)) === rig.served, 10_000);
  }, 60_000);

  it('the LISTEN session terminated: it reconnects, catches up on the version it missed, and hears later changes', async () => {
    for (let round = 0; round < 2; round++) {
      await waitUntil(async () => {
        const { rows } = await killer.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tollgate-config-listener'");
        return Number(rows[0]?.n) >= 1;
      }, 10_000);
      const { rows } = await killer.query<{ t: boolean }>("SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tollgate-config-listener'");
      expect(rows.length).toBeGreaterThanOrEqual(1);
      // Committed at once, through the admin that is not behind the proxy: likely while the listener is away.
      const missed = await applyExtra(rig.direct, `missed-${round}`);
      await waitUntil(async () => (await gatewayVersion(rig.gateway)) >= missed, 5_000);
      expectAlive(rig.gateway);
    }
    const later = await applyExtra(rig.direct, 'later');
    await waitUntil(async () => (await gatewayVersion(rig.gateway)) >= later, 3_000);
  }, 60_000);

  it('the answer to a usage batch COMMIT is lost: the same batch is retried and counted once', async () => {
    await waitUntil(async () => (await rolledUp(rig.db)) === rig.served, 10_000);
    const inBatch = new Set<number>();
    const dropped = rig.proxy.dropReplyTo((chunk: Buffer, conn: ProxyConnection) => {
      const text = chunk.toString('latin1');
      if (text.includes('usage_batches')) inBatch.add(conn.id);
      return inBatch.has(conn.id) && /\bcommit\b/i.test(text) && !text.includes('usage_batches');
    });
    let lost = false;
    void dropped.then(() => (lost = true));
    while (!lost) await serve(rig, 3);
    // The gateway retries the same (node, seq); the batch row is found, the rows are not added again.
    await waitUntil(async () => rig.gateway.output().includes('usage batch was already committed by an earlier attempt'), 10_000);
    expectAlive(rig.gateway);
    await serve(rig, 5);
    await waitUntil(async () => (await rolledUp(rig.db)) === rig.served, 10_000);
    // Nothing more arrives later.
    await new Promise((r) => setTimeout(r, 500));
    expect(await rolledUp(rig.db)).toBe(rig.served);
  }, 60_000);
});
