import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED_SECRET } from '@tollgate/model';
import { startAdminHarness, type AdminHarness } from './harness.js';

const SECRET = 'hmac-secret-that-mints-tokens-0123456789';

const config = (secret: string, issuer = 'https://issuer.test') => `---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: svc }
spec:
  targets: [{ url: "http://127.0.0.1:9001" }]
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: svc }
spec:
  routes:
    - name: r
      destination: { upstream: svc }
      policies:
        - name: jwt-auth
          config:
            issuers:
              - issuer: ${issuer}
                algorithms: [HS256]
                audiences: [api]
                secrets: ["${secret}"]
`;

let h: AdminHarness;
beforeAll(async () => {
  h = await startAdminHarness('pglite');
});
afterAll(async () => {
  await h.close();
});

// Whoever reads a JWT HMAC secret can mint tokens (RFC 7518 §3.2), so a read-only admin token must
// never see one: the admin API redacts it, like TLS private keys.
describe('jwt-auth HMAC secrets', () => {
  it('are never returned, not even to a viewer', async () => {
    expect((await h.applyYaml(config(SECRET))).statusCode).toBe(200);
    for (const role of ['admin', 'viewer'] as const) {
      for (const url of ['/config', '/config?format=json', '/apis/svc', '/apis']) {
        const res = await h.app.inject({ method: 'GET', url, headers: h.auth(role) });
        expect(res.statusCode, `${role} ${url}`).toBe(200);
        expect(res.body, `${role} ${url}`).not.toContain(SECRET);
      }
    }
    expect(await h.exportYaml()).toContain(REDACTED_SECRET);
  });

  it('an export applied back is unchanged and keeps the secret', async () => {
    const res = await h.applyYaml(await h.exportYaml());
    expect(res.statusCode).toBe(200);
    expect((res.json() as { changes: Array<{ action: string }> }).changes.every((c) => c.action === 'unchanged')).toBe(true);
    const stored = await h.stores.config.get('Api', 'svc');
    expect(JSON.stringify(stored?.resource)).toContain(SECRET);
  });

  it('a marker with no stored secret behind it (another issuer) is refused, naming the field', async () => {
    const before = await h.exportYaml();
    const res = await h.applyYaml(config(REDACTED_SECRET, 'https://other.test'));
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ errors: [expect.objectContaining({ code: 'redacted_secret', document: 1, path: 'spec.routes[0].policies[0].config.issuers[0].secrets[0]' })] });
    expect(await h.exportYaml()).toBe(before);
  });
});
