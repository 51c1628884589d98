import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, get, startSecurityGateway, upstream, type SecurityGateway } from './support.js';

// Issue #14, class 9: host rules compare the host the router matched (normalized once per
// request: lower case, no port, no trailing dot, an absolute-form target's authority rather than
// Host), never the raw Host header, so no spelling the router still routes slips past a deny rule
// (the class of Istio CVE-2021-39155). Over the built `tollgate start` process.

let g: SecurityGateway;

const authz = `policies:
  - name: authorization
    config:
      deny: [{ hosts: [admin.example.com, "*.internal.example.com"] }]
      allow: [{ notHosts: [blocked.example.com.] }]`;

beforeAll(async () => {
  g = await startSecurityGateway(
    ['app'],
    (u) => upstream('app', u.app as string) + api('site', `hosts: ["*.example.com"]\n${authz}\nroutes: [{ name: all, destination: { upstream: app } }]`),
    { host: 'www.example.com', path: '/' },
  );
}, 150_000);

afterAll(async () => {
  await g?.stop();
});

describe('a deny rule on hosts holds for every spelling the router matches', () => {
  it.each([
    ['admin.example.com'],
    ['ADMIN.example.com'],
    ['Admin.Example.Com'],
    ['admin.example.com.'],
    ['admin.example.com:80'],
    ['admin.example.com:443'],
    ['admin.example.com:8080'],
    ['admin.example.com:'],
    ['ADMIN.EXAMPLE.COM.:443'],
    ['db.internal.example.com'],
    ['DB.Internal.example.com.:80'],
  ])('Host: %s', async (host) => {
    const before = g.received();
    const r = await g.raw(get('/secret', [`Host: ${host}`]));
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({ code: 'AUTHZ_DENIED' });
    expect(g.received()).toBe(before);
  });

  it.each(['http://admin.example.com/secret', 'http://ADMIN.example.com.:80/secret', 'https://db.internal.example.com/secret'])(
    'absolute-form %s with Host: www.example.com is judged by its authority',
    async (target) => {
      const before = g.received();
      const r = await g.raw(get(target, ['Host: www.example.com']));
      expect(r.status).toBe(403);
      expect(r.json()).toMatchObject({ code: 'AUTHZ_DENIED' });
      expect(g.received()).toBe(before);
    },
  );

  it.each(['blocked.example.com', 'BLOCKED.example.com:80', 'blocked.example.com.'])('an allow rule with notHosts refuses Host: %s', async (host) => {
    const r = await g.raw(get('/x', [`Host: ${host}`]));
    expect(r.status).toBe(403);
  });
});

describe('other hosts pass', () => {
  it.each(['www.example.com', 'WWW.example.com.:8080', 'admin.example.com.evil.example.com'])('Host: %s', async (host) => {
    const r = await g.raw(get('/x', [`Host: ${host}`]));
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ upstream: 'app', url: '/x' });
  });

  it('an absolute-form target to an allowed host passes even with a denied Host header', async () => {
    const r = await g.raw(get('http://www.example.com/x', ['Host: admin.example.com']));
    expect(r.status).toBe(200);
    expect(g.upstreams.app?.requests.at(-1)?.headers.host).toBe('www.example.com');
  });
});
