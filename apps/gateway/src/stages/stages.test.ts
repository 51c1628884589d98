import { RequestContext, type PolicyReply } from '@tollgate/policies';
import { describe, expect, it } from 'vitest';
import type { RuntimeRoute } from '../runtime.js';
import { judge, runAccessStage } from './access.js';
import { planRoute, type PlannedRoute } from './plan.js';
import { upstreamHead } from './prepare.js';

const actions = { redirect: null, direct: null, abort: null, delay: null, aggregate: null, protocol: null, responseHeaders: null };
const planned = (over: Partial<PlannedRoute> = {}, act: Partial<PlannedRoute['actions']> = {}): PlannedRoute => ({ access: null, response: null, publishedSpec: null, ...over, actions: { ...actions, ...act } });

describe('planRoute (stages composed once per route)', () => {
  it('a bare forwarding route runs only resolve, prepare, exchange, respond, account', () => {
    const p = planRoute(planned());
    expect(p.stages).toEqual(['resolve', 'prepare', 'exchange', 'respond', 'account']);
    expect(p).toMatchObject({ access: false, local: false, exchange: 'http', response: false });
  });

  it('policies, faults and response changes add their stages in order', () => {
    const p = planRoute(planned({ access: [() => undefined], response: [() => undefined] }, { abort: {}, delay: {} }));
    expect(p.stages).toEqual(['resolve', 'access', 'local', 'delay', 'prepare', 'exchange', 'response', 'respond', 'account']);
  });

  it('a route that always answers locally has no exchange; aggregate and protocol routes have theirs', () => {
    expect(planRoute(planned({}, { direct: {} })).exchange).toBe('none');
    expect(planRoute(planned({}, { direct: {} })).stages).not.toContain('exchange');
    expect(planRoute(planned({ publishedSpec: {} })).exchange).toBe('none');
    expect(planRoute(planned({}, { aggregate: {} })).exchange).toBe('aggregate');
    expect(planRoute(planned({}, { protocol: {} })).stages).toEqual(['resolve', 'exchange', 'respond', 'account']);
  });

  it('the answer streams through dispatch() unless body handling needs it (response policies change the head only)', () => {
    expect(planRoute(planned()).streams).toBe(true);
    expect(planRoute(planned({ access: [() => undefined] }, { responseHeaders: {} })).streams).toBe(true);
    expect(planRoute(planned({ response: [() => undefined] })).streams).toBe(true);
    expect(planRoute(planned({ bodies: {} })).streams).toBe(false);
    expect(planRoute(planned({}, { aggregate: {} })).streams).toBe(false);
  });
});

describe('access stage: lifecycle and draft rules', () => {
  const refusal: PolicyReply = { status: 401, headers: { 'www-authenticate': 'Key' }, body: { code: 'UNAUTHORIZED', title: 'Unauthorized' } };
  const route = (over: Partial<RuntimeRoute>): RuntimeRoute => ({ draftPreview: null, refusalHeaders: null, ...over }) as RuntimeRoute;
  const ctx = (consumer: string | null): RequestContext => {
    const c = new RequestContext('r1', '10.0.0.1', 'GET', '/x', {}, 'api', 'route', null, 'example.com');
    if (consumer !== null) c.consumer = { name: consumer } as RequestContext['consumer'];
    return c;
  };

  it('passes a continue through, and a stored answer as the upstream', () => {
    expect(judge(route({}), ctx(null), undefined)).toBeUndefined();
    expect(judge(route({ draftPreview: new Set(['p']) }), ctx(null), { status: 200, body: 'x', asUpstream: true })).toMatchObject({ kind: 'as-upstream' });
  });

  it('a deprecated API adds its lifecycle headers to refusals (the policy reply wins on a clash)', () => {
    const v = judge(route({ refusalHeaders: { deprecation: '@1', 'www-authenticate': 'ignored' } }), ctx(null), refusal);
    expect(v).toEqual({ kind: 'refuse', reply: { ...refusal, headers: { deprecation: '@1', 'www-authenticate': 'Key' } } });
  });

  it('a draft refuses anyone but its preview consumers as "no route"', () => {
    const draft = route({ draftPreview: new Set(['preview']) });
    expect(judge(draft, ctx(null), refusal)).toEqual({ kind: 'hidden' });
    expect(judge(draft, ctx('someone'), refusal)).toEqual({ kind: 'hidden' });
    expect(judge(draft, ctx('preview'), refusal)).toMatchObject({ kind: 'refuse' });
    // A 404 is already what "no route" looks like: passed through.
    expect(judge(draft, ctx(null), { ...refusal, status: 404 })).toMatchObject({ kind: 'refuse' });
  });

  it('runs synchronous steps without a promise, and async ones through one', async () => {
    const r = route({});
    expect(runAccessStage(r, [() => undefined], ctx(null))).toBeUndefined();
    const p = runAccessStage(r, [() => Promise.resolve(refusal)], ctx(null));
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toMatchObject({ kind: 'refuse' });
  });
});

describe('prepare stage: one upstream head for HTTP and WebSocket handshakes', () => {
  const route = {
    forwardOverrides: false,
    basePath: '/api',
    stripPrefix: '/api',
    actions: { rewritePath: null, requestHeaders: { remove: [], set: [['connection', 'keep-alive'] as const, ['x-route', 'r'] as const], add: [] } },
  } as unknown as RuntimeRoute;
  const found = { kind: 'match', value: route, prefix: '/api', captures: null, pathMatching: {} } as unknown as Parameters<typeof upstreamHead>[0]['found'];
  const base = {
    route,
    found,
    ctx: null,
    requestId: 'rid-1',
    path: '/api/orders',
    query: 'a=1',
    hostHeader: 'gw.example',
    peer: '10.0.0.9',
    secure: true,
    trustForwarding: false,
    headers: { connection: 'x-request-id, keep-alive', 'x-request-id': 'client', 'x-forwarded-for': '6.6.6.6', 'x-http-method-override': 'DELETE', 'x-consumer-id': 'forged', accept: 'a/b' },
  };

  it('strips, applies the route changes, then sets what the gateway owns; strips the prefix, keeps the query', () => {
    const h = upstreamHead(base);
    expect(h.path).toBe('/orders?a=1');
    expect(h.headers).toEqual({ accept: 'a/b', connection: 'keep-alive', 'x-route': 'r', 'x-forwarded-for': '10.0.0.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'gw.example', 'x-request-id': 'rid-1' });
  });

  it('adds the upgrade fields of a handshake after the route changes (a route cannot drop them)', () => {
    const h = upstreamHead(base, (out) => {
      out.connection = 'Upgrade';
      out.upgrade = 'websocket';
    });
    expect(h.headers.connection).toBe('Upgrade');
    expect(h.headers.upgrade).toBe('websocket');
    expect(h.headers['x-request-id']).toBe('rid-1');
  });
});
