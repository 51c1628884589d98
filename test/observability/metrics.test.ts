import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, eventually, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

const KEY = 'tg_Metrics81mQv3LkP0sR7aT2bYc9dWf';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let up: RecordingUpstream;
let gw: RunningGateway;
let source: TestConfigSource;
let resources: ReturnType<typeof yamlResources>;

beforeAll(async () => {
  // The upstream answers 404 under /shop/items/missing, 200 otherwise.
  up = await startUpstream('svc', (req, res) => {
    res.statusCode = req.url?.includes('missing') ? 404 : 200;
    res.end('ok');
  });
  resources = yamlResources(
    upstreamYaml('svc', [up.origin]) +
      apiYaml('shop', `basePath: /shop\nversion: v2\nroutes: [{ name: items, match: [{ path: { prefix: /items }, methods: [GET, POST] }], destination: { upstream: svc } }]`) +
      apiYaml('keyed', `basePath: /keyed\npolicies: [{ name: key-auth }]\nroutes: [{ name: all, destination: { upstream: svc } }]`) +
      `---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { keys: [{ name: ci, hash: "${sha(KEY)}" }] }
`,
  );
  source = new TestConfigSource(resources);
  gw = await startTestGateway(source);
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
});

async function scrape(): Promise<string> {
  const r = await send(gw.statusPort, { path: '/metrics' });
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return r.body;
}

/** The value of one sample line, exact name and label set as written by prom-client. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics after known traffic', () => {
  it('counts requests by route, status and source, and histogram counts match', async () => {
    for (let i = 0; i < 3; i++) expect((await send(gw.port, { path: '/shop/items' })).status).toBe(200);
    expect((await send(gw.port, { method: 'POST', path: '/shop/items', body: 'hello', headers: { 'content-type': 'text/plain' } })).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await send(gw.port, { path: '/shop/items/missing' })).status).toBe(404);
    for (let i = 0; i < 3; i++) expect((await send(gw.port, { path: `/nowhere/${i}` })).status).toBe(404);
    expect((await send(gw.port, { method: 'DELETE', path: '/shop/items' })).status).toBe(405);
    expect((await send(gw.port, { path: '/keyed/x' })).status).toBe(401);
    expect((await send(gw.port, { path: '/keyed/x', headers: { apikey: 'tg_wrong_wrong_wrong_wrong_wrong' } })).status).toBe(401);
    expect((await send(gw.port, { path: '/keyed/x', headers: { apikey: KEY } })).status).toBe(200);

    const m = await scrape();
    const shop = 'api="shop",api_version="v2",route="items"';
    expect(sample(m, `tollgate_http_requests_total{${shop},method="GET",code="200",source="upstream"}`)).toBe(3);
    expect(sample(m, `tollgate_http_requests_total{${shop},method="POST",code="200",source="upstream"}`)).toBe(1);
    expect(sample(m, `tollgate_http_requests_total{${shop},method="GET",code="404",source="upstream"}`)).toBe(2);
    // Unmatched paths share one fixed label value: no series per path.
    const none = 'api="(none)",api_version="",route="(none)"';
    expect(sample(m, `tollgate_http_requests_total{${none},method="GET",code="404",source="gateway"}`)).toBe(3);
    expect(sample(m, `tollgate_http_requests_total{${none},method="DELETE",code="405",source="gateway"}`)).toBe(1);
    expect(m).not.toContain('nowhere');
    const keyed = 'api="keyed",api_version="v1",route="all"';
    expect(sample(m, `tollgate_http_requests_total{${keyed},method="GET",code="401",source="gateway"}`)).toBe(2);
    expect(sample(m, `tollgate_http_requests_total{${keyed},method="GET",code="200",source="upstream"}`)).toBe(1);

    expect(sample(m, `tollgate_request_duration_seconds_count{${shop}}`)).toBe(6);
    expect(sample(m, `tollgate_upstream_duration_seconds_count{${shop}}`)).toBe(6);
    expect(sample(m, `tollgate_gateway_duration_seconds_count{${shop}}`)).toBe(6);
    expect(sample(m, `tollgate_request_duration_seconds_count{${none}}`)).toBe(4);
    // Refused by the gateway: no upstream time observed.
    expect(sample(m, `tollgate_upstream_duration_seconds_count{${keyed}}`)).toBe(1);
    expect(sample(m, `tollgate_gateway_duration_seconds_count{${keyed}}`)).toBe(3);
    expect(sample(m, `tollgate_request_duration_seconds_bucket{le="+Inf",${shop}}`)).toBe(6);

    expect(sample(m, 'tollgate_auth_failures_total{reason="auth_required"}')).toBe(1);
    expect(sample(m, 'tollgate_auth_failures_total{reason="invalid_credential"}')).toBe(1);
    expect(sample(m, 'tollgate_bandwidth_bytes_total{direction="ingress"}')).toBe(5);
    expect(sample(m, 'tollgate_bandwidth_bytes_total{direction="egress"}')).toBeGreaterThan(0);
    expect(sample(m, 'tollgate_rate_limited_total')).toBeUndefined();
    expect(sample(m, `tollgate_upstream_target_health{upstream="svc",target="${up.origin}"}`)).toBe(1);
    expect(sample(m, 'tollgate_config_version')).toBe(gw.gw.currentVersion());
    expect(sample(m, 'tollgate_config_reload_failures_total')).toBe(0);
  });

  it('a refused config counts a reload failure; the version gauge stays on the serving snapshot', async () => {
    const serving = gw.gw.currentVersion();
    source.set(yamlResources(apiYaml('bad', `routes: [{ name: r, destination: { upstream: missing } }]`)));
    await eventually(async () => sample(await scrape(), 'tollgate_config_reload_failures_total') === 1);
    const m = await scrape();
    expect(sample(m, 'tollgate_config_version')).toBe(serving);
    source.set(resources);
    await eventually(() => gw.gw.currentVersion() > serving);
    expect(sample(await scrape(), 'tollgate_config_version')).toBe(gw.gw.currentVersion());
  });
});
