import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { compileConfig } from './compile.js';

function resources(yaml: string): Resource[] {
  const r = parseResourcesYaml(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

const upstream = `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: backend }
spec:
  targets: [{ url: "http://127.0.0.1:9001" }]
`;
const JWT = `{ name: jwt-auth, config: { issuers: [{ issuer: "https://i.test", algorithms: [RS256], anyAudience: true, jwksUri: "https://i.test/jwks" }] } }`;
const JWT_OPTIONAL = `{ name: jwt-auth, config: { optional: true, issuers: [{ issuer: "https://i.test", algorithms: [RS256], anyAudience: true, jwksUri: "https://i.test/jwks" }] } }`;

function route(r: ReturnType<typeof compileConfig>, path: string) {
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const m = r.config.routes.lookup('x.test', path, 'GET');
  if (m.kind !== 'match') throw new Error('no match');
  return m.value;
}

function api(spec: string): Resource[] {
  return resources(`${upstream}---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: shop }\nspec:\n${spec.replace(/^/gm, '  ')}\n`);
}

describe('auth.mode', () => {
  it('default any leaves authMode out of the snapshot; all at API level applies to every route, a route may override', () => {
    const dflt = compileConfig(api(`policies: [{ name: key-auth }, ${JWT}]\nroutes: [{ name: a, destination: { upstream: backend } }]`), 1);
    expect(route(dflt, '/')).not.toHaveProperty('authMode');
    const r = compileConfig(
      api(`auth: { mode: all }
policies: [{ name: key-auth }, ${JWT}]
routes:
  - { name: a, match: [{ path: { prefix: /a } }], destination: { upstream: backend } }
  - { name: b, match: [{ path: { prefix: /b } }], destination: { upstream: backend }, auth: { mode: any } }`),
      1,
    );
    expect(route(r, '/a').authMode).toBe('all');
    expect(route(r, '/b')).not.toHaveProperty('authMode');
  });

  it('refuses all with an optional jwt-auth (contradictory) and all without any credential policy', () => {
    const optional = compileConfig(api(`policies: [{ name: key-auth }, ${JWT_OPTIONAL}]\nroutes: [{ name: a, destination: { upstream: backend }, auth: { mode: all } }]`), 1);
    expect(optional).toMatchObject({ ok: false, issues: [{ code: 'auth_mode_conflict', path: 'spec.routes[0].auth.mode', message: expect.stringContaining('optional: true') }] });
    const none = compileConfig(api(`auth: { mode: all }\npolicies: [{ name: key-auth, enabled: false }]\nroutes: [{ name: a, destination: { upstream: backend }, policies: [{ name: key-auth, enabled: false }] }]`), 1);
    expect(none).toMatchObject({ ok: false, issues: [{ code: 'auth_mode_conflict', path: 'spec.auth.mode' }] });
  });
});
