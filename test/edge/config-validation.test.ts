import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { certificateSpecSchema } from '@tollgate/model';
import { startAdminHarness, type AdminHarness } from '../admin/harness.js';
import { TestCa, yamlBlock, type TestCert } from './certs.js';

let h: AdminHarness;
let ca: TestCa;
let good: TestCert;
let other: TestCert;

const upstream = (spec: string) => `---\napiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: svc }\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
const api = (destination: string) => `---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: svc }\nspec:\n  routes: [{ name: r, destination: ${destination} }]\n`;
const cert = (name: string, c: string, k: string, hosts = '[a.test]') => `---
apiVersion: tollgate.dev/v1
kind: Certificate
metadata: { name: ${name} }
spec:
  hosts: ${hosts}
  certificate: ${yamlBlock(c, 4)}
  privateKey: ${yamlBlock(k, 4)}
`;
const targets = `targets:\n  - { url: "http://127.0.0.1:9001", labels: { version: v1 } }\n  - { url: "http://127.0.0.1:9002", weight: 0, labels: { version: v2 } }`;

beforeAll(async () => {
  h = await startAdminHarness('pglite');
  ca = new TestCa();
  good = ca.issue('a.test', ['a.test']);
  other = ca.issue('other', ['other.test']);
});
afterAll(async () => {
  await h.close();
  ca.dispose();
});

async function refused(yaml: string): Promise<Array<{ path: string; message: string; resource?: string }>> {
  const before = await h.exportYaml();
  const res = await h.applyYaml(yaml);
  expect(res.statusCode).toBe(422);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(await h.exportYaml()).toBe(before); // a rejected apply changes nothing
  return (res.json() as { errors: Array<{ path: string; message: string }> }).errors;
}

describe('bad upstream and certificate config is refused at apply, naming the field', () => {
  it('weights summing to 0', async () => {
    const errors = await refused(upstream(`targets: [{ url: "http://127.0.0.1:9001", weight: 0 }]`));
    expect(errors).toContainEqual(expect.objectContaining({ path: 'spec.targets', message: expect.stringMatching(/weight above 0/) }));
  });

  it('a subset selecting no target (with a weight above 0)', async () => {
    const errors = await refused(upstream(`${targets}\nsubsets: [{ name: v2, labels: { version: v2 } }]`));
    expect(errors).toContainEqual(expect.objectContaining({ path: 'spec.subsets[0].labels', message: expect.stringMatching(/selects no target/) }));
  });

  it('an unknown subset in a route destination', async () => {
    const errors = await refused(upstream(`${targets}\nsubsets: [{ name: v1, labels: { version: v1 } }]`) + api('{ upstream: svc, subset: v3 }'));
    expect(errors).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].destination.subset', message: expect.stringMatching(/no subset "v3"; it has: v1/) }));
  });

  it('health-check thresholds and timings out of range', async () => {
    const errors = await refused(upstream(`${targets}\nhealthChecks:\n  active: { path: /h, healthyThreshold: 0, unhealthyThreshold: 101, intervalMs: 1000, timeoutMs: 2000 }\n  passive: { consecutiveErrors: 0, maxEjectionPercent: 150 }`));
    const paths = errors.map((e) => e.path);
    for (const p of ['spec.healthChecks.active.healthyThreshold', 'spec.healthChecks.active.unhealthyThreshold', 'spec.healthChecks.passive.consecutiveErrors', 'spec.healthChecks.passive.maxEjectionPercent']) expect(paths).toContain(p);
  });

  it('consistent hashing without a key, and a key without consistent hashing', async () => {
    expect((await refused(upstream(`${targets}\nloadBalancing: consistent-hash`))).map((e) => e.path)).toContain('spec.consistentHash');
    expect((await refused(upstream(`${targets}\nconsistentHash: { header: x-user }`))).map((e) => e.path)).toContain('spec.consistentHash');
  });

  it('a certificate that does not match its key', async () => {
    const errors = await refused(cert('a', good.cert, other.key));
    expect(errors).toContainEqual(expect.objectContaining({ path: 'spec.privateKey', message: expect.stringMatching(/does not match/) }));
  });

  it('unparsable PEM, without echoing key material', async () => {
    const errors = await refused(cert('a', '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----', '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----'));
    expect(errors.map((e) => e.path)).toEqual(expect.arrayContaining(['spec.certificate', 'spec.privateKey']));
    expect(JSON.stringify(errors)).not.toContain('c2VjcmV0');
  });

  it('two certificates claiming the same SNI host, and mismatched upstream client certificate/key', async () => {
    const errors = await refused(cert('a', good.cert, good.key) + cert('b', good.cert, good.key));
    expect(errors).toContainEqual(expect.objectContaining({ path: 'spec.hosts[0]', message: expect.stringMatching(/already served by Certificate\/a/) }));
    const tls = await refused(upstream(`${targets}\ntls:\n  clientCertificate: ${yamlBlock(good.cert, 4)}\n  clientKey: ${yamlBlock(other.key, 4)}`));
    expect(tls).toContainEqual(expect.objectContaining({ path: 'spec.tls.clientKey' }));
  });

  it('accepts the good ones', async () => {
    const res = await h.applyYaml(cert('a', good.cert, good.key) + upstream(`${targets}\nsubsets: [{ name: v1, labels: { version: v1 } }]`) + api('{ upstream: svc, subset: v1 }'));
    expect(res.statusCode).toBe(200);
  });
});

describe('certificate expiry', () => {
  it('refuses a certificate that has expired', () => {
    vi.useFakeTimers({ now: Date.now() + 10 * 86_400_000, toFake: ['Date'] });
    try {
      const r = certificateSpecSchema.safeParse({ certificate: good.cert, privateKey: good.key, hosts: ['a.test'] });
      expect(r.success).toBe(false);
      expect(r.error?.issues).toContainEqual(expect.objectContaining({ path: ['certificate'], message: expect.stringMatching(/expired/) }));
    } finally {
      vi.useRealTimers();
    }
    expect(certificateSpecSchema.safeParse({ certificate: good.cert, privateKey: good.key, hosts: ['a.test'] }).success).toBe(true);
  });
});
