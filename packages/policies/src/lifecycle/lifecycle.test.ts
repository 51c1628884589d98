import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import { runAccess, withAuthGate } from '../runner.js';
import { POLICY_REGISTRY } from '../registry.js';
import { lifecycle, lifecyclePreview } from './index.js';
import { lifecyclePolicySchema, lifecyclePreviewSchema } from './schema.js';

const logger = { warn() {}, error() {} };

function ctx(headers: Record<string, string> = {}, consumer: string | null = null) {
  const c = new RequestContext('r', '127.0.0.1', 'GET', '/orders/1', headers, 'a', 'r', null);
  if (consumer !== null) c.authenticate({ name: consumer, customId: null, groups: [] });
  return c;
}

const SUNSET = Date.parse('2026-07-01T00:00:00Z');

describe('lifecycle policy', () => {
  it('deprecated: Deprecation, Sunset (an IMF-fixdate) and Link are added, and Link keeps the upstream one', () => {
    const p = lifecycle.build(lifecyclePolicySchema.parse({ api: 'a', state: 'deprecated', deprecation: '@1767225600', sunsetMs: SUNSET, links: ['</v2/orders>; rel="successor-version"'] }), { logger });
    expect(p.access?.(ctx())).toBeUndefined();
    const headers: Record<string, string | string[] | undefined> = { link: '<https://x>; rel="help"' };
    p.response?.(ctx(), { status: 200, headers });
    expect(headers).toEqual({ deprecation: '@1767225600', sunset: 'Wed, 01 Jul 2026 00:00:00 GMT', link: ['<https://x>; rel="help"', '</v2/orders>; rel="successor-version"'] });
  });

  it('retired: 410 API_RETIRED naming the successor, with the Link', () => {
    const p = lifecycle.build(lifecyclePolicySchema.parse({ api: 'orders-v1 (v1)', state: 'retired', links: ['</v2/orders>; rel="successor-version"'], successor: 'Api/orders-v2 (v2) at /v2/orders' }), { logger });
    expect(p.access?.(ctx())).toEqual({ status: 410, headers: { link: '</v2/orders>; rel="successor-version"' }, body: { code: 'API_RETIRED', title: 'Gone', detail: 'the API orders-v1 (v1) is retired; its successor is Api/orders-v2 (v2) at /v2/orders' } });
  });

  it('autoRetire: served until the sunset instant, 410 from it on, with an injected clock', () => {
    let t = SUNSET - 1;
    const p = lifecycle.build(lifecyclePolicySchema.parse({ api: 'a', state: 'deprecated', deprecation: '@1', sunsetMs: SUNSET, autoRetire: true }), { logger, now: () => t });
    expect(p.access?.(ctx())).toBeUndefined();
    t = SUNSET;
    expect(p.access?.(ctx())).toMatchObject({ status: 410, body: { code: 'API_RETIRED' } });
    // Without autoRetire a past sunset changes nothing but the header.
    const q = lifecycle.build(lifecyclePolicySchema.parse({ api: 'a', state: 'deprecated', deprecation: '@1', sunsetMs: SUNSET }), { logger, now: () => SUNSET + 1e9 });
    expect(q.access?.(ctx())).toBeUndefined();
  });

  it('Vary is added once, and not to "Vary: *"', () => {
    const p = lifecycle.build(lifecyclePolicySchema.parse({ api: 'a', state: 'published', vary: 'accept-version' }), { logger });
    const h1: Record<string, string | string[] | undefined> = { vary: 'Origin' };
    p.response?.(ctx(), { status: 200, headers: h1 });
    expect(h1.vary).toBe('Origin, accept-version');
    p.response?.(ctx(), { status: 200, headers: h1 });
    expect(h1.vary).toBe('Origin, accept-version');
    const h2: Record<string, string | string[] | undefined> = { vary: '*' };
    p.response?.(ctx(), { status: 200, headers: h2 });
    expect(h2.vary).toBe('*');
    expect(h2.deprecation).toBeUndefined();
  });

  it('the default version refuses an Accept naming a version, as if no route matched', () => {
    const p = lifecycle.build(lifecyclePolicySchema.parse({ api: 'a', state: 'published', refuseNamedVersion: true }), { logger });
    expect(p.access?.(ctx({ accept: 'application/json' }))).toBeUndefined();
    expect(p.access?.(ctx())).toBeUndefined();
    expect(p.access?.(ctx({ accept: 'application/json; Version=7' }))).toEqual({ status: 404, body: { code: 'ROUTE_NOT_FOUND', title: 'No route matches the request', detail: 'no route for GET /orders/1' } });
  });
});

describe('lifecycle-preview policy', () => {
  const preview = lifecyclePreview.build(lifecyclePreviewSchema.parse({ consumers: ['alice'] }), { logger });

  it('admits only authenticated preview consumers; everyone else gets the 404 of an absent route', () => {
    expect(preview.access?.(ctx({}, 'alice'))).toBeUndefined();
    expect(preview.access?.(ctx({}, 'bob'))).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND' } });
    expect(preview.access?.(ctx())).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND' } });
  });

  it('comes before the auth gate, so a caller without a credential gets 404, not 401', () => {
    const steps = withAuthGate(['key-auth', 'lifecycle-preview'], [() => undefined, preview.access as never], (n) => POLICY_REGISTRY.get(n)?.authenticates === true);
    expect(runAccess(steps, ctx())).toMatchObject({ status: 404 });
    expect(runAccess(steps, ctx({}, 'alice'))).toBeUndefined();
  });
});
