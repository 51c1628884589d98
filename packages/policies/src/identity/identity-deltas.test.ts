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

  it('applies Consumers in place: added, changed (claims moved, admin keys kept and re-pointed), deleted with every key', () => {
    const index = new IdentityIndex(TWO, [{ id: 'key_a', consumer: 'acme', hash: sha('tg_a') }]);
    const [added] = consumers(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: carol }
spec:
  customId: c-1
  groups: [gold]
  jwtSubjects: [{ issuer: "https://idp", subject: carol }]
  keys: [{ name: k, hash: "${sha('tg_carol')}" }]
`) as [Resource];
    expect(index.applyConsumers([{ name: 'carol', resource: added as never }])).toBe(1);
    expect(index.size).toBe(3);
    expect(index.byCustomId('c-1')?.groups).toEqual(['gold']);
    expect(index.bySubject('https://idp', 'carol')?.name).toBe('carol');
    expect(index.byKeyHash(sha('tg_carol'))?.keyId).toBe('carol/k');
    // A key created after the consumer, on the same feed read.
    index.applyKeys([{ id: 'key_c', consumer: 'carol', hash: sha('tg_c'), revoked: false }]);
    expect(index.byKeyHash(sha('tg_c'))?.consumer.groups).toEqual(['gold']);

    // Changed: new groups and custom id, the subject and declared key dropped.
    const [changed] = consumers(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: carol }
spec: { customId: c-2, groups: [silver] }
`) as [Resource];
    index.applyConsumers([{ name: 'carol', resource: changed as never }]);
    expect(index.byCustomId('c-1')).toBeUndefined();
    expect(index.byCustomId('c-2')?.groups).toEqual(['silver']);
    expect(index.bySubject('https://idp', 'carol')).toBeUndefined();
    expect(index.byKeyHash(sha('tg_carol'))).toBeUndefined();
    // The admin-created key stays, authenticating as the changed identity.
    expect(index.byKeyHash(sha('tg_c'))?.consumer).toBe(index.byName('carol'));
    expect(index.byKeyHash(sha('tg_c'))?.consumer.groups).toEqual(['silver']);

    // Deleted: gone with its keys; the other consumers are untouched.
    index.applyConsumers([{ name: 'carol', resource: null }]);
    expect(index.byName('carol')).toBeUndefined();
    expect(index.byCustomId('c-2')).toBeUndefined();
    expect(index.byKeyHash(sha('tg_c'))).toBeUndefined();
    expect(index.byKeyHash(sha('tg_a'))?.consumer.name).toBe('acme');
    expect(index.size).toBe(2);
    // A key of a consumer that is gone is skipped.
    index.applyKeys([{ id: 'key_z', consumer: 'carol', hash: sha('tg_z'), revoked: false }]);
    expect(index.byKeyHash(sha('tg_z'))).toBeUndefined();
  });

  it('a value two consumers claim authenticates nobody until one of them lets go of it', () => {
    const claim = (name: string, customId: string) =>
      (consumers(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: ${name} }
spec: { customId: ${customId}, keys: [{ name: k, hash: "${sha('tg_shared')}" }] }
`)[0] as never);
    const index = new IdentityIndex(TWO);
    index.applyConsumers([{ name: 'x', resource: claim('x', 'same') }, { name: 'y', resource: claim('y', 'same') }]);
    expect(index.byCustomId('same')).toBeUndefined();
    expect(index.byKeyHash(sha('tg_shared'))).toBeUndefined();
    index.applyConsumers([{ name: 'y', resource: null }]);
    expect(index.byCustomId('same')?.name).toBe('x');
    expect(index.byKeyHash(sha('tg_shared'))?.keyId).toBe('x/k');
    expect(() => IdentityIndex.EMPTY.applyConsumers([])).toThrow(/never changed/);
  });
});
