import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { proxyRequest, startSecurityProcess, waitForVersion, type SecurityProcess } from './admin-process.js';

function api(name: string, cors: string, upstreamUrl: string): string {
  return `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: ${name}-up }
spec: { targets: [{ url: "${upstreamUrl}" }] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: ${name} }
spec:
  hosts: [${name}.test]
  policies:
    - name: cors
      config: ${cors}
  routes: [{ name: all, destination: { upstream: ${name}-up } }]
`;
}

// Class 11: CORS with credentials never answers an arbitrary origin (nor the opaque `null`).
describe('cors: credentials with an open allowlist is refused at apply; null is echoed only when listed', () => {
  let p: SecurityProcess;
  let up: RecordingUpstream;
  beforeAll(async () => {
    up = await startRecordingUpstream('cors');
    p = await startSecurityProcess('all');
  }, 60_000);
  afterAll(async () => {
    await p?.close();
    await up?.close();
  });

  it('refuses "*", an any-origin regex and a TLD wildcard with 422 naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['{ allowOrigins: ["https://app.example.com", "*"], allowCredentials: true }', 'spec.policies[0].config.allowOrigins[1]'],
      ['{ allowOriginRegexes: ["https://.*"], allowCredentials: true }', 'spec.policies[0].config.allowOriginRegexes[0]'],
      ['{ allowOrigins: ["https://*.com"] }', 'spec.policies[0].config.allowOrigins[0]'],
    ];
    for (const [cors, path] of cases) {
      for (const dryRun of ['', '?dryRun=true']) {
        const res = await p.admin('POST', `/config${dryRun}`, api('bad', cors, up.url), 'application/yaml');
        expect(res.status, res.body).toBe(422);
        expect(res.type).toMatch(/^application\/problem\+json/);
        const problem = res.json();
        expect(problem.code).toBe('INVALID_CONFIG');
        expect(problem.errors?.map((e) => e.path), cors).toContain(path);
      }
    }
  });

  it('never echoes Origin: null through a wildcard or regex, and echoes it when listed', async () => {
    const yaml = api('web', '{ allowOrigins: ["https://*.example.com"], allowOriginRegexes: ["[a-z]+"], allowCredentials: true }', up.url) + '---\n' + api('sandbox', '{ allowOrigins: ["null"], allowCredentials: true }', up.url);
    const res = await p.admin('POST', '/config', yaml, 'application/yaml');
    expect(res.status, res.body).toBe(200);
    await waitForVersion(p, (JSON.parse(res.body) as { version: number }).version);

    const ask = (host: string, origin: string, method = 'GET') =>
      proxyRequest(p.tg.proxyUrl, method, '/x', { host, origin, ...(method === 'OPTIONS' ? { 'access-control-request-method': 'GET' } : {}) });
    for (const method of ['GET', 'OPTIONS']) {
      const refused = await ask('web.test', 'null', method);
      expect(refused.headers['access-control-allow-origin'], method).toBeUndefined();
      expect(refused.headers['access-control-allow-credentials'], method).toBeUndefined();
      const ok = await ask('web.test', 'https://app.example.com', method);
      expect(ok.headers['access-control-allow-origin'], method).toBe('https://app.example.com');
      const listed = await ask('sandbox.test', 'null', method);
      expect(listed.headers['access-control-allow-origin'], method).toBe('null');
    }
  });
});
