import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import type { PolicyDeps, PolicyReply } from '../types.js';
import { cors } from './index.js';
import { corsSchema } from './schema.js';

const deps: PolicyDeps = { logger: { warn: () => undefined, error: () => undefined } };

function preflight(config: unknown, origin: string): PolicyReply | undefined {
  const policy = cors.build(corsSchema.parse(config), deps);
  const c = new RequestContext('r1', '127.0.0.1', 'OPTIONS', '/x', { origin, 'access-control-request-method': 'GET' }, 'api', 'route', null);
  return policy.access?.(c) as PolicyReply | undefined;
}

function issues(config: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const r = corsSchema.safeParse(config);
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path, message: i.message }));
}

describe('cors schema: credentials with an open allowlist', () => {
  it('refuses "*" with allowCredentials, naming the entry', () => {
    expect(issues({ allowOrigins: ['https://a.example.com', '*'], allowCredentials: true })).toEqual([{ path: ['allowOrigins', 1], message: expect.stringContaining('allowCredentials') }]);
    expect(issues({ allowOrigins: ['*'] })).toEqual([]);
  });

  it('refuses a regex admitting any origin with allowCredentials', () => {
    for (const r of ['.*', 'https?://.*', 'https://[^/]+']) expect(issues({ allowOriginRegexes: [r], allowCredentials: true }), r).toEqual([{ path: ['allowOriginRegexes', 0], message: expect.stringContaining('any origin') }]);
    expect(issues({ allowOriginRegexes: ['https://pr-[0-9]+\\.preview\\.dev'], allowCredentials: true })).toEqual([]);
    expect(issues({ allowOriginRegexes: ['.*'] })).toEqual([]);
  });

  it('refuses wildcards over a whole top-level domain and hosts that are not DNS names', () => {
    expect(issues({ allowOrigins: ['https://*.com'] })).toHaveLength(1);
    expect(issues({ allowOrigins: ['https://*.'] })).not.toEqual([]);
    expect(issues({ allowOrigins: ['https://a,b.example.com'] })).toHaveLength(1);
    expect(issues({ allowOrigins: ['https://*.example.com', 'https://*.example.co.uk:8443', 'null'] })).toEqual([]);
  });
});

describe('cors: the null origin', () => {
  it('is never echoed by a wildcard or a regex, even one matching "null"', () => {
    const config = { allowOrigins: ['https://*.example.com'], allowOriginRegexes: ['n.*', '[a-z]+'], allowCredentials: true };
    expect(preflight(config, 'null')).toMatchObject({ status: 403 });
    expect(preflight(config, 'https://x.example.com')).toMatchObject({ status: 204, headers: { 'access-control-allow-origin': 'https://x.example.com' } });
  });

  it('is echoed when listed, and answered "*" (not echoed) by "*" without credentials', () => {
    expect(preflight({ allowOrigins: ['null'], allowCredentials: true }, 'null')).toMatchObject({ status: 204, headers: { 'access-control-allow-origin': 'null' } });
    expect(preflight({ allowOrigins: ['*'] }, 'null')).toMatchObject({ status: 204, headers: { 'access-control-allow-origin': '*' } });
  });

  it('wildcards match DNS hosts only, with the scheme and port of the pattern', () => {
    const config = { allowOrigins: ['https://*.example.com'], allowCredentials: true };
    expect(preflight(config, 'https://evil.com,x.example.com')).toMatchObject({ status: 403 });
    expect(preflight(config, 'https://example.com')).toMatchObject({ status: 403 });
    expect(preflight(config, 'http://x.example.com')).toMatchObject({ status: 403 });
    expect(preflight(config, 'https://x.example.com:8443')).toMatchObject({ status: 403 });
    expect(preflight(config, 'https://x.evilexample.com')).toMatchObject({ status: 403 });
  });
});

describe('cors: headers on the gateway’s own answers', () => {
  const policy = cors.build(corsSchema.parse({ allowOrigins: ['https://app.example.com'], exposeHeaders: ['X-Total', 'Retry-After'], allowCredentials: true }), deps);
  const answer = (method: string, req: Record<string, string>, h: Record<string, string>) => {
    const out: Record<string, string | string[] | undefined> = { ...h };
    policy.gatewayAnswer?.(method, req, out);
    return out;
  };

  it('adds Allow-Origin, credentials, Vary and exposes the configured and explaining fields present', () => {
    const h = answer('GET', { origin: 'https://app.example.com' }, { 'retry-after': '3', ratelimit: '"a";r=0;t=3', 'x-request-id': 'r1', 'content-type': 'application/problem+json' });
    expect(h).toMatchObject({ 'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-credentials': 'true', vary: 'Origin' });
    // Configured names first, then the gateway's, each once (Retry-After is configured already).
    expect(h['access-control-expose-headers']).toBe('X-Total, Retry-After, ratelimit, x-request-id');
  });

  it('gives a disallowed origin nothing but Vary: Origin', () => {
    const h = answer('GET', { origin: 'https://evil.test' }, { 'retry-after': '3' });
    expect(h).toEqual({ 'retry-after': '3', vary: 'Origin' });
  });

  it('leaves a preflight’s answer to the access phase (a refused preflight must not look allowed)', () => {
    const h = answer('OPTIONS', { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' }, { vary: 'Origin' });
    expect(h).toEqual({ vary: 'Origin' });
  });
});
