import { createHash, createHmac, generateKeyPairSync, sign as edSign } from 'node:crypto';
import { Readable } from 'node:stream';
import { httpbis } from 'http-message-signatures';
import { describe, expect, it } from 'vitest';
import { parseResourcesYaml } from '@tollgate/model';
import { RequestContext } from '../context.js';
import { IdentityIndex } from '../identity/index.js';
import { memoryReplayStore } from './replay-guard.js';
import { httpSignature } from './index.js';
import { httpSignatureSchema } from './schema.js';

// Requests are signed by an independent RFC 9421 implementation (the `http-message-signatures`
// package), so these tests check interoperability, not only agreement with our own serializer.
const HMAC_SECRET = 'hmac-secret-0123456789-abcdefghijklmnop';
const ed = generateKeyPairSync('ed25519');
const edPublic = ed.publicKey.export({ format: 'jwk' }).x as string;
const other = generateKeyPairSync('ed25519');

function index(): IdentityIndex {
  const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec:
  customId: acme-1
  groups: [gold]
  signatureKeys:
    - { keyId: acme-hmac, algorithm: hmac-sha256, secret: "${HMAC_SECRET}" }
    - { keyId: acme-ed, algorithm: ed25519, publicKey: "${edPublic}" }
    - { keyId: acme-old, algorithm: ed25519, publicKey: "${edPublic}", expiresAt: "2000-01-01T00:00:00Z" }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: twin-a }
spec: { signatureKeys: [{ keyId: shared, algorithm: hmac-sha256, secret: "${HMAC_SECRET}" }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: twin-b }
spec: { signatureKeys: [{ keyId: shared, algorithm: hmac-sha256, secret: "${HMAC_SECRET}" }] }
`);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return new IdentityIndex(r.resources);
}

const IDX = index();

function build(config: unknown = {}, now?: () => number) {
  return httpSignature.build(httpSignatureSchema.parse(config), { logger: { warn() {}, error() {} }, identity: { current: IDX }, counters: memoryReplayStore(), ...(now ? { now } : {}) });
}

interface SignOpts {
  keyId?: string;
  alg?: 'hmac-sha256' | 'ed25519';
  fields?: string[];
  created?: Date;
  nonce?: string;
  url?: string;
  method?: string;
  headers?: Record<string, string>;
  signWith?: (data: Buffer) => Buffer;
  params?: string[];
}

async function signed(o: SignOpts = {}): Promise<Record<string, string>> {
  const alg = o.alg ?? 'ed25519';
  const url = o.url ?? 'http://api.test/orders/7?x=1';
  const signer = o.signWith ?? (alg === 'ed25519' ? (d: Buffer) => edSign(null, d, ed.privateKey) : (d: Buffer) => createHmac('sha256', HMAC_SECRET).update(d).digest());
  const req = await httpbis.signMessage(
    {
      key: { id: o.keyId ?? (alg === 'ed25519' ? 'acme-ed' : 'acme-hmac'), alg, sign: async (d: Buffer) => signer(d) },
      name: 'sig1',
      fields: o.fields ?? ['@method', '@authority', '@path'],
      params: o.params ?? ['keyid', 'alg', 'created', ...(o.nonce ? ['nonce'] : [])],
      paramValues: { created: o.created ?? new Date(), ...(o.nonce ? { nonce: o.nonce } : {}) },
    },
    { method: o.method ?? 'GET', url, headers: { host: new URL(url).host, ...o.headers } },
  );
  // Node hands the gateway lower-case field names.
  return Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
}

function ctx(headers: Record<string, string>, opts: { method?: string; path?: string; query?: string | null; body?: Buffer } = {}) {
  const c = new RequestContext('r', '127.0.0.1', opts.method ?? 'GET', opts.path ?? '/orders/7', headers, 'a', 'r', opts.query === undefined ? 'x=1' : opts.query, 'api.test');
  if (opts.body) c.bodySource = { stream: Readable.from([opts.body]), maxBytes: 10_000_000 };
  return c;
}

async function run(policy: ReturnType<typeof build>, c: RequestContext) {
  return (await policy.access?.(c)) as { status: number; headers?: Record<string, string>; body: { code: string; detail: string } } | undefined;
}

describe('http-signature', () => {
  it('accepts an ed25519 signature and an hmac-sha256 one, identifies the consumer and removes the signature fields', async () => {
    const p = build();
    for (const alg of ['ed25519', 'hmac-sha256'] as const) {
      const c = ctx(await signed({ alg, nonce: alg }));
      expect(await run(p, c)).toBeUndefined();
      expect(c.consumer?.name).toBe('acme');
      expect(c.credential).toBe(`sig:${alg === 'ed25519' ? 'acme-ed' : 'acme-hmac'}`);
      const out: Record<string, string | string[]> = { signature: 'x', 'signature-input': 'y' };
      c.applyTo(out);
      expect(out).toEqual({ 'x-consumer-name': 'acme', 'x-consumer-id': 'acme-1', 'x-consumer-groups': 'gold' });
    }
  });

  it('@target-uri covers the scheme, authority, path and query', async () => {
    const c = ctx(await signed({ fields: ['@method', '@target-uri'] }));
    expect(await run(build({ requiredComponents: ['@method', '@authority', '@path', '@query'] }), c)).toBeUndefined();
  });

  it('no signature: no reply, a Signature challenge for the gate', async () => {
    const c = ctx({ host: 'api.test' });
    expect(await run(build(), c)).toBeUndefined();
    expect(c.authenticated).toBe(false);
    expect(c.challenges).toEqual(['Signature realm="tollgate"']);
  });

  it('a wrong key, a tampered request and a wrong alg are SIGNATURE_INVALID', async () => {
    const wrong = await signed({ signWith: (d) => edSign(null, d, other.privateKey) });
    expect((await run(build(), ctx(wrong)))?.body.code).toBe('SIGNATURE_INVALID');
    const good = await signed();
    const tampered = await run(build(), ctx(good, { path: '/orders/8' }));
    expect(tampered?.status).toBe(401);
    expect(tampered?.body.code).toBe('SIGNATURE_INVALID');
    expect(tampered?.headers?.['www-authenticate']).toBe('Signature realm="tollgate", error="invalid_signature"');
    const wrongSecret = await signed({ alg: 'hmac-sha256', signWith: (d) => createHmac('sha256', 'not-the-secret-0123456789-0123456789').update(d).digest() });
    expect((await run(build(), ctx(wrongSecret)))?.body.code).toBe('SIGNATURE_INVALID');
    // An ed25519 key named with alg=hmac-sha256: the alg must agree with the key (RFC 9421 §3.2).
    const confused = await signed({ keyId: 'acme-ed', alg: 'hmac-sha256' });
    expect((await run(build(), ctx(confused)))?.body.code).toBe('SIGNATURE_INVALID');
    expect((await run(build(), ctx({ host: 'api.test', signature: 'sig1=:AAAA:' })))?.body.code).toBe('SIGNATURE_INVALID');
    expect((await run(build(), ctx({ host: 'api.test', signature: 'sig1=:AAAA:', 'signature-input': 'sig1=not a list' })))?.body.code).toBe('SIGNATURE_INVALID');
  });

  it('a signature that does not cover a required component is SIGNATURE_COMPONENT_MISSING', async () => {
    const r = await run(build(), ctx(await signed({ fields: ['@method', '@authority'] })));
    expect(r?.body.code).toBe('SIGNATURE_COMPONENT_MISSING');
    expect(r?.body.detail).toContain('"@path"');
  });

  it('an unknown, expired, ambiguous or not-accepted key is SIGNATURE_KEY_UNKNOWN', async () => {
    expect((await run(build(), ctx(await signed({ keyId: 'nobody' }))))?.body.code).toBe('SIGNATURE_KEY_UNKNOWN');
    expect((await run(build(), ctx(await signed({ keyId: 'acme-old' }))))?.body.code).toBe('SIGNATURE_KEY_UNKNOWN');
    expect((await run(build(), ctx(await signed({ keyId: 'shared', alg: 'hmac-sha256' }))))?.body.code).toBe('SIGNATURE_KEY_UNKNOWN');
    expect((await run(build({ algorithms: ['ed25519'] }), ctx(await signed({ alg: 'hmac-sha256' }))))?.body.code).toBe('SIGNATURE_KEY_UNKNOWN');
  });

  it('created too old is SIGNATURE_EXPIRED, too far ahead is SIGNATURE_CLOCK_SKEW; within the skew passes', async () => {
    const t = Date.now();
    expect((await run(build(), ctx(await signed({ created: new Date(t - 400_000) }))))?.body.code).toBe('SIGNATURE_EXPIRED');
    expect((await run(build(), ctx(await signed({ created: new Date(t + 120_000) }))))?.body.code).toBe('SIGNATURE_CLOCK_SKEW');
    expect(await run(build(), ctx(await signed({ created: new Date(t + 20_000) })))).toBeUndefined();
    expect(await run(build(), ctx(await signed({ created: new Date(t - 320_000) })))).toBeUndefined();
  });

  it('the same signature twice is SIGNATURE_REPLAYED; a fresh nonce is a new signature', async () => {
    const p = build();
    const h = await signed({ nonce: 'n-1' });
    expect(await run(p, ctx(h))).toBeUndefined();
    expect((await run(p, ctx(h)))?.body.code).toBe('SIGNATURE_REPLAYED');
    expect(await run(p, ctx(await signed({ nonce: 'n-2' })))).toBeUndefined();
    // An invalid signature is never recorded: it cannot burn a real one.
    const forged = { ...(await signed({ nonce: 'n-3' })) };
    const real = { ...forged };
    forged.signature = forged.signature!.replace(/:(.)/, (_m, c: string) => `:${c === 'A' ? 'B' : 'A'}`);
    expect((await run(p, ctx(forged)))?.body.code).toBe('SIGNATURE_INVALID');
    expect(await run(p, ctx(real))).toBeUndefined();
  });

  it('a replay store that fails refuses with 503 SIGNATURE_REPLAY_CHECK_UNAVAILABLE (fails closed)', async () => {
    const p = httpSignature.build(httpSignatureSchema.parse({}), {
      logger: { warn() {}, error() {} },
      identity: { current: IDX },
      counters: { consume: () => Promise.reject(new Error('redis down')), peek: async () => [] },
    });
    const r = await run(p, ctx(await signed()));
    expect(r?.status).toBe(503);
    expect(r?.body.code).toBe('SIGNATURE_REPLAY_CHECK_UNAVAILABLE');
  });

  it('a body must be covered by content-digest and match it (RFC 9530)', async () => {
    const body = Buffer.from('{"amount":100}');
    const digest = `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
    const headers = { 'content-type': 'application/json', 'content-length': String(body.length), 'content-digest': digest };
    const fields = ['@method', '@authority', '@path', 'content-digest'];
    const ok = await signed({ method: 'POST', fields, headers });
    const c = ctx(ok, { method: 'POST', body });
    expect(await run(build(), c)).toBeUndefined();
    expect(c.bufferedBody?.toString()).toBe('{"amount":100}');
    const swapped = await run(build(), ctx(await signed({ method: 'POST', fields, headers, nonce: 'b' }), { method: 'POST', body: Buffer.from('{"amount":999}') }));
    expect(swapped?.body.code).toBe('CONTENT_DIGEST_MISMATCH');
    const uncovered = await run(build(), ctx(await signed({ method: 'POST', headers }), { method: 'POST', body }));
    expect(uncovered?.body.code).toBe('SIGNATURE_COMPONENT_MISSING');
    const big = await run(build({ maxBodyBytes: 4 }), ctx(await signed({ method: 'POST', fields, headers, nonce: 'c' }), { method: 'POST', body }));
    expect(big?.status).toBe(413);
  });

  it('refuses a config whose skew exceeds the maximum age, and an unknown derived component', () => {
    expect(httpSignatureSchema.safeParse({ maxAgeSec: 10, clockSkewSec: 20 }).success).toBe(false);
    expect(httpSignatureSchema.safeParse({ requiredComponents: ['@status'] }).success).toBe(false);
  });
});
