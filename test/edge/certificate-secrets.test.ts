import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED_SECRET } from '@tollgate/model';
import { startAdminHarness, type AdminHarness } from '../admin/harness.js';
import { TestCa, yamlBlock, type TestCert } from './certs.js';

let h: AdminHarness;
let ca: TestCa;
let leaf: TestCert;

const certificate = (name: string, key: string) => `---
apiVersion: tollgate.dev/v1
kind: Certificate
metadata: { name: ${name} }
spec:
  hosts: [a.test]
  certificate: ${yamlBlock(leaf.cert, 4)}
  privateKey: ${key.startsWith('-----') ? yamlBlock(key, 4) : `"${key}"`}
`;

beforeAll(async () => {
  h = await startAdminHarness('pglite');
  ca = new TestCa();
  leaf = ca.issue('a.test', ['a.test']);
});
afterAll(async () => {
  await h.close();
  ca.dispose();
});

// A TLS private key is a secret the gateway needs in clear, so it cannot be hashed like API keys;
// instead it never leaves the server through the admin API.
describe('certificate private keys', () => {
  it('are never returned by exports or resource reads', async () => {
    expect((await h.applyYaml(certificate('site', leaf.key))).statusCode).toBe(200);
    const exported = await h.exportYaml();
    expect(exported).toContain(`privateKey: ${REDACTED_SECRET}`);
    expect(exported).not.toMatch(/PRIVATE KEY/);
    const one = await h.app.inject({ method: 'GET', url: '/certificates/site', headers: h.auth() });
    expect(one.statusCode).toBe(200);
    expect(one.body).not.toMatch(/PRIVATE KEY/);
    const json = await h.app.inject({ method: 'GET', url: '/config?format=json', headers: h.auth() });
    expect(json.body).not.toMatch(/PRIVATE KEY/);
  });

  it('keep the stored key when an export is applied back (unchanged), and it still matches', async () => {
    const res = await h.applyYaml(await h.exportYaml());
    expect(res.statusCode).toBe(200);
    expect((res.json() as { changes: Array<{ action: string }> }).changes.every((c) => c.action === 'unchanged')).toBe(true);
    const stored = await h.stores.config.get('Certificate', 'site');
    expect(stored?.resource.kind === 'Certificate' && stored.resource.spec.privateKey).toBe(leaf.key);
  });

  it('refuse the marker for a certificate that is not stored, naming the field', async () => {
    const res = await h.applyYaml(certificate('unknown', REDACTED_SECRET));
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ errors: [expect.objectContaining({ path: 'spec.privateKey' })] });
  });
});
