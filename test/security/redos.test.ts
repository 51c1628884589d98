import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { proxyRequest, startSecurityProcess, waitForVersion, type SecurityProcess } from './admin-process.js';

/** A request-validation policy whose schemas are classic catastrophic-backtracking cases. */
const VALIDATION = JSON.stringify({
  pathTemplate: '/t/{a}-{b}-{c}',
  parameters: [
    ...['a', 'b', 'c'].map((name) => ({ name, in: 'path', required: true, schema: { type: 'string', maxLength: 8 } })),
    { name: 'q', in: 'query', schema: { type: 'string', pattern: '^(a+)+$' } },
    { name: 'X-Code', in: 'header', schema: { type: 'string', pattern: '^(\\w+\\s?)*$' } },
  ],
  body: {
    content: {
      'application/json': {
        schema: { type: 'object', properties: { name: { type: 'string', pattern: '(x+x+)+y' }, site: { type: 'string', format: 'url' } }, patternProperties: { '^(a|a)*$': { type: 'integer' } } },
      },
    },
  },
});

function config(upstreamUrl: string, validation = VALIDATION): string {
  return `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: redos-up }
spec: { targets: [{ url: "${upstreamUrl}" }] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: redos }
spec:
  hosts: [redos.test]
  routes:
    - name: all
      policies: [{ name: request-validation, config: ${validation} }]
      destination: { upstream: redos-up }
`;
}

// Class 3: schema patterns (and formats, and the path template) from an OpenAPI operation run in
// linear time, so one crafted request cannot block the gateway's event loop.
describe('request validation is not a ReDoS vector', () => {
  let p: SecurityProcess;
  let up: RecordingUpstream;
  beforeAll(async () => {
    up = await startRecordingUpstream('redos');
    p = await startSecurityProcess('all');
    const res = await p.admin('POST', '/config', config(up.url), 'application/yaml');
    expect(res.status, res.body).toBe(200);
    await waitForVersion(p, (JSON.parse(res.body) as { version: number }).version);
  }, 60_000);
  afterAll(async () => {
    await p?.close();
    await up?.close();
  });

  /** Sends a request and, while it is in flight, checks that the status listener still answers at once. */
  async function attack(path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; ms: number }> {
    const t = performance.now();
    const res = await proxyRequest(p.tg.proxyUrl, body === undefined ? 'GET' : 'POST', path, { host: 'redos.test', ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }) }, body);
    return { status: res.status, ms: performance.now() - t };
  }

  it('crafted values are refused (400) in well under a second, and valid ones pass', async () => {
    const cases: Array<[string, Record<string, string>, string | undefined]> = [
      [`/t/a-b-c?q=${'a'.repeat(30)}!`, {}, undefined],
      [`/t/a-b-c?q=${'a'.repeat(8_000)}!`, {}, undefined],
      ['/t/a-b-c', { 'x-code': `${'a '.repeat(30)}!` }, undefined],
      ['/t/a-b-c', {}, JSON.stringify({ name: 'x'.repeat(30) })],
      ['/t/a-b-c', {}, JSON.stringify({ [`${'a'.repeat(30)}!`]: 'x', aaa: 'not an integer' })],
      ['/t/a-b-c', {}, JSON.stringify({ site: `http://${':'.repeat(60_000)} ` })],
      [`/t/${'-'.repeat(3_000)}/`, {}, undefined],
    ];
    for (const [path, headers, body] of cases) {
      const r = await attack(path, headers, body);
      expect(r.ms, `${path.slice(0, 40)} ${body?.slice(0, 40) ?? ''}`).toBeLessThan(1_500);
      expect([400, 404]).toContain(r.status);
    }
    expect((await attack('/t/a-b-c?q=aaa', { 'x-code': 'ab cd' }, JSON.stringify({ name: 'xxy', site: 'https://example.com/', aa: 1 }))).status).toBe(200);
    // The event loop was never blocked long enough to matter.
    const t = performance.now();
    expect((await fetch(`${p.tg.statusUrl}/healthz`)).status).toBe(200);
    expect(performance.now() - t).toBeLessThan(500);
  });

  it('a pattern RE2 cannot run (lookaround, backreference) is refused at apply, naming the schema', async () => {
    for (const pattern of ['^(?=.*[0-9])[a-z0-9]+$', '^(a)\\\\1$']) {
      const validation = JSON.stringify({ parameters: [{ name: 'q', in: 'query', schema: { type: 'string', pattern: pattern.replaceAll('\\\\', '\\') } }] });
      const res = await p.admin('POST', '/config?dryRun=true', config(up.url, validation), 'application/yaml');
      expect(res.status, res.body).toBe(422);
      const problem = res.json();
      expect(problem.code).toBe('INVALID_CONFIG');
      expect(problem.errors?.[0]).toMatchObject({ path: 'spec.routes[0].policies[0].config.parameters[0].schema', message: expect.stringContaining('RE2') });
    }
  });
});
