import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { compileConfig } from './compile.js';
import { isLoopbackHost, type SelfEndpoints } from './compile-self-targets.js';

const SELF: SelfEndpoints = { ports: new Map([[8000, 'proxy'], [8443, 'proxy-tls'], [8001, 'admin'], [8100, 'status']]), hosts: ['10.1.2.3', 'gw-node-1', 'fd00::5'] };

function upstream(url: string, extra = ''): Resource[] {
  const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: u }\nspec:\n  targets: [{ url: "http://192.0.2.1:9000" }, { url: "${url}" }]\n${extra}`);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

describe('self-target check', () => {
  it('refuses loopback, unspecified and own addresses on the gateway ports, naming the target', () => {
    const refused = ['http://127.0.0.1:8000', 'http://localhost:8001', 'http://api.localhost:8100', 'http://[::1]:8001', 'http://0.0.0.0:8000', 'http://[::]:8100', 'http://127.1:8001', 'http://2130706433:8001', 'http://[::ffff:127.0.0.1]:8001', 'http://127.9.9.9:8000', 'https://localhost:8443', 'http://10.1.2.3:8001', 'http://GW-NODE-1:8100', 'http://[fd00::5]:8000', 'http://localhost.:8001'];
    for (const url of refused) {
      const r = compileConfig(upstream(url), 1, { self: SELF });
      expect(r.ok, url).toBe(false);
      if (!r.ok) expect(r.issues, url).toEqual([expect.objectContaining({ code: 'self_target', resource: 'Upstream/u', path: 'spec.targets[1].url' })]);
    }
  });

  it('counts default ports', () => {
    const self: SelfEndpoints = { ports: new Map([[80, 'proxy'], [443, 'proxy-tls']]), hosts: [] };
    expect(compileConfig(upstream('http://localhost'), 1, { self }).ok).toBe(false);
    expect(compileConfig(upstream('https://localhost'), 1, { self }).ok).toBe(false);
  });

  it('accepts other ports, other hosts, the opt-in, and compiles as before without self endpoints', () => {
    for (const url of ['http://127.0.0.1:9001', 'http://10.1.2.4:8001', 'http://example.com:8000', 'http://[fd00::6]:8000']) expect(compileConfig(upstream(url), 1, { self: SELF }).ok, url).toBe(true);
    expect(compileConfig(upstream('http://127.0.0.1:8001', '  allowSelfTarget: true\n'), 1, { self: SELF }).ok).toBe(true);
    expect(compileConfig(upstream('http://127.0.0.1:8001'), 1).ok).toBe(true);
  });
});

describe('isLoopbackHost', () => {
  it('knows the loopback and unspecified names', () => {
    for (const h of ['localhost', 'LOCALHOST', 'x.localhost', '127.0.0.1', '127.255.0.1', '0.0.0.0', '::1', '[::1]', '::', '::ffff:7f00:1', '::ffff:0:0']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['example.com', '10.0.0.1', '128.0.0.1', '::2', 'localhost.example.com', '::ffff:a00:1']) expect(isLoopbackHost(h), h).toBe(false);
  });
});
