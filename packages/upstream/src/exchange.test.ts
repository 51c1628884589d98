import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Exchange, ExchangeList, type UpstreamTarget } from './exchange.js';
import { forwardExchange } from './exchange-forward.js';
import { TargetState } from './target-state.js';
import { UpstreamRuntime } from './upstream-runtime.js';

function upstream(maxInflight: number, consecutiveErrors = 100, pool: Dispatcher = {} as Dispatcher, origin = 'http://a'): { rt: UpstreamRuntime<UpstreamTarget>; t: UpstreamTarget } {
  const t: UpstreamTarget = { origin, host: new URL(origin).host, pool, state: new TargetState('u', origin) };
  const outlier = { consecutiveErrors, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 100 };
  const rt = new UpstreamRuntime<UpstreamTarget>({ name: 'u', algorithm: 'round-robin', hashOn: null, subsets: {}, outlier, maxInflightPerTarget: maxInflight }, [{ value: t, weight: 1 }]);
  return { rt, t };
}
const pick = { headers: {}, clientIp: '10.0.0.1', query: null };

describe('Exchange', () => {
  it('ends once however many paths end it, and observes once', () => {
    const { rt, t } = upstream(1, 2);
    const x = Exchange.open(rt, null, pick, null) as Exchange;
    expect(x).toBeInstanceOf(Exchange);
    expect(Exchange.open(rt, null, pick, null)).toBe('UPSTREAM_OVERLOADED');
    x.end(true);
    x.end(true);
    x.end();
    expect(t.state.inflight).toBe(0);
    // One failure observed, not three (the outlier threshold is 2).
    expect(t.state.consecutiveErrors).toBe(1);
    expect(Exchange.open(rt, null, pick, null)).toBeInstanceOf(Exchange);
  });

  it('an end without a verdict leaves passive health alone', () => {
    const { rt, t } = upstream(1);
    t.state.consecutiveErrors = 1;
    (Exchange.open(rt, null, pick, null) as Exchange).end();
    expect(t.state.consecutiveErrors).toBe(1);
  });

  it('destroys an attached upstream body left unread when it ends', () => {
    const { rt } = upstream(1);
    const x = Exchange.open(rt, null, pick, null) as Exchange;
    const body = new PassThrough();
    x.attach(body, false);
    x.end();
    expect(body.destroyed).toBe(true);
  });

  it('ends when an attached body closes', async () => {
    const { rt, t } = upstream(1);
    const x = Exchange.open(rt, null, pick, null) as Exchange;
    const body = new PassThrough();
    x.attach(body);
    body.destroy();
    await new Promise((r) => setImmediate(r));
    expect(x.released).toBe(true);
    expect(t.state.inflight).toBe(0);
  });
});

describe('ExchangeList as the owner', () => {
  it('ends every exchange it still holds (one or many), once', () => {
    const { rt, t } = upstream(5);
    const owner = new ExchangeList();
    const a = Exchange.open(rt, null, pick, owner) as Exchange;
    Exchange.open(rt, null, pick, owner);
    Exchange.open(rt, null, pick, owner);
    a.end(false);
    // A retry's next try replaces an ended exchange.
    Exchange.open(rt, null, pick, owner);
    expect(t.state.inflight).toBe(3);
    owner.endAll();
    owner.endAll();
    expect(t.state.inflight).toBe(0);
  });
});

describe('forwardExchange', () => {
  let server: Server;
  let origin = '';
  const pools: Pool[] = [];
  const pool = (o: string): Pool => {
    const p = new Pool(o);
    pools.push(p);
    return p;
  };
  let hits: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url} ${req.headers.host}`);
      if (req.url === '/503') {
        res.statusCode = 503;
        return res.end('no');
      }
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
    await new Promise((r) => server.close(r));
  });

  const base = (rt: UpstreamRuntime<UpstreamTarget>, path: string, owner: ExchangeList | null) => ({
    destination: { upstream: 'u', target: rt, subset: null },
    pick,
    method: 'GET',
    path,
    headers: {},
    fixedHost: null,
    body: null,
    timeoutMs: undefined,
    retries: null,
    mirror: null,
    onTry: () => undefined,
    owner,
  });

  it('ends the exchange when the response body is consumed, and on the owner otherwise', async () => {
    const { rt, t } = upstream(5, 100, pool(origin), origin);
    const r = await forwardExchange(base(rt, '/ok', null));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(t.state.inflight).toBe(1);
    expect(await r.res.body.text()).toBe('ok');
    await new Promise((res) => setImmediate(res));
    expect(t.state.inflight).toBe(0);
    // Unread body: the owner's end releases it (and destroys the body).
    const owner = new ExchangeList();
    const r2 = await forwardExchange(base(rt, '/ok', owner));
    expect(t.state.inflight).toBe(1);
    owner.endAll();
    expect(t.state.inflight).toBe(0);
    if (r2.ok) expect(r2.res.body.destroyed).toBe(true);
  });

  it('retries a retriable status, ending each try, and sends one mirror copy', async () => {
    hits = [];
    const { rt, t } = upstream(5, 100, pool(origin), origin);
    const shadow = upstream(5, 100, pool(origin), origin);
    const retries = { attempts: 2, perTryTimeoutMs: undefined, onConnectFailure: true, onReset: true, statuses: new Set([503]), allowNonIdempotent: false };
    const r = await forwardExchange({ ...base(rt, '/503', null), retries, mirror: { destination: { upstream: 's', target: shadow.rt, subset: null }, host: 'client.example' } });
    expect(r.ok && r.res.statusCode).toBe(503);
    expect(r.tries).toBe(3);
    if (r.ok) await r.res.body.dump();
    await new Promise((res) => setTimeout(res, 50));
    expect(t.state.inflight).toBe(0);
    expect(shadow.t.state.inflight).toBe(0);
    expect(hits.filter((h) => h.endsWith('client.example-shadow'))).toHaveLength(1);
    expect(hits.filter((h) => !h.endsWith('-shadow'))).toHaveLength(3);
  });

  it('a refused connection ends the exchange with a failure verdict', async () => {
    const { rt, t } = upstream(5, 1, pool('http://127.0.0.1:1'), 'http://127.0.0.1:1');
    const r = await forwardExchange(base(rt, '/', null));
    expect(r.ok).toBe(false);
    expect(t.state.inflight).toBe(0);
    expect(t.state.ejectedUntil).toBeGreaterThan(0);
  });
});
