import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, eventually, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

const KEY = 'tg_LogSecretKey81mQv3LkP0sR7aT2bY';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrIn0.c2VjcmV0LXNpZ25hdHVyZQ';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PID = '00f067aa0ba902b7';

let up: RecordingUpstream;
let gw: RunningGateway;
let logFile: string;

beforeAll(async () => {
  up = await startUpstream('svc');
  logFile = join(mkdtempSync(join(tmpdir(), 'tg-log-')), 'access.log');
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('svc', [up.origin]) +
        apiYaml('keyed', `basePath: /keyed\nversion: v3\npolicies: [{ name: key-auth, config: { queryParams: [api_key] } }]\nroutes: [{ name: all, destination: { upstream: svc } }]`) +
        apiYaml('open', `basePath: /open\nroutes: [{ name: all, destination: { upstream: svc } }]`) +
        `---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { keys: [{ name: ci, hash: "${sha(KEY)}" }] }
`,
    ),
  );
  gw = await startTestGateway(source, { logQuery: true, logHeaders: ['authorization', 'user-agent', 'x-session'], sensitiveHeaders: ['X-Session'], latencyHeaders: true });
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
});

describe('W3C trace context through the gateway', () => {
  it('the upstream gets the client trace id with a new parent id, and tracestate as sent', async () => {
    const before = up.received.length;
    const r = await send(gw.port, { path: '/open/t', headers: { traceparent: `00-${TID}-${PID}-01`, tracestate: 'acme=1' } });
    expect(r.status).toBe(200);
    const h = up.received[before]?.headers ?? {};
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(h.traceparent));
    expect(m?.[1]).toBe(TID);
    expect(m?.[2]).not.toBe(PID);
    expect(h.tracestate).toBe('acme=1');
    await eventually(() => gw.logs.some((l) => l.type === 'access' && l.requestId === r.headers['x-request-id']));
    const line = gw.logs.find((l) => l.type === 'access' && l.requestId === r.headers['x-request-id']);
    expect(line?.traceId).toBe(TID);
  });

  it('starts a new trace when none came or the header is invalid', async () => {
    const before = up.received.length;
    await send(gw.port, { path: '/open/n' });
    await send(gw.port, { path: '/open/n', headers: { traceparent: `ff-${TID}-${PID}-01`, tracestate: 'acme=1' } });
    const [a, b] = up.received.slice(before).map((x) => String(x.headers.traceparent));
    expect(a).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(b).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(b?.slice(3, 35)).not.toBe(TID);
    expect(a?.slice(3, 35)).not.toBe(b?.slice(3, 35));
    expect(up.received[before + 1]?.headers.tracestate).toBeUndefined();
  });
});

describe('access log', () => {
  it('lines are JSON with trace id, consumer, API version and latencies, and never contain a key or token', async () => {
    const r1 = await send(gw.port, { path: '/keyed/a', headers: { apikey: KEY, authorization: `Bearer ${TOKEN}`, 'x-session': 'sess-secret-value', 'user-agent': 'probe/1' } });
    const r2 = await send(gw.port, { path: `/keyed/b?api_key=${KEY}&x=1` });
    const r3 = await send(gw.port, { path: `/open/c?access_token=${TOKEN}`, headers: { authorization: `Bearer ${TOKEN}` } });
    for (const r of [r1, r2, r3]) expect(r.status).toBe(200);
    const ids = [r1, r2, r3].map((r) => r.headers['x-request-id']);
    await eventually(() => ids.every((id) => gw.logs.some((l) => l.type === 'access' && l.requestId === id)));
    const text = JSON.stringify(gw.logs);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('sess-secret-value');
    const line = gw.logs.find((l) => l.requestId === ids[0]) as Record<string, unknown>;
    expect(line).toMatchObject({ consumer: 'acme', api: 'keyed', apiVersion: 'v3', route: 'all', status: 200, upstream: up.origin });
    expect(line.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(line.headers).toEqual({ authorization: '[REDACTED]', 'user-agent': 'probe/1', 'x-session': '[REDACTED]' });
    for (const f of ['latencyMs', 'upstreamMs', 'gatewayMs', 'bytesOut']) expect(typeof line[f]).toBe('number');
    expect((line.gatewayMs as number) + (line.upstreamMs as number)).toBeCloseTo(line.latencyMs as number, 2);
    expect(gw.logs.find((l) => l.requestId === ids[1])?.query).toBe('x=1');
  });

  it('opt-in latency headers give upstream and gateway milliseconds', async () => {
    const r = await send(gw.port, { path: '/open/lat' });
    expect(r.headers['x-tollgate-upstream-latency']).toMatch(/^\d+$/);
    expect(r.headers['x-tollgate-latency']).toMatch(/^\d+$/);
    const plain = await startTestGateway(new TestConfigSource(yamlResources(upstreamYaml('svc', [up.origin]) + apiYaml('open', `basePath: /open\nroutes: [{ name: all, destination: { upstream: svc } }]`))));
    try {
      const p = await send(plain.port, { path: '/open/lat' });
      expect(p.status).toBe(200);
      expect(p.headers['x-tollgate-latency']).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it('ACCESS_LOG_FILE: access lines go to the file, other logs stay in the main log', async () => {
    const source = new TestConfigSource(yamlResources(upstreamYaml('svc', [up.origin]) + apiYaml('open', `basePath: /open\nroutes: [{ name: all, destination: { upstream: svc } }]`)));
    const g = await startTestGateway(source, { accessLogFile: logFile });
    const r = await send(g.port, { path: '/open/file' });
    await g.close();
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.requestId)).toContain(r.headers['x-request-id']);
    expect(g.logs.some((l) => l.type === 'access')).toBe(false);
  });
});
