import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startListeningAdmin, type ListeningAdmin } from '../cli/cli-harness.js';
import { eventually, send, startTestGateway, type RunningGateway } from '../gateway/harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { INGRESS_EXAMPLE, ISTIO_EXAMPLE } from './examples.js';

describe('tollgate apply -f with Kubernetes and Istio documents (built CLI)', () => {
  let admin: ListeningAdmin;
  let gateway: RunningGateway;
  let httpbin: RecordingUpstream;
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const serviceAndEndpoints = () => `apiVersion: v1
kind: Service
metadata: { name: httpbin }
spec:
  ports: [{ name: http, port: 8000, targetPort: ${httpbin.port} }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: httpbin }
subsets:
- addresses: [{ ip: 127.0.0.1 }]
  ports: [{ name: http, port: ${httpbin.port} }]
---
`;
  const served = async (path: string) => {
    await eventually(async () => (await send(gateway.port, { path, headers: { host: 'httpbin.example.com' } })).status === 200, 5_000);
  };

  beforeAll(async () => {
    admin = await startListeningAdmin();
    gateway = await startTestGateway(admin.stores.config, { configPollMs: 100 });
    httpbin = await startRecordingUpstream('httpbin');
    dir = mkdtempSync(join(tmpdir(), 'tollgate-import-cli-'));
  });
  afterAll(async () => {
    await gateway?.close();
    await admin?.close();
    await httpbin?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await admin.app.inject({ method: 'POST', url: '/config?prune=true&pruneBilling=true', headers: { authorization: `Bearer ${admin.token}` }, payload: [] });
  });

  it('applies the Ingress example verbatim and routes traffic', async () => {
    const run = await runCli(['apply', '-f', file('ingress.yaml', serviceAndEndpoints() + INGRESS_EXAMPLE)], admin.env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe('Upstream/svc-httpbin-8000 created\nApi/ing-ingress-0 created\n');
    await served('/status/200');
    expect(httpbin.requests.at(-1)?.url).toBe('/status/200');
  });

  it('applies the Gateway + VirtualService example verbatim and routes traffic', async () => {
    const run = await runCli(['apply', '-f', file('istio.yaml', serviceAndEndpoints() + ISTIO_EXAMPLE)], admin.env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe('Upstream/svc-httpbin-8000 created\nApi/vs-httpbin created\n');
    await served('/status/201');
  });

  it('prints warnings on stderr, and --strict fails on them without applying', async () => {
    const yaml = `${serviceAndEndpoints()}${INGRESS_EXAMPLE}---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: nginx-only }
spec:
  ingressClassName: nginx
  rules: [{ host: x.example.com, http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: httpbin, port: { number: 8000 } } } }] } }]
`;
    const strict = await runCli(['apply', '--strict', '-f', file('strict.yaml', yaml)], admin.env);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('spec.ingressClassName');
    const lenient = await runCli(['apply', '-f', file('lenient.yaml', yaml)], admin.env);
    expect(lenient.code).toBe(0);
    expect(lenient.stderr).toBe('Warning: document 3 Ingress/nginx-only: spec.ingressClassName: ingress class "nginx" is not served by Tollgate (served: istio, tollgate); the Ingress is skipped\n');
  });

  it('export --format istio writes documents that apply back to the same routing', async () => {
    await runCli(['apply', '-f', file('src.yaml', serviceAndEndpoints() + ISTIO_EXAMPLE)], admin.env);
    const exported = await runCli(['export', '--format', 'istio'], admin.env);
    expect(exported.code).toBe(0);
    for (const kind of ['Gateway', 'ServiceEntry', 'DestinationRule', 'VirtualService']) expect(exported.stdout).toContain(`kind: ${kind}`);
    await admin.app.inject({ method: 'POST', url: '/config?prune=true&pruneBilling=true', headers: { authorization: `Bearer ${admin.token}` }, payload: [] });
    const back = await runCli(['apply', '-f', file('back.yaml', exported.stdout)], admin.env);
    expect(back).toMatchObject({ code: 0, stderr: '' });
    await served('/status/202');
    const k8s = await runCli(['export', '--format', 'k8s'], admin.env);
    expect(k8s.stdout).toContain('kind: Ingress');
    expect(k8s.stdout).toContain('kind: Endpoints');
  });
});
