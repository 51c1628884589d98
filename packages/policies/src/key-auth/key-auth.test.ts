import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseResourcesYaml } from '@tollgate/model';
import { RequestContext } from '../context.js';
import { IdentityIndex } from '../identity/index.js';
import { authGate } from '../runner.js';
import { keyAuth } from './index.js';
import { keyAuthSchema } from './schema.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const KEY = 'tg_declared_key_0123456789abcdef';
const API_KEY = 'tg_admin_created_key_abcdefghijklmnop';

function index(): IdentityIndex {
  const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec:
  customId: cust-1
  groups: [gold, beta]
  keys:
    - { name: k1, hash: "${sha(KEY)}" }
    - { name: old, hash: "${sha('tg_expired_key_000000000000')}", expiresAt: "2000-01-01T00:00:00Z" }
`);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return new IdentityIndex(r.resources, [{ id: 'key_1', consumer: 'acme', hash: sha(API_KEY) }, { id: 'key_2', consumer: 'ghost', hash: sha('tg_of_a_deleted_consumer_xx') }]);
}

function build(config: unknown = {}) {
  return keyAuth.build(keyAuthSchema.parse(config), { logger: { warn() {}, error() {} }, identity: { current: index() } });
}

function ctx(headers: Record<string, string> = {}, query: string | null = null) {
  return new RequestContext('r', '127.0.0.1', 'GET', '/', headers, 'a', 'r', query);
}

function forwarded(c: RequestContext, from: Record<string, string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { ...from };
  c.applyTo(out);
  return out;
}

describe('key-auth', () => {
  it('authenticates a declared key from the default headers, removes it, sets identity headers', () => {
    for (const h of ['apikey', 'x-api-key']) {
      const c = ctx({ [h]: KEY, accept: '*/*' });
      expect(build().access?.(c)).toBeUndefined();
      expect(c.consumer).toMatchObject({ name: 'acme', customId: 'cust-1' });
      expect(forwarded(c, { [h]: KEY, accept: '*/*' })).toEqual({ accept: '*/*', 'x-consumer-name': 'acme', 'x-consumer-id': 'cust-1', 'x-consumer-groups': 'gold,beta' });
    }
  });

  it('authenticates an admin-created key from the snapshot apiKeys', () => {
    const c = ctx({ apikey: API_KEY });
    expect(build().access?.(c)).toBeUndefined();
    expect(c.consumer?.name).toBe('acme');
  });

  it('refuses unknown, expired and orphaned keys with 401 INVALID_CREDENTIAL and a challenge', () => {
    for (const k of ['tg_nope_nope_nope_nope', 'tg_expired_key_000000000000', 'tg_of_a_deleted_consumer_xx', 'x'.repeat(600)]) {
      const c = ctx({ apikey: k });
      const r = build().access?.(c);
      expect(r).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIAL' }, headers: { 'www-authenticate': expect.stringMatching(/^ApiKey realm="tollgate"/) } });
      expect(JSON.stringify(r)).not.toContain(k.slice(0, 20));
      expect(forwarded(c, { apikey: k })).toEqual({});
    }
  });

  it('names the credential by a digest prefix, distinct per key of one consumer, never the key itself', () => {
    const p = build();
    const a = ctx({ apikey: KEY });
    const b = ctx({ apikey: API_KEY });
    expect(p.access?.(a)).toBeUndefined();
    expect(p.access?.(b)).toBeUndefined();
    expect(a.consumer?.name).toBe('acme');
    expect(b.consumer?.name).toBe('acme');
    expect(a.credential).toBe(`key:${sha(KEY).slice(0, 16)}`);
    expect(b.credential).toBe(`key:${sha(API_KEY).slice(0, 16)}`);
    expect(a.credential).not.toContain(KEY);
  });

  it('two different keys in one request are refused', () => {
    expect(build().access?.(ctx({ apikey: KEY, 'x-api-key': API_KEY }))).toMatchObject({ status: 401 });
  });

  it('reads configured query parameters and removes them from the forwarded query', () => {
    const p = build({ headers: [], queryParams: ['api_key'] });
    const c = ctx({}, `a=1&api_key=${encodeURIComponent(KEY)}&b=2`);
    expect(p.access?.(c)).toBeUndefined();
    expect(c.query).toBe('a=1&b=2');
    const only = ctx({}, `api_key=${KEY}`);
    expect(p.access?.(only)).toBeUndefined();
    expect(only.query).toBeNull();
    // Not configured: a query key is not read (and left alone).
    const c2 = ctx({}, `apikey=${KEY}`);
    expect(build().access?.(c2)).toBeUndefined();
    expect(c2.authenticated).toBe(false);
  });

  it('no credential: records a challenge and lets the auth gate answer 401 AUTH_REQUIRED', () => {
    const c = ctx();
    expect(build({ realm: 'shop' }).access?.(c)).toBeUndefined();
    expect(authGate(c)).toMatchObject({ status: 401, body: { code: 'AUTH_REQUIRED' }, headers: { 'www-authenticate': 'ApiKey realm="shop"' } });
  });

  it('removes client identity headers with custom names, keeps the gateway values', () => {
    const p = build({ consumerHeaders: { id: 'X-Customer', name: 'x-who', groups: 'x-teams' } });
    const c = ctx({ apikey: KEY, 'x-who': 'admin', 'x-teams': 'root' });
    expect(p.access?.(c)).toBeUndefined();
    expect(forwarded(c, { 'x-who': 'admin', 'x-teams': 'root', 'x-customer': 'evil' })).toEqual({ 'x-who': 'acme', 'x-teams': 'gold,beta', 'x-customer': 'cust-1' });
  });

  it('skips when an earlier auth policy already authenticated, but still removes the key', () => {
    const c = ctx({ apikey: 'tg_garbage_garbage_garbage' });
    c.authenticate({ name: 'other', customId: null, groups: [] });
    expect(build().access?.(c)).toBeUndefined();
    expect(c.consumer?.name).toBe('other');
    expect(forwarded(c, { apikey: 'x' })).toEqual({});
  });

  it('reads a header configured in mixed case (field names are case-insensitive, RFC 9110 section 5.1) and removes it', () => {
    const p = build({ headers: ['X-Tenant-Key'], consumerHeaders: { id: 'X-Customer', name: 'X-Who', groups: 'X-Teams' } });
    // Node gives request header names in lower case.
    const c = ctx({ 'x-tenant-key': KEY, 'x-who': 'admin' });
    expect(p.access?.(c)).toBeUndefined();
    expect(c.consumer?.name).toBe('acme');
    expect(c.removedHeaders).toEqual(['x-customer', 'x-who', 'x-teams', 'x-tenant-key']);
    expect(forwarded(c, { 'x-tenant-key': KEY, 'x-who': 'admin', accept: '*/*' })).toEqual({ accept: '*/*', 'x-who': 'acme', 'x-customer': 'cust-1', 'x-teams': 'gold,beta' });
    // A wrong key in that header is refused, and still removed.
    const bad = ctx({ 'x-tenant-key': 'tg_nope_nope_nope_nope' });
    expect(p.access?.(bad)).toMatchObject({ status: 401 });
    expect(forwarded(bad, { 'x-tenant-key': 'tg_nope_nope_nope_nope' })).toEqual({});
  });

  it('matches query parameter names case-sensitively, as configured (URLs are case-sensitive)', () => {
    const p = build({ headers: [], queryParams: ['Api_Key'] });
    const c = ctx({}, `Api_Key=${KEY}&b=2`);
    expect(p.access?.(c)).toBeUndefined();
    expect(c.consumer?.name).toBe('acme');
    expect(c.query).toBe('b=2');
    const other = ctx({}, `api_key=${KEY}&b=2`);
    expect(p.access?.(other)).toBeUndefined();
    expect(other.authenticated).toBe(false);
    expect(other.query).toBe(`api_key=${KEY}&b=2`);
  });

  it('schema: lower-cases header names, refuses bad names and an empty source list', () => {
    expect(keyAuthSchema.parse({ headers: ['X-Key'] }).headers).toEqual(['x-key']);
    expect(keyAuthSchema.safeParse({ headers: ['bad header'] }).success).toBe(false);
    expect(keyAuthSchema.safeParse({ headers: [], queryParams: [] }).success).toBe(false);
  });
});

describe('IdentityIndex', () => {
  it('an ambiguous key hash or custom id authenticates nobody', () => {
    const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: a }
spec: { customId: same, keys: [{ name: k, hash: "${sha(KEY)}" }], jwtSubjects: [{ issuer: i, subject: s }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: b }
spec: { customId: same, keys: [{ name: k, hash: "${sha(KEY)}" }], jwtSubjects: [{ issuer: i, subject: s }] }
`);
    if (!r.ok) throw new Error('fixture');
    const warnings: object[] = [];
    const idx = new IdentityIndex(r.resources, [], { warn: (o) => void warnings.push(o), error() {} });
    expect(idx.byKeyHash(sha(KEY))).toBeUndefined();
    expect(idx.byCustomId('same')).toBeUndefined();
    expect(idx.bySubject('i', 's')).toBeUndefined();
    expect(idx.byName('a')?.name).toBe('a');
    expect(warnings.length).toBe(3);
    expect(JSON.stringify(warnings)).not.toContain(sha(KEY));
  });

  it('indexes subjects per issuer and admin keys with expiry', () => {
    const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: a }
spec: { jwtSubjects: [{ issuer: "https://i", subject: s1 }] }
`);
    if (!r.ok) throw new Error('fixture');
    const idx = new IdentityIndex(r.resources, [{ id: 'key_x', consumer: 'a', hash: sha('k'), expiresAt: new Date(1000) }]);
    expect(idx.bySubject('https://i', 's1')?.name).toBe('a');
    expect(idx.bySubject('https://i/', 's1')).toBeUndefined();
    expect(idx.byKeyHash(sha('k'))).toMatchObject({ expiresAtMs: 1000, keyId: 'key_x' });
  });
});
