import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/cli-harness.js';
import { AUTH, apply, call, consumer, doc, startStack, transition, until, untilAnswer, upstreams, TOKEN, type LifecycleStack } from './harness.js';

const ALICE = 'tg_alice_key_0123456789abcdefghij';
const BOB = 'tg_bob_key_0123456789abcdefghijkl';

const v1 = (lifecycle: string) =>
  doc('Api', 'orders-v1', `product: orders\nversion: v1\nbasePath: /orders\nstripBasePath: true\nversioning: { scheme: path, default: true }\n${lifecycle}policies: [{ name: key-auth }]\nroutes: [{ name: all, destination: { upstream: one } }]`);
const v2 = doc('Api', 'orders-v2', 'product: orders\nversion: v2\nbasePath: /orders\nstripBasePath: true\nversioning: { scheme: path }\npolicies: [{ name: key-auth }]\nroutes: [{ name: all, destination: { upstream: two } }]');

const asAlice = { apikey: ALICE };
const asBob = { apikey: BOB };

// One API walked through every state on a real `tollgate start` (Postgres), checking the gateway's
// answers and the admin API's refusals at each step.
describe('API lifecycle', () => {
  let s: LifecycleStack;

  beforeAll(async () => {
    s = await startStack();
    const r = await apply(s, upstreams(s) + consumer('alice', ALICE) + consumer('bob', BOB) + v1('lifecycle: { state: draft, previewConsumers: [alice] }\n'));
    expect(r.status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await s?.close();
  });

  it('draft: hidden (the 404 of an absent route) except to its preview consumers', async () => {
    const ok = await until(s, '/v1/orders/1', 200, asAlice);
    expect(ok.json()).toMatchObject({ upstream: 'one', url: '/1' });
    // The default version's unprefixed path is the same draft.
    expect((await call(s, '/orders/1', asAlice)).status).toBe(200);
    const absent = await call(s, '/nothing/here');
    // Nobody, another consumer, and a key nobody holds (which key-auth would refuse with 401:
    // that would tell the draft exists) all get the gateway's own 404.
    for (const headers of [{}, asBob, { apikey: 'tg_not_a_key_of_anyone_0123456789' }]) {
      const hidden = await call(s, '/v1/orders/1', headers);
      expect(hidden.status).toBe(404);
      expect(hidden.headers.get('content-type')).toBe(absent.headers.get('content-type'));
      const { requestId: _a, detail: d1, ...rest } = hidden.json();
      const { requestId: _b, detail: _d2, ...restAbsent } = absent.json();
      expect(rest).toEqual(restAbsent);
      expect(d1).toBe('no route for GET /v1/orders/1');
    }
  });

  it('refuses illegal transitions and bad requests with problem+json', async () => {
    const r = await transition(s, 'orders-v1', { state: 'deprecated' });
    expect(r.status).toBe(409);
    expect(r.contentType).toContain('application/problem+json');
    expect(r.body).toMatchObject({ status: 409, code: 'INVALID_TRANSITION', type: 'https://tollgate.dev/errors/invalid-transition' });
    expect(r.body.detail).toBe('Api/orders-v1 cannot go from draft to deprecated; allowed from draft: published, retired');
    expect((await transition(s, 'nope', { state: 'published' })).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect((await transition(s, 'orders-v1', { state: 'gone' })).body).toMatchObject({ status: 400, code: 'INVALID_REQUEST', errors: [{ path: 'body.state' }] });
    // A transition that would not compile (dangling successor) is refused as a whole.
    expect((await transition(s, 'orders-v1', { state: 'published', successor: 'nowhere' })).body).toMatchObject({ status: 422, code: 'INVALID_CONFIG', errors: [{ path: 'spec.lifecycle.successor', code: 'dangling_reference' }] });
    // Still a draft.
    expect((await call(s, '/v1/orders/1', asBob)).status).toBe(404);
  });

  it('published: served to every consumer, without deprecation headers', async () => {
    const r = await transition(s, 'orders-v1', { state: 'published' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ api: 'orders-v1', from: 'draft', to: 'published' });
    const a = await until(s, '/v1/orders/1', 200, asBob);
    expect(a.headers.get('deprecation')).toBeNull();
    expect(a.headers.get('sunset')).toBeNull();
  });

  it('deprecated: Deprecation, Sunset and Link to the successor and the docs; a file without lifecycle keeps it', async () => {
    expect((await apply(s, v2)).status).toBe(200);
    expect((await until(s, '/v2/orders/1', 200, asBob)).json()).toMatchObject({ upstream: 'two', url: '/1' });
    const r = await transition(s, 'orders-v1', { state: 'deprecated', sunsetAt: '2030-01-01T00:00:00Z', successor: 'orders-v2', link: 'https://docs.example.com/orders/v1-sunset' });
    expect(r.status).toBe(200);
    const deprecatedAt = (r.body.lifecycle as { deprecatedAt: string }).deprecatedAt;
    expect(Math.abs(Date.parse(deprecatedAt) - Date.now())).toBeLessThan(60_000);
    for (const path of ['/v1/orders/1', '/orders/1']) {
      const a = await untilAnswer(s, path, (x) => x.headers.get('deprecation') !== null, asBob);
      expect(a.status).toBe(200);
      // RFC 9745: a structured-field date, "@" and epoch seconds.
      expect(a.headers.get('deprecation')).toBe(`@${Math.floor(Date.parse(deprecatedAt) / 1000)}`);
      // RFC 8594: an HTTP-date (IMF-fixdate).
      expect(a.headers.get('sunset')).toBe('Tue, 01 Jan 2030 00:00:00 GMT');
      expect(a.headers.get('link')).toBe('</v2/orders>; rel="successor-version", <https://docs.example.com/orders/v1-sunset>; rel="deprecation"; type="text/html"');
    }
    expect((await call(s, '/v2/orders/1', asBob)).headers.get('deprecation')).toBeNull();
    // Refusals by the API's policies say so too.
    const refused = await call(s, '/v1/orders/1');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('deprecation')).toBe(`@${Math.floor(Date.parse(deprecatedAt) / 1000)}`);
    expect(refused.headers.get('sunset')).toBe('Tue, 01 Jan 2030 00:00:00 GMT');
    expect(refused.headers.get('link')).toContain('rel="successor-version"');

    // The hand-written file never mentions the lifecycle: re-applying it changes nothing.
    const same = await apply(s, v1(''));
    expect(same.status).toBe(200);
    expect(same.body.changes).toEqual([{ kind: 'Api', name: 'orders-v1', action: 'unchanged' }]);
    // The source file that created it (declaring draft) re-applies as unchanged: it still says what
    // it said, so the endpoint's deprecation stands (docs/lifecycle.md, "Who owns the state").
    const source = await apply(s, v1('lifecycle: { state: draft }\n'));
    expect(source.status).toBe(200);
    expect(source.body.changes).toEqual([{ kind: 'Api', name: 'orders-v1', action: 'unchanged' }]);
    expect((await call(s, '/v1/orders/1', asBob)).headers.get('deprecation')).not.toBeNull();
  });

  it('retired: 410 Gone naming the successor, for everyone; nothing leaves retired', async () => {
    const r = await transition(s, 'orders-v1', { state: 'retired' });
    expect(r.body).toMatchObject({ from: 'deprecated', to: 'retired' });
    // No credential needed to learn that it is gone.
    const gone = await until(s, '/v1/orders/1', 410);
    expect(gone.headers.get('content-type')).toContain('application/problem+json');
    expect(gone.json()).toMatchObject({ status: 410, code: 'API_RETIRED', title: 'Gone', detail: 'the API orders-v1 (v1) is retired; its successor is Api/orders-v2 (v2) at /v2/orders' });
    expect(gone.headers.get('link')).toContain('</v2/orders>; rel="successor-version"');
    expect((await call(s, '/orders/1', asBob)).status).toBe(410);
    expect((await call(s, '/v2/orders/1', asBob)).status).toBe(200);

    for (const state of ['published', 'deprecated', 'draft']) {
      const refused = await transition(s, 'orders-v1', { state });
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toBe(`Api/orders-v1 cannot go from retired to ${state}; allowed from retired: none`);
    }
    // A file that declares another state requests that transition: refused like through the endpoint.
    const viaConfig = await apply(s, v1('lifecycle: { state: published }\n'));
    expect(viaConfig.status).toBe(422);
    expect(viaConfig.contentType).toContain('application/problem+json');
    expect(viaConfig.body).toMatchObject({ code: 'INVALID_CONFIG', errors: [{ code: 'invalid_transition', path: 'spec.lifecycle.state', resource: 'Api/orders-v1', document: 0, line: 11 }] });
  });

  it('timestamps every transition in the resource and in the audit log', async () => {
    const api = (await (await fetch(`${s.tg.adminUrl}/apis/orders-v1`, { headers: AUTH })).json()) as { spec: { lifecycle: { transitionedAt: string; history: Array<{ from: string; to: string; at: string }> } } };
    const { history, transitionedAt } = api.spec.lifecycle;
    expect(history.map((h) => `${h.from}->${h.to}`)).toEqual(['draft->published', 'published->deprecated', 'deprecated->retired']);
    expect(history.every((h, i) => i === 0 || Date.parse(h.at) >= Date.parse(history[i - 1]?.at ?? ''))).toBe(true);
    expect(transitionedAt).toBe(history.at(-1)?.at);

    const audit = (await (await fetch(`${s.tg.adminUrl}/audit-log?action=api.lifecycle&limit=100`, { headers: AUTH })).json()) as { items: Array<{ outcome: string; status?: number; resourceName?: string; before?: unknown; after?: unknown }> };
    const mine = audit.items.filter((e) => e.resourceName === 'orders-v1');
    expect(mine.filter((e) => e.outcome === 'success')).toHaveLength(3);
    const success = mine.find((e) => e.outcome === 'success' && JSON.stringify(e.after).includes('"retired"'));
    expect(JSON.stringify(success?.before)).toContain('"deprecated"');
    expect(mine.some((e) => e.outcome === 'rejected' && e.status === 409)).toBe(true);
  });

  it('tollgate api lifecycle: transitions from the CLI, refusals exit 1 with the reason', async () => {
    const env = { TOLLGATE_ADMIN_URL: s.tg.adminUrl, TOLLGATE_ADMIN_TOKEN: TOKEN };
    const ok = await runCli(['api', 'lifecycle', 'orders-v2', 'deprecated', '--sunset', '2031-06-01T00:00:00Z', '--link', 'https://docs.example.com/v2'], env);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^Api\/orders-v2: published -> deprecated \(deprecated at \S+, sunset 2031-06-01T00:00:00Z\), config version \d+\n$/);
    expect((await untilAnswer(s, '/v2/orders/1', (a) => a.headers.get('sunset') !== null, asBob)).headers.get('sunset')).toBe('Sun, 01 Jun 2031 00:00:00 GMT');
    const refused = await runCli(['api', 'lifecycle', 'orders-v1', 'published'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('INVALID_TRANSITION: Api/orders-v1 cannot go from retired to published');
    const badState = await runCli(['api', 'lifecycle', 'orders-v1', 'gone'], env);
    expect(badState.code).not.toBe(0);
    const shown = await runCli(['api', 'lifecycle', 'orders-v1'], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^Api\/orders-v1 \(v1\): retired\n  deprecated at \S+\n  sunset 2030-01-01T00:00:00Z\n  successor Api\/orders-v2\n  \S+  draft -> published\n  \S+  published -> deprecated\n  \S+  deprecated -> retired\n$/);
  });

  it('undeprecate: deprecated -> published drops the headers; deprecating again stamps a new date', async () => {
    const first = ((await (await fetch(`${s.tg.adminUrl}/apis/orders-v2`, { headers: AUTH })).json()) as { spec: { lifecycle: { deprecatedAt: string } } }).spec.lifecycle.deprecatedAt;
    expect((await transition(s, 'orders-v2', { state: 'published' })).body).toMatchObject({ from: 'deprecated', to: 'published' });
    const plain = await untilAnswer(s, '/v2/orders/1', (a) => a.headers.get('deprecation') === null, asBob);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('sunset')).toBeNull();
    await new Promise((r) => setTimeout(r, 1100));
    const again = await transition(s, 'orders-v2', { state: 'deprecated' });
    const second = (again.body.lifecycle as { deprecatedAt: string }).deprecatedAt;
    expect(Date.parse(second)).toBeGreaterThan(Date.parse(first));
    const a = await untilAnswer(s, '/v2/orders/1', (x) => x.headers.get('deprecation') !== null, asBob);
    expect(a.headers.get('deprecation')).toBe(`@${Math.floor(Date.parse(second) / 1000)}`);
  });

  it('autoRetire: past the sunset the API answers 410 without a config change', async () => {
    const sunsetAt = new Date(Date.now() + 6000).toISOString();
    expect((await transition(s, 'orders-v2', { state: 'deprecated', sunsetAt, autoRetire: true })).status).toBe(200);
    const version = async () => Number((await fetch(`${s.tg.adminUrl}/config`, { headers: AUTH })).headers.get('tollgate-config-version'));
    const before = await version();
    const served = await untilAnswer(s, '/v2/orders/1', (a) => a.headers.get('sunset') === new Date(sunsetAt).toUTCString(), asBob);
    expect(served.status).toBe(200);
    const gone = await until(s, '/v2/orders/1', 410, asBob, 15_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(sunsetAt));
    expect(gone.json()).toMatchObject({ code: 'API_RETIRED' });
    expect(await version()).toBe(before);
    // It counts as retired now: no way back, not even by moving the sunset.
    expect((await transition(s, 'orders-v2', { state: 'published' })).status).toBe(409);
    expect((await transition(s, 'orders-v2', { state: 'deprecated', sunsetAt: '2040-01-01T00:00:00Z' })).status).toBe(409);
    expect((await transition(s, 'orders-v2', { state: 'retired' })).body).toMatchObject({ from: 'retired', to: 'retired' });
  }, 30_000);
});
