import { describe, expect, it } from 'vitest';
import { hashDeclaredKeys, hashDeclaredPasswords } from './consumer.js';
import { parseResourcesYaml } from './parse.js';
import { hashPassword, hashPasswordSync, parsePasswordHash, verifyPassword } from './password-hash.js';

const consumer = (basicAuth: unknown[]) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: 'acme' }, spec: { basicAuth } });

describe('password hashes (scrypt)', () => {
  it('hashes with a fresh salt and verifies only the right password', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse'), hashPassword('correct horse')]);
    expect(a).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct');
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horse', hashPasswordSync('correct horse'))).toBe(true);
    expect(await verifyPassword('correct hors', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('compares NFC-normalized passwords (RFC 7613 OpaqueString)', async () => {
    expect(await verifyPassword('cafe\u0301-pass', await hashPassword('caf\u00e9-pass'))).toBe(true);
  });

  it('matches nothing against a malformed hash or one asking for an unbounded cost', async () => {
    expect(await verifyPassword('x', 'plain')).toBe(false);
    expect(parsePasswordHash('$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
  });

  it('replaces a declared password by its hash, keeping a stored hash the password still matches', async () => {
    const first = await hashDeclaredPasswords(consumer([{ username: 'alice', password: 'alice-password' }, { username: 'bob', password: 'bob-password' }]));
    const stored = (first.spec as { basicAuth: Array<{ passwordHash: string }> }).basicAuth;
    expect(JSON.stringify(first)).not.toContain('-password');
    // Re-applying the same YAML keeps both hashes (unchanged); a changed password gets a new one.
    const again = await hashDeclaredPasswords(consumer([{ username: 'alice', password: 'alice-password' }, { username: 'bob', password: 'bob-changed!' }]), first);
    const now = (again.spec as { basicAuth: Array<{ passwordHash: string }> }).basicAuth;
    expect(now[0]?.passwordHash).toBe(stored[0]?.passwordHash);
    expect(now[1]?.passwordHash).not.toBe(stored[1]?.passwordHash);
    expect(await verifyPassword('bob-changed!', now[1]?.passwordHash ?? '')).toBe(true);
  });

  it('hashDeclaredKeys (the store’s last resort) never lets a plaintext password through', () => {
    const out = hashDeclaredKeys(consumer([{ username: 'alice', password: 'alice-password' }]));
    expect(JSON.stringify(out)).not.toContain('alice-password');
    expect((out.spec as { basicAuth: Array<{ passwordHash: string }> }).basicAuth[0]?.passwordHash).toMatch(/^\$scrypt\$/);
  });

  it('validates credentials: no colon in user names, unique names, exactly one of password or hash', () => {
    const bad = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec:
  basicAuth:
    - { username: "a:b", password: "long-enough" }
    - { username: carol, password: "long-enough" }
    - { username: carol, password: "long-enough" }
    - { username: dave }
`);
    expect(bad.ok).toBe(false);
    const paths = bad.ok ? [] : bad.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['spec.basicAuth[0].username', 'spec.basicAuth[2].username', 'spec.basicAuth[3].password']));
  });
});
