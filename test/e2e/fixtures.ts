import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** An Upstream + Api pair in Tollgate's own YAML, as an operator writes it. */
export function apiYaml(upstreamUrl: string, opts: { api?: string; upstream?: string; host?: string; basePath?: string } = {}): string {
  const api = opts.api ?? 'orders';
  const upstream = opts.upstream ?? 'orders-backend';
  return `apiVersion: tollgate.dev/v1
kind: Upstream
metadata:
  name: ${upstream}
spec:
  targets:
    - url: ${upstreamUrl}
---
apiVersion: tollgate.dev/v1
kind: Api
metadata:
  name: ${api}
spec:
  hosts: [${opts.host ?? 'api.example.com'}]
  basePath: ${opts.basePath ?? '/orders'}
  routes:
    - name: all
      destination:
        upstream: ${upstream}
`;
}

/** Writes a file into `dir` and returns its path. */
export function writeFixture(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** GET through the proxy with a Host header (fetch cannot set Host, so use node:http). */
export async function proxyGet(proxyUrl: string, path: string, host: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const { request } = await import('node:http');
  const url = new URL(path, proxyUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
