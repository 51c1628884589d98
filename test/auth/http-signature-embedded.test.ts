import { createHmac } from 'node:crypto';
import { httpbis } from 'http-message-signatures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

// The embedded default: no Redis, so replay records live in the gateway's in-process counters.
const SECRET = 'embedded-hmac-secret-0123456789-abcdef';
let up: RecordingUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  up = await startUpstream('svc');
  gw = await startTestGateway(
    new TestConfigSource(
      yamlResources(
        upstreamYaml('svc', [up.origin]) +
          apiYaml('signed', `basePath: /signed\npolicies: [{ name: http-signature, config: { requiredComponents: ["@method", "@target-uri"] } }]\nroutes: [{ name: all, destination: { upstream: svc } }]`) +
          `---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: embedded-co }
spec: { signatureKeys: [{ keyId: emb, algorithm: hmac-sha256, secret: "${SECRET}" }] }
`,
      ),
    ),
  );
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
});

describe('http-signature on the embedded store', () => {
  it('verifies a signature over @target-uri (query included) once, then refuses its replay', async () => {
    const path = '/signed/items?page=2';
    const req = await httpbis.signMessage(
      { key: { id: 'emb', alg: 'hmac-sha256', sign: async (d: Buffer) => createHmac('sha256', SECRET).update(d).digest() }, name: 'sig1', fields: ['@method', '@target-uri'], params: ['keyid', 'alg', 'created'] },
      { method: 'GET', url: `http://127.0.0.1:${gw.port}${path}`, headers: { host: `127.0.0.1:${gw.port}` } },
    );
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const first = await send(gw.port, { path, headers });
    expect(first.status, first.body.toString()).toBe(200);
    expect(up.received.at(-1)?.headers['x-consumer-name']).toBe('embedded-co');
    const again = await send(gw.port, { path, headers });
    expect(again.status).toBe(401);
    expect(JSON.parse(again.body.toString()).code).toBe('SIGNATURE_REPLAYED');
    // The query is covered by @target-uri: another page is another request.
    const other = await send(gw.port, { path: '/signed/items?page=3', headers });
    expect(JSON.parse(other.body.toString()).code).toBe('SIGNATURE_INVALID');
  });
});
