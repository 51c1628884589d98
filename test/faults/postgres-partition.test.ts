import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/tollgate-process.js';
import { adminRead, applyExtra, expectAlive, expectDatabaseUnavailable, gatewayVersion, rolledUp, serve, startRig, TIMEOUTS, type FaultRig } from './postgres-fixture.js';

// Postgres unreachable from the gateway and the admin for a while: first refusing connections
// for 10 s (down, restarting), then silently partitioned (sockets open, no byte gets through).
// Throughout, the gateway serves from its snapshot and meters in memory; the admin answers 503
// DATABASE_UNAVAILABLE within its deadlines, never hangs, never 500. A change committed meanwhile
// (by an admin that still reaches the database) reaches the gateway once the partition heals, by
// the version check of the re-established LISTEN session (the periodic poll is a minute here), and
// the rollups end up equal to what the gateway served.
describe('Postgres unreachable', () => {
  let rig: FaultRig;

  beforeAll(async () => {
    rig = await startRig();
    await serve(rig, 5);
  }, 60_000);
  afterAll(async () => {
    await rig?.stop();
  });

  /** While the database is away: the gateway serves, and every admin answer is the documented 503, in bounded time. */
  async function duringOutage(boundMs: number): Promise<number> {
    await serve(rig, 10);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await adminRead(rig.admin));
    for (const a of answers) {
      expectDatabaseUnavailable(a);
      expect(a.ms).toBeLessThan(boundMs);
    }
    // Committed by the admin that still reaches the database; the gateway cannot hear of it yet.
    return applyExtra(rig.direct, `during-${Date.now()}`);
  }

  async function afterHealing(missed: number): Promise<void> {
    // The LISTEN session reconnects (backoff up to 5 s) and reports the version it missed.
    await waitUntil(async () => (await gatewayVersion(rig.gateway)) >= missed, 15_000, 100);
    await waitUntil(async () => (await adminRead(rig.admin)).status === 200, 10_000, 100);
    // A later change, through the admin behind the proxy, is heard by LISTEN.
    const v = await applyExtra(rig.admin, `after-${Date.now()}`);
    await waitUntil(async () => (await gatewayVersion(rig.gateway)) >= v, 3_000);
    await serve(rig, 5);
    // The backlog of the outage is flushed: exactly what was served, never more.
    await waitUntil(async () => (await rolledUp(rig.db)) === rig.served, 15_000, 100);
    expectAlive(rig.gateway);
    expectAlive(rig.admin);
  }

  it('connections reset and refused for 10 s: served from the snapshot, 503 DATABASE_UNAVAILABLE, caught up after', async () => {
    const refused = (async () => {
      rig.proxy.cut();
      await rig.proxy.refuse(10_000);
    })();
    // A refused connection fails at once: answers come well within the connect deadline.
    const missed = await duringOutage(TIMEOUTS.connect + 1_500);
    await refused;
    await afterHealing(missed);
  }, 60_000);

  it('silent partition (connections open, bytes dropped): 503 within the query deadline, no hang, caught up after', async () => {
    await waitUntil(async () => (await rolledUp(rig.db)) === rig.served, 10_000);
    rig.proxy.freeze();
    let missed: number;
    try {
      // An open session gets no answer: the query deadline ends it; a new one gets no startup answer: the connect deadline.
      missed = await duringOutage(TIMEOUTS.query + TIMEOUTS.connect + 1_500);
      // The partition lasts long enough for the idle LISTEN session's probe to time out as well
      // (a condition of the test, not an assertion).
      await new Promise((r) => setTimeout(r, TIMEOUTS.query + 1_000));
      expectAlive(rig.gateway);
      expectAlive(rig.admin);
    } finally {
      rig.proxy.thaw();
    }
    await afterHealing(missed);
  }, 60_000);
});
