import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { WorkerAnswer, WorkerQuestion } from './messages.js';
import { buildPrimaryStatusApp } from './primary-status-app.js';
import type { WorkerInfo } from './supervisor.js';

interface FakeWorker {
  info: WorkerInfo;
  readyz: WorkerAnswer['body'] & object;
  readyzCode: number;
  registry: Registry;
}

function fakeWorker(id: number, configVersion: number, requests: number, ready = true): FakeWorker {
  const registry = new Registry();
  new Counter({ name: 'tollgate_http_requests_total', help: 'h', labelNames: ['api'], registers: [registry] }).inc({ api: 'a' }, requests);
  new Gauge({ name: 'tollgate_config_version', help: 'h', registers: [registry], aggregator: 'min' }).set(configVersion);
  return { info: { id, pid: 1000 + id, ready, startedAt: Date.now() }, readyz: { status: 'ready', version: configVersion }, readyzCode: 200, registry };
}

function supervisorOf(workers: FakeWorker[], stopping = false) {
  return {
    stopping,
    restarts: 3,
    workers: () => workers.map((w) => w.info),
    ask: async (what: WorkerQuestion) =>
      Promise.all(
        workers.map(async (w) => ({
          worker: w.info,
          answer: !w.info.ready
            ? null
            : what === 'metrics'
              ? { tollgate: 'answer' as const, id: 0, statusCode: 200, body: await w.registry.getMetricsAsJSON() }
              : what === 'readyz'
                ? { tollgate: 'answer' as const, id: 0, statusCode: w.readyzCode, body: w.readyz }
                : { tollgate: 'answer' as const, id: 0, statusCode: 200, body: { ready: true, nodeId: `n${w.info.id}`, config: { version: w.readyz.version } } },
        })),
      ),
  };
}

const info = { version: '0.1.0', nodeId: 'pod-1', startedAt: Date.now() };

describe('status port of a gateway run as several workers', () => {
  it('sums counters over workers, takes the minimum config version, and adds the restart count', async () => {
    const app = buildPrimaryStatusApp(supervisorOf([fakeWorker(1, 7, 5), fakeWorker(2, 6, 8)]), info, { metrics: true });
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).toContain('tollgate_http_requests_total{api="a"} 13');
    expect(text).toContain('tollgate_config_version 6');
    expect(text).toContain('tollgate_worker_restarts_total 3');
    expect(text).toContain('tollgate_workers{state="ready"} 2');
  });

  it('is ready while one worker serves, not while none does, and not once shutdown begins', async () => {
    const starting = fakeWorker(2, 0, 0, false);
    let app = buildPrimaryStatusApp(supervisorOf([fakeWorker(1, 4, 0), starting]), info, { metrics: false });
    let r = await app.inject({ url: '/readyz' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'ready', version: 4, workers: { ready: 1, total: 2 } });
    app = buildPrimaryStatusApp(supervisorOf([starting]), info, { metrics: false });
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
    app = buildPrimaryStatusApp(supervisorOf([fakeWorker(1, 4, 0)], true), info, { metrics: false });
    r = await app.inject({ url: '/readyz' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ status: 'shutting_down' });
  });

  it('counts a serving worker that is too busy to answer with its last answer', async () => {
    const busy = fakeWorker(1, 4, 0);
    const supervisor = supervisorOf([busy]);
    const app = buildPrimaryStatusApp(supervisor, info, { metrics: false });
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    const ask = supervisor.ask;
    supervisor.ask = async (what) => (await ask(what)).map((a) => ({ ...a, answer: null }));
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    // A worker that never answered is not ready.
    const fresh = buildPrimaryStatusApp(supervisor, info, { metrics: false });
    expect((await fresh.inject({ url: '/readyz' })).statusCode).toBe(503);
  });

  it("passes on a serving worker's reason to be unready (e.g. Redis down for a fail-closed plan)", async () => {
    const down = fakeWorker(2, 4, 0);
    down.readyzCode = 503;
    down.readyz = { status: 'not_ready', reason: 'redis unreachable', version: 4 };
    const app = buildPrimaryStatusApp(supervisorOf([fakeWorker(1, 4, 0), down]), info, { metrics: false });
    const r = await app.inject({ url: '/readyz' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ reason: 'redis unreachable' });
  });

  it('lists every worker in /status', async () => {
    const app = buildPrimaryStatusApp(supervisorOf([fakeWorker(1, 4, 0), fakeWorker(2, 0, 0, false)]), info, { metrics: false });
    const s = (await app.inject({ url: '/status' })).json() as { ready: boolean; workers: { count: number; restarts: number; list: Array<{ pid: number; ready: boolean }> } };
    expect(s.ready).toBe(true);
    expect(s.workers.count).toBe(2);
    expect(s.workers.list.map((w) => [w.pid, w.ready])).toEqual([
      [1001, true],
      [1002, false],
    ]);
  });
});
