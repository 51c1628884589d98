import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { apiYaml } from '../e2e/fixtures.js';

const TOKEN = 'otlp-admin-token-0123456789abcdef';
const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PID = '00f067aa0ba902b7';

// A real HTTP listener stands in for the collector: it records what the OTLP/HTTP exporter posts.
describe('OTLP span export (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  let upstream: RecordingUpstream;
  let collector: RecordingUpstream;
  let tg: TollgateProcess;

  beforeAll(async () => {
    upstream = await startRecordingUpstream('primary');
    collector = await startRecordingUpstream('collector');
    tg = await startTollgateProcess({ env: { ADMIN_TOKEN: TOKEN, OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/`, OTEL_SERVICE_NAME: 'tg-test' } });
  });

  afterAll(async () => {
    await tg?.stop();
    await upstream?.close();
    await collector?.close();
  });

  it('exports the server span and the upstream-call span: same trace id, the call span the parent the upstream saw', async () => {
    const res = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: apiYaml(upstream.url, { host: '127.0.0.1' }).replace('  basePath: /orders', '  basePath: /orders\n  policies: [{ name: ip-restriction, config: { allow: ["127.0.0.1", "::1"] } }]') });
    expect(res.status).toBe(200);
    let status = 0;
    await waitUntil(async () => {
      const r = await fetch(`${tg.proxyUrl}/orders/1`, { headers: { traceparent: `00-${TID}-${PID}-01` } });
      status = r.status;
      return r.status === 200;
    }, 5_000);
    expect(status).toBe(200);
    const seen = upstream.requests.at(-1)?.headers.traceparent;
    const gatewaySpan = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(seen));
    expect(gatewaySpan?.[1]).toBe(TID);
    // Shutdown flushes the batch processor.
    await tg.stop();
    const posts = collector.requests.filter((r) => r.url === '/v1/traces');
    expect(posts.length).toBeGreaterThan(0);
    const body = posts.map((p) => p.body.toString()).join('\n');
    const spans = posts.flatMap((p) => (JSON.parse(p.body.toString()) as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] }).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    // The upstream's parent is the gateway's client span for the call (kind 3), itself a child of
    // the gateway's server span (kind 2), whose parent is the client's span.
    const call = spans.find((s) => s.spanId === gatewaySpan?.[2]);
    expect(call).toMatchObject({ traceId: TID, name: 'GET upstream', kind: 3 });
    const server = spans.find((s) => s.spanId === call?.parentSpanId);
    expect(server).toMatchObject({ traceId: TID, parentSpanId: PID, name: 'GET orders/all', kind: 2 });
    // The call lies within the server span.
    const n = (v: unknown) => BigInt(String(v));
    expect(n(call?.startTimeUnixNano) >= n(server?.startTimeUnixNano)).toBe(true);
    expect(n(call?.endTimeUnixNano) <= n(server?.endTimeUnixNano) + 1_000_000n).toBe(true);
    // The access policies (here ip-restriction) get their own span under the server span, before the call.
    const access = spans.find((s) => s.parentSpanId === server?.spanId && s.name === 'access policies');
    expect(access).toMatchObject({ traceId: TID, kind: 1 });
    expect(n(access?.endTimeUnixNano) <= n(call?.startTimeUnixNano)).toBe(true);
    expect(body).toContain('tg-test');
  });
});
