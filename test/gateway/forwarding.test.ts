import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from './harness.js';

let a: RecordingUpstream;
let b: RecordingUpstream;
let g: RunningGateway;
let g2: RunningGateway;
let streamGate: (() => void) | null = null;

const resources = () =>
  yamlResources(
    `---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: pair }
spec:
  targets: [{ url: "${a.origin}", weight: 3 }, { url: "${b.origin}", weight: 1 }]
` +
      upstreamYaml('one', [a.origin]) +
      apiYaml(
        'api',
        `routes:
  - { name: lb, match: [{ path: { prefix: /lb } }], destination: { upstream: pair } }
  - { name: guarded, match: [{ path: { prefix: /guarded } }], destination: { upstream: one }, policies: [{ name: ip-restriction, config: { deny: ["127.0.0.1", "::1"] } }] }
  - { name: rest, destination: { upstream: one } }`,
      ),
  );

beforeAll(async () => {
  a = await startUpstream('a', (req, res, body) => {
    if (req.url === '/stream') {
      // First chunk now, second only after the test saw the first: proves the response streams.
      res.write('first;');
      streamGate = () => res.end('second');
      return;
    }
    res.setHeader('content-type', 'text/plain');
    res.end(req.method === 'HEAD' ? undefined : `a ${req.method} ${req.url} ${body.length}`);
  });
  b = await startUpstream('b');
  g = await startTestGateway(new TestConfigSource(resources()));
  g2 = await startTestGateway(new TestConfigSource(resources()), { preserveHost: false });
});
afterAll(async () => {
  await Promise.all([g.close(), g2.close()]);
  await Promise.all([a.close(), b.close()]);
});

describe('forwarding', () => {
  it('balances by weight across targets (smooth weighted round robin)', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push((await send(g.port, { path: '/lb' })).body.split(' ')[0] as string);
    expect(seen.filter((s) => s === 'a')).toHaveLength(6);
    expect(seen.filter((s) => s === 'b')).toHaveLength(2);
  });

  it('streams the response body to the client without buffering it', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: g.port, path: '/stream', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
          if (body === 'first;') streamGate?.();
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    expect(got).toBe('first;second');
  });

  it('forwards HEAD and returns headers without a body', async () => {
    const r = await send(g.port, { method: 'HEAD', path: '/h' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('');
    expect(a.received.at(-1)?.method).toBe('HEAD');
  });

  it('handles Expect: 100-continue without forwarding the expectation', async () => {
    const res = await new Promise<{ status: number; body: string; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest({ host: '127.0.0.1', port: g.port, method: 'POST', path: '/upload', agent: false, headers: { expect: '100-continue', 'content-length': '5' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, continued }));
      });
      req.on('continue', () => {
        continued = true;
        req.end('hello');
      });
      req.on('error', reject);
    });
    expect(res).toEqual({ status: 200, body: 'a POST /upload 5', continued: true });
    expect(a.received.at(-1)?.headers.expect).toBeUndefined();
  });

  it('sends the target host instead of the client Host when preserveHost is false', async () => {
    await send(g2.port, { path: '/host', headers: { host: 'public.example' } });
    expect(a.received.at(-1)?.headers.host).toBe(new URL(a.origin).host);
    expect(a.received.at(-1)?.headers['x-forwarded-host']).toBe('public.example');
    await send(g.port, { path: '/host', headers: { host: 'public.example' } });
    expect(a.received.at(-1)?.headers.host).toBe('public.example');
  });

  it('a route-level policy refusing a request with a body closes the connection without reading the body', async () => {
    const before = a.started;
    const r = await send(g.port, { method: 'POST', path: '/guarded', headers: { 'content-length': '3' }, body: 'abc' });
    expect(r.status).toBe(403);
    expect(r.headers.connection).toBe('close');
    expect(r.json()).toMatchObject({ code: 'IP_FORBIDDEN' });
    expect(a.started).toBe(before);
  });
});
