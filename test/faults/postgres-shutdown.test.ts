import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/tollgate-process.js';
import { adminRead, expectDatabaseUnavailable, rolledUp, serve, startRig, TIMEOUTS, type FaultRig } from './postgres-fixture.js';

/** The final usage flush retries for at most this long (docs/metering.md). */
const FINAL_FLUSH_MS = 5_000;

// SIGTERM while Postgres is silently partitioned (the sockets of the LISTEN session, the pool and
// a pending usage flush stay open, nothing answers). Shutdown must follow its documented order
// with every step bounded: readiness 503 at once, the listener closes after the config watch stop
// (1 s at most), the drain, the final flush capped at 5 s, the stores closed; exit 0 well before
// the partition would heal. Usage served during the partition can only be lost (what a SIGKILL
// can lose), never counted twice.
describe('SIGTERM during a Postgres partition', () => {
  let rig: FaultRig;

  beforeAll(async () => {
    rig = await startRig();
  }, 60_000);
  afterAll(async () => {
    await rig?.stop();
  });

  it('gateway and admin exit 0 within their bounded shutdown; the rollups never count more than was served', async () => {
    await serve(rig, 10);
    await waitUntil(async () => (await rolledUp(rig.db)) === rig.served, 10_000);
    const committed = rig.served;
    rig.proxy.freeze();
    // Served during the partition: counted in memory, the flush to Postgres hangs until its deadline.
    await serve(rig, 5);
    // An admin request waiting on the partitioned database when SIGTERM arrives.
    const adminAnswer = adminRead(rig.admin).then(
      (a) => a,
      () => null,
    );
    // At once, before any deadline noticed the partition: the LISTEN session and the pooled
    // sessions are open and unanswered, the worst case for shutdown.
    const t0 = Date.now();
    rig.gateway.child.kill('SIGTERM');
    rig.admin.child.kill('SIGTERM');
    // Readiness turns 503 at once (the status listener itself closes once the proxy has drained).
    await waitUntil(async () => fetch(`${rig.gateway.statusUrl}/readyz`).then((r) => r.status === 503, () => true), 2_000);
    // The proxy listener closes after the bounded config-watch stop, well before the final flush ends.
    await waitUntil(async () => fetch(`${rig.gateway.proxyUrl}/files/x`).then(() => false, () => true), 3_000);
    // drain (nothing in flight) + config watch stop (1 s) + final flush (5 s) + store close: bounded.
    const bound = 1_000 + TIMEOUTS.drain + FINAL_FLUSH_MS + 4_000;
    const [gatewayCode, adminCode] = await Promise.all([rig.gateway.exited, rig.admin.exited]);
    const elapsed = Date.now() - t0;
    expect(gatewayCode, rig.gateway.output()).toBe(0);
    expect(adminCode, rig.admin.output()).toBe(0);
    expect(elapsed).toBeLessThan(bound);
    // The admin request got the documented 503, or its connection was closed by the bounded drain.
    const a = await adminAnswer;
    if (a !== null) expectDatabaseUnavailable(a);
    // The final flush could not reach Postgres and says so.
    expect(rig.gateway.output()).toContain('usage not written to Postgres before shutdown');
    expect(rig.gateway.output()).not.toMatch(/Unhandled 'error' event/);
    // The partition heals after the processes are gone; whatever was in flight settles one way or the other.
    rig.proxy.thaw();
    await rig.proxy.close();
    const counted = await rolledUp(rig.db);
    expect(counted).toBeGreaterThanOrEqual(committed);
    expect(counted).toBeLessThanOrEqual(rig.served);
  }, 60_000);
});
