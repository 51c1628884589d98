import { describe, expect, it } from 'vitest';
import { parseYamlDocuments, validateDocuments, type ApiResource } from '@tollgate/model';
import { validatePolicyConfig } from '@tollgate/policies';
import { exportAs } from './export.js';
import { importDocuments, type ImportOptions } from './import.js';

const ROUTES = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: httpbin }
spec:
  hosts: [httpbin]
  ports: [{ number: 8000, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: [httpbin.example.com] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin }
spec:
  hosts: [httpbin.example.com]
  gateways: [gw]
  http: [{ route: [{ destination: { host: httpbin, port: { number: 8000 } } }] }]
`;

function run(security: string, options: ImportOptions = {}) {
  const { documents, issues } = parseYamlDocuments(`${ROUTES}---\n${security}`);
  expect(issues).toEqual([]);
  const imported = importDocuments(documents, options);
  const api = imported.resources.find((r) => r.kind === 'Api') as ApiResource | undefined;
  const policies = (api?.spec.policies ?? []) as Array<{ name: string; config: Record<string, unknown> }>;
  const byName = (n: string) => policies.find((p) => p.name === n)?.config;
  if (imported.issues.length === 0) {
    expect(validateDocuments(imported.documents).ok).toBe(true);
    for (const p of policies) expect(validatePolicyConfig(p.name, p.config)).toMatchObject({ ok: true });
  }
  return { ...imported, policies, jwt: byName('jwt-auth') as Record<string, any> | undefined, authz: byName('authorization') as Record<string, any> | undefined };
}

const RA = (extra = '', meta = '') => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt${meta} }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  jwtRules:
  - issuer: https://issuer.test
    jwksUri: https://issuer.test/jwks.json
${extra}`;

describe('RequestAuthentication', () => {
  it('becomes an optional jwt-auth on the served routes, with Istio defaults for locations and audiences', () => {
    const r = run(RA());
    expect(r.issues).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.jwt).toMatchObject({
      optional: true,
      anonymous: true,
      requiredClaims: [],
      token: { headers: [{ name: 'authorization', prefix: 'Bearer ' }], queryParams: ['access_token'] },
      issuers: [{ issuer: 'https://issuer.test', anyAudience: true, jwksUri: 'https://issuer.test/jwks.json', forwardToken: false }],
    });
    expect(r.jwt?.issuers[0].algorithms).not.toContain('HS256');
    expect(r.authz).toBeUndefined();
  });

  it('maps audiences, inline jwks (a JSON string), fromHeaders, fromParams and the outputs', () => {
    const jwks = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k' }] });
    const r = run(`apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: { name: jwt, namespace: istio-system }
spec:
  jwtRules:
  - issuer: https://a.test
    audiences: [orders]
    jwks: '${jwks}'
    fromHeaders: [{ name: X-Jwt-Assertion, prefix: "Token " }]
    fromParams: [jwt]
    outputPayloadToHeader: x-jwt-payload
    forwardOriginalToken: true
    outputClaimToHeaders: [{ header: x-sub, claim: sub }]
    timeout: 2s
`);
    expect(r.issues).toEqual([]);
    expect(r.jwt).toMatchObject({
      token: { headers: [{ name: 'x-jwt-assertion', prefix: 'Token ' }], queryParams: ['jwt'] },
      issuers: [{ issuer: 'https://a.test', audiences: ['orders'], jwks: { keys: [{ kid: 'k' }] }, payloadHeader: 'x-jwt-payload', forwardToken: true, forwardClaims: [{ claim: 'sub', header: 'x-sub' }], jwksTimeoutMs: 2000 }],
    });
  });

  it('merges the jwtRules of several documents into one policy; refuses rules without keys or with a bad jwks', () => {
    const two = run(`${RA()}---\n${RA('  - issuer: https://b.test\n    jwksUri: https://b.test/jwks\n', '2')}`);
    expect(two.jwt?.issuers.map((i: { issuer: string }) => i.issuer)).toEqual(['https://issuer.test', 'https://b.test']);
    // The same issuer twice: the second is ignored with a warning.
    expect(two.warnings).toEqual([expect.objectContaining({ resource: 'RequestAuthentication/jwt2', path: 'spec.jwtRules[0].issuer' })]);
    const noKeys = run(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt }
spec: { jwtRules: [{ issuer: https://a.test }] }
`);
    expect(noKeys.issues).toEqual([expect.objectContaining({ code: 'unsupported_value', document: 3, path: 'spec.jwtRules[0].jwksUri' })]);
    const badJwks = run(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt }
spec: { jwtRules: [{ issuer: https://a.test, jwks: "{not json" }] }
`);
    expect(badJwks.issues).toEqual([expect.objectContaining({ code: 'invalid_jwks', path: 'spec.jwtRules[0].jwks' })]);
  });

  it('selects by labels, namespace and targetRef; others are ignored with a warning', () => {
    const other = run(RA().replace('istio: ingressgateway', 'app: httpbin'));
    expect(other.jwt).toBeUndefined();
    expect(other.warnings).toEqual([expect.objectContaining({ path: 'spec.selector' })]);
    const inDefault = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec: { jwtRules: [{ issuer: https://a.test, jwksUri: https://a.test/k }] }
`;
    const ns = run(inDefault);
    expect(ns.jwt).toBeUndefined();
    expect(ns.warnings).toEqual([expect.objectContaining({ path: 'metadata.namespace' })]);
    // The same document applies when Tollgate's gateway runs in `default`.
    expect(run(inDefault, { gatewayNamespace: 'default' }).jwt).toBeDefined();
    const ref = run(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: edge }]
  jwtRules: [{ issuer: https://a.test, jwksUri: https://a.test/k }]
`);
    expect(ref.jwt).toBeDefined();
    expect(ref.warnings).toEqual([]);
    // A Gateway of the set that another controller serves is not Tollgate.
    const foreign = run(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: edge }
spec: { gatewayClassName: nginx, listeners: [{ name: http, port: 80, protocol: HTTP }] }
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt }
spec:
  targetRef: { group: gateway.networking.k8s.io, kind: Gateway, name: edge }
  jwtRules: [{ issuer: https://a.test, jwksUri: https://a.test/k }]
`);
    expect(foreign.jwt).toBeUndefined();
    expect(foreign.warnings.map((w) => w.path)).toEqual(['spec.gatewayClassName', 'spec.targetRef']);
  });
});

const AP = (spec: string, name = 'authz') => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
${spec}
`;

describe('AuthorizationPolicy', () => {
  it('spec {} is allow-nothing; rules [{}] allow everything; DENY without rules denies nothing', () => {
    expect(run(AP('')).authz).toEqual({ deny: [], allow: [] });
    expect(run(AP('  rules: [{}]')).authz).toEqual({ deny: [], allow: [{ claims: [], headers: [] }] });
    const deny = run(AP('  action: DENY'));
    expect(deny.authz).toBeUndefined();
    expect(deny.issues).toEqual([]);
  });

  it('expands from × to, keeps every when condition, and maps principals, paths, methods, hosts, claims and headers', () => {
    const r = run(AP(`  action: ALLOW
  rules:
  - from:
    - source: { requestPrincipals: ["https://issuer.test/alice"] }
    - source: { notRequestPrincipals: ["*"], remoteIpBlocks: [10.0.0.0/8] }
    to:
    - operation: { methods: [GET], paths: ["/status/*"], hosts: [httpbin.example.com] }
    when:
    - key: request.auth.claims[groups]
      values: [admins]
    - key: request.auth.claims[realm][role]
      notValues: [guest]
    - key: request.auth.audiences
      values: [orders]
    - key: request.auth.presenter
      values: [web]
    - key: request.headers[X-Tenant]
      values: ["acme-*"]
`));
    expect(r.warnings).toEqual([]);
    const when = {
      claims: [{ claim: ['groups'], values: ['admins'] }, { claim: ['realm', 'role'], notValues: ['guest'] }, { claim: ['aud'], values: ['orders'] }, { claim: ['azp'], values: ['web'] }],
      headers: [{ name: 'x-tenant', values: ['acme-*'] }],
    };
    const op = { methods: ['GET'], paths: ['/status/*'], hosts: ['httpbin.example.com'] };
    expect(r.authz).toEqual({
      deny: [],
      allow: [
        { principals: ['https://issuer.test/alice'], ...op, ...when },
        { notPrincipals: ['*'], clientIps: ['10.0.0.0/8'], ...op, ...when },
      ],
    });
  });

  it('hosts drop their port (the gateway compares the normalized host), with a warning', () => {
    const r = run(AP('  action: DENY\n  rules: [{ to: [{ operation: { hosts: ["admin.example.com:8080", "admin.example.com:*", "[::1]:80", "*.internal"] } }] }]', 'deny'));
    expect(r.authz).toEqual({ deny: [{ hosts: ['admin.example.com', '[::1]', '*.internal'], claims: [], headers: [] }] });
    expect(r.warnings.map((w) => w.message)).toEqual([expect.stringContaining('without their port')]);
  });

  it('DENY and ALLOW policies of several documents share one policy', () => {
    const r = run(`${AP('  action: DENY\n  rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }]', 'deny')}---\n${AP('  rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }]', 'allow')}`);
    expect(r.authz).toEqual({ deny: [{ paths: ['/admin*'], claims: [], headers: [] }], allow: [{ principals: ['*'], claims: [], headers: [] }] });
    expect(r.policies.map((p) => p.name)).toEqual(['authorization']);
  });

  it('fails closed on what Tollgate cannot evaluate: an ALLOW rule never matches, a DENY rule loses the condition', () => {
    const allow = run(AP('  rules:\n  - to: [{ operation: { ports: ["8080"] } }]\n  - to: [{ operation: { methods: [GET] } }]'));
    expect(allow.authz?.allow).toEqual([{ methods: ['GET'], claims: [], headers: [] }]);
    expect(allow.warnings).toEqual([expect.objectContaining({ path: 'spec.rules[0].to[0].operation.ports', message: expect.stringContaining('ALLOW rule can never match') })]);
    const deny = run(AP('  action: DENY\n  rules:\n  - to: [{ operation: { paths: ["/x"] } }]\n    when: [{ key: destination.port, values: ["8080"] }]'));
    expect(deny.authz?.deny).toEqual([{ paths: ['/x'], claims: [], headers: [] }]);
    expect(deny.warnings).toEqual([expect.objectContaining({ path: 'spec.rules[0].when[0].key', message: expect.stringContaining('DENY rule matches more') })]);
  });

  it('peer identities are absent at the edge: principals never match, notPrincipals always hold', () => {
    const r = run(AP('  rules:\n  - from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }]\n  - from: [{ source: { notNamespaces: ["prod"] } }]'));
    expect(r.authz?.allow).toEqual([{ claims: [], headers: [] }]);
    expect(r.warnings.map((w) => w.path)).toEqual(['spec.rules[0].from[0].source.principals', 'spec.rules[1].from[0].source.notNamespaces']);
  });

  it('ANDs two conditions on the principal: exact lists intersect, * yields to the other', () => {
    const r = run(AP(`  rules:
  - from: [{ source: { requestPrincipals: ["*"] } }]
    when: [{ key: request.auth.principal, values: ["i/alice", "i/bob"] }]
  - from: [{ source: { requestPrincipals: ["i/alice"] } }]
    when: [{ key: request.auth.principal, values: ["i/bob"] }]
`));
    // The second rule can never match (no principal is both), so it is dropped.
    expect(r.authz?.allow).toEqual([{ principals: ['i/alice', 'i/bob'], claims: [], headers: [] }]);
  });

  it('AUDIT and CUSTOM are ignored with a warning; an unknown action and a bad CIDR are refused', () => {
    const audit = run(AP('  action: AUDIT\n  rules: [{}]'));
    expect(audit.authz).toBeUndefined();
    expect(audit.warnings).toEqual([expect.objectContaining({ path: 'spec.action' })]);
    expect(run(AP('  action: CUSTOM\n  provider: { name: ext }\n  rules: [{}]')).warnings).toEqual([expect.objectContaining({ path: 'spec.action' })]);
    expect(run(AP('  action: MAYBE')).issues).toEqual([expect.objectContaining({ code: 'invalid_value', path: 'spec.action' })]);
    expect(run(AP('  rules: [{ from: [{ source: { remoteIpBlocks: [10.0.0.0/40] } }] }]')).issues).toEqual([expect.objectContaining({ path: 'spec.rules[0].from[0].source.remoteIpBlocks[0]' })]);
  });
});

describe('export --format istio of the security policies', () => {
  const SECURITY = `${RA('    fromHeaders: [{ name: x-jwt, prefix: "Token " }]\n    outputPayloadToHeader: x-payload\n    outputClaimToHeaders: [{ header: x-sub, claim: sub }]\n    timeout: 3s\n')}---
${AP('  action: DENY\n  rules: [{ to: [{ operation: { paths: ["/admin*"], notMethods: [GET] } }], when: [{ key: "request.headers[X-Debug]", values: ["*"] }] }]', 'deny')}---
${AP('  rules:\n  - from: [{ source: { requestPrincipals: ["https://issuer.test/*"], notRemoteIpBlocks: [192.0.2.0/24] } }]\n    when: [{ key: "request.auth.claims[realm][role]", values: [admin], notValues: [guest] }]', 'allow')}`;

  it('round-trips RequestAuthentication and AuthorizationPolicy through the translated policies', () => {
    const first = run(SECURITY);
    expect(first.issues).toEqual([]);
    const valid = validateDocuments(first.documents);
    if (!valid.ok) throw new Error(JSON.stringify(valid.issues));
    const out = exportAs(valid.resources, 'istio');
    expect(out.warnings).toEqual([]);
    expect(out.documents.map((d) => `${String(d.kind)}/${String((d.metadata as { name: string }).name)}`)).toEqual(['Gateway/tollgate-gateway', 'ServiceEntry/svc-httpbin-8000', 'DestinationRule/svc-httpbin-8000', 'VirtualService/httpbin', 'RequestAuthentication/tollgate-jwt', 'AuthorizationPolicy/tollgate-deny', 'AuthorizationPolicy/tollgate-allow']);
    const back = importDocuments(out.documents.map((value, index) => ({ index, value })));
    expect(back.issues).toEqual([]);
    const api = back.resources.find((r) => r.kind === 'Api') as ApiResource;
    expect(api.spec.policies).toEqual(first.policies);
  });

  it('an allow-nothing policy exports as an ALLOW policy without rules; policies not carried by every Api stay a warning', () => {
    const first = run(AP(''));
    const valid = validateDocuments(first.documents);
    if (!valid.ok) throw new Error('invalid');
    const out = exportAs(valid.resources, 'istio');
    expect(out.documents.at(-1)).toEqual({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'tollgate-allow' }, spec: { selector: { matchLabels: { istio: 'ingressgateway' } }, action: 'ALLOW' } });
    const native = validateDocuments(parseYamlDocuments(`apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: native }
spec: { hosts: [native.example.com], routes: [{ name: r, directResponse: { status: 204 } }] }
`).documents);
    if (!native.ok) throw new Error('invalid');
    const mixed = exportAs([...valid.resources, ...native.resources], 'istio');
    expect(mixed.documents.some((d) => d.kind === 'AuthorizationPolicy')).toBe(false);
    expect(mixed.warnings).toContain('authorization: Istio applies security policies to the whole gateway; only a authorization policy that every API carries alike is exported');
  });
});
