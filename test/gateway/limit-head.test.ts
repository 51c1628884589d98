import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from './harness.js';

// A limited route's answer streams with a flat head (issue #16: `responseFields`): the limit
// fields must replace the upstream's fields of the same names exactly as the header object of a
// route with other response policies does (one field each, the gateway's value), and leave every
// other upstream field as it was.

let up: RecordingUpstream;
let g: RunningGateway;

beforeAll(async () => {
  up = await startUpstream('up', (_req, res) => {
    res.setHeader('RateLimit', '"upstream";r=1;t=1');
    res.setHeader('X-RateLimit-Remaining', '999');
    res.setHeader('X-Quota-Limit', '5');
    res.setHeader('X-Request-Id', 'upstream-made-this-up');
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.setHeader('X-Kept', 'yes');
    res.end('ok');
  });
  const limits = '{ name: rate-limit, config: { by: ip, limits: [{ limit: 100, window: 1m }, { limit: 1000, window: 1h }] } }';
  const resources = yamlResources(
    upstreamYaml('u', [up.origin]) +
      apiYaml('flat', `basePath: /flat\npolicies: [${limits}]\nroutes: [{ name: r, destination: { upstream: u } }]`) +
      // CORS has no flat form: this route's head is an object, the reference behaviour.
      apiYaml('object', `basePath: /object\npolicies: [${limits}, { name: cors, config: { allowOrigins: ["https://app.example"] } }]\nroutes: [{ name: r, destination: { upstream: u } }]`),
  );
  g = await startTestGateway(new TestConfigSource(resources));
});
afterAll(async () => {
  await g.close();
  await up.close();
});

/** The response's raw field list (name lower-cased), so a field sent twice shows twice. */
function rawFields(path: string): Promise<Array<[string, string]>> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: g.port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        const out: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) out.push([(res.rawHeaders[i] as string).toLowerCase(), res.rawHeaders[i + 1] as string]);
        resolve(out);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const values = (fields: Array<[string, string]>, name: string) => fields.filter(([n]) => n === name).map(([, v]) => v);

describe('limit fields on a streamed head', () => {
  it('replace the upstream fields of the same names, once each, as the header object does', async () => {
    for (const path of ['/flat/x', '/object/x']) {
      const f = await rawFields(path);
      expect(values(f, 'ratelimit'), path).toHaveLength(1);
      expect(values(f, 'ratelimit')[0], path).toMatch(/^"default-1m";r=\d+;t=\d+, "default-1h";r=\d+;t=\d+$/);
      expect(values(f, 'ratelimit-policy'), path).toEqual(['"default-1m";q=100;w=60, "default-1h";q=1000;w=3600']);
      expect(values(f, 'x-ratelimit-remaining'), path).toHaveLength(1);
      expect(Number(values(f, 'x-ratelimit-remaining')[0]), path).toBeLessThan(100);
      expect(values(f, 'x-ratelimit-limit'), path).toEqual(['100']);
      expect(values(f, 'x-request-id'), path).toHaveLength(1);
      expect(values(f, 'x-request-id')[0], path).not.toBe('upstream-made-this-up');
      // Fields the limiter does not set (no quota here) stay the upstream's; lists stay lists.
      expect(values(f, 'x-quota-limit'), path).toEqual(['5']);
      expect(values(f, 'set-cookie'), path).toEqual(['a=1', 'b=2']);
      expect(values(f, 'x-kept'), path).toEqual(['yes']);
    }
  });
});
