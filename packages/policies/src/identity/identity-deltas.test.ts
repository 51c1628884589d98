import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { IdentityIndex } from './index.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function consumers(yaml: string): Resource[] {
  const r = parseResourcesYaml(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

const TWO = consumers(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec:
  keys:
    - { name: declared, hash: "${sha('tg_declared')}" }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: beta }
spec: {}
`);

describe('IdentityIndex applied in place from the change feed', () => {
  it('adds a created key, removes a revoked one, and replaces a key of the same id', () => {
    const index = new IdentityIndex(TWO, [{ id: 'key_old', consumer: 'acme', hash: sha('tg_old') }]);
    expect(index.applyKeys([{ id: 'key_new', consumer: 'beta', hash: sha('tg_new'), revoked: false }])).toBe(1);
    expect(index.byKeyHash(sha('tg_new'))?.consumer.name).toBe('beta');
    expect(index.byKeyHash(sha('tg_new'))?.keyId).toBe('key_new');
    index.applyKeys([{ id: 'key_old', consumer: 'acme', hash: sha('tg_old'), revoked: true }]);
    expect(index.byKeyHash(sha('tg_old'))).toBeUndefined();
    // The declared key is untouched by admin-key deltas.
    expect(index.byKeyHash(sha('tg_declared'))?.keyId).toBe('acme/declared');
    const expiresAt = new Date(Date.now() + 1_000);
    index.applyKeys([{ id: 'key_new', consumer: 'beta', hash: sha('tg_new'), expiresAt, revoked: false }]);
    expect(index.byKeyHash(sha('tg_new'))?.expiresAtMs).toBe(expiresAt.getTime());
  });

  it('applies create then revoke of one key in feed order, and skips keys of unknown consumers', () => {
    const index = new IdentityIndex(TWO, []);
    index.applyKeys([
      { id: 'key_a', consumer: 'acme', hash: sha('tg_a'), revoked: false },
      { id: 'key_a', consumer: 'acme', hash: sha('tg_a'), revoked: true },
      { id: 'key_g', consumer: 'ghost', hash: sha('tg_g'), revoked: false },
    ]);
    expect(index.byKeyHash(sha('tg_a'))).toBeUndefined();
    expect(index.byKeyHash(sha('tg_g'))).toBeUndefined();
  });

  it('a hash claimed twice authenticates nobody until one claim is revoked', () => {
    const index = new IdentityIndex(TWO, []);
    // The same digest as the declared key of acme, issued to beta through the admin API.
    index.applyKeys([{ id: 'key_dup', consumer: 'beta', hash: sha('tg_declared'), revoked: false }]);
    expect(index.byKeyHash(sha('tg_declared'))).toBeUndefined();
    index.applyKeys([{ id: 'key_dup', consumer: 'beta', hash: sha('tg_declared'), revoked: true }]);
    expect(index.byKeyHash(sha('tg_declared'))?.consumer.name).toBe('acme');
  });

  it('never changes the shared empty index', () => {
    expect(() => IdentityIndex.EMPTY.applyKeys([{ id: 'key_x', consumer: 'acme', hash: sha('x'), revoked: false }])).toThrow(/never changed/);
  });
});
