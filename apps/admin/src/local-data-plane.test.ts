import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import type { ConfigStore } from '@tollgate/stores';
import { awaitLocalDataPlane, type LocalDataPlane } from './local-data-plane.js';

/** A store at version 7 and feed position 40 (only the two reads the hook makes). */
function storeAt(version: number, seq: number, pending: number): ConfigStore {
  return {
    version: async () => version,
    changesSince: async () => ({ seq, keys: [], resources: Array.from({ length: pending }, (_, i) => ({ kind: 'Consumer', name: `c${i}`, resource: null })) }),
  } as unknown as ConfigStore;
}

/** A data plane that reaches `version` / `seq` after `lagMs`. */
function lagging(version: number, seq: number, lagMs: number): LocalDataPlane & { readonly startedAt: number } {
  const startedAt = Date.now();
  const caughtUp = () => Date.now() - startedAt >= lagMs;
  return { startedAt, currentVersion: () => (caughtUp() ? version : version - 1), currentChangeSeq: () => (caughtUp() ? seq : seq - 1) };
}

async function appWith(store: ConfigStore, plane: LocalDataPlane, waitMs = 5_000) {
  const app = Fastify();
  awaitLocalDataPlane(app, store, plane, app.log, waitMs);
  app.post('/config', async () => ({ ok: true }));
  app.get('/config', async () => ({ ok: true }));
  app.post('/bad', async (_req, reply) => reply.code(422).send({ bad: true }));
  await app.ready();
  return app;
}

describe('awaitLocalDataPlane (read-your-writes in one process)', () => {
  it('answers a change only once the data plane serves its version', async () => {
    const plane = lagging(7, 40, 150);
    const app = await appWith(storeAt(7, 40, 0), plane);
    const res = await app.inject({ method: 'POST', url: '/config' });
    expect(res.statusCode).toBe(200);
    expect(plane.currentVersion()).toBe(7);
    expect(Date.now() - plane.startedAt).toBeGreaterThanOrEqual(150);
  });

  it('waits for the change-feed position when consumers or keys changed', async () => {
    const plane = lagging(7, 40, 120);
    plane.currentVersion = () => 7; // the version is already served; only the feed lags
    const app = await appWith(storeAt(7, 40, 1), plane);
    await app.inject({ method: 'POST', url: '/config' });
    expect(plane.currentChangeSeq()).toBe(40);
  });

  it('does not hold reads, refusals, or a change past its deadline', async () => {
    const never = { currentVersion: () => 1, currentChangeSeq: () => 1 };
    const app = await appWith(storeAt(7, 40, 0), never, 100);
    const began = Date.now();
    expect((await app.inject({ method: 'GET', url: '/config' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/bad' })).statusCode).toBe(422);
    expect(Date.now() - began).toBeLessThan(100);
    const res = await app.inject({ method: 'POST', url: '/config' });
    expect(res.statusCode).toBe(200); // committed: answered anyway after the deadline
  });

  it('releases the body of a committed change while it waits, and keeps it when the audit hook still needs it', async () => {
    const app = Fastify();
    // Behind for both requests (answered after the 30 ms deadline).
    awaitLocalDataPlane(app, storeAt(7, 40, 0), { currentVersion: () => 6, currentChangeSeq: () => 40 }, app.log, 30);
    // Registered after it, as the audit hook is: what a later hook sees of the body.
    const seen: unknown[] = [];
    app.addHook('onSend', async (request, _reply, payload) => {
      seen.push(request.body);
      return payload;
    });
    app.post('/config', async (request) => {
      request.auditRecorded = true; // the store wrote the audit entry in the change's transaction
      return { ok: true };
    });
    app.post('/other', async () => ({ ok: true }));
    await app.ready();
    const body = [{ kind: 'Api', metadata: { name: 'a' } }];
    expect((await app.inject({ method: 'POST', url: '/config', payload: body })).statusCode).toBe(200);
    expect(seen[0]).toBeUndefined();
    expect((await app.inject({ method: 'POST', url: '/other', payload: body })).statusCode).toBe(200);
    expect(seen[1]).toEqual(body);
  });
});
