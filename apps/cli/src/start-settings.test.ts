import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSettings } from './start-settings.js';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secret = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('secrets from *_FILE (Docker / Kubernetes secrets)', () => {
  it('reads ADMIN_TOKEN_FILE, DATABASE_URL_FILE and REDIS_URL_FILE, dropping one trailing newline', () => {
    const s = loadSettings({
      ADMIN_TOKEN_FILE: secret('token', 'tgadm_0123456789abcdef\n'),
      DATABASE_URL_FILE: secret('db', 'postgres://u:p%40ss@db:5432/tollgate\r\n'),
      REDIS_URL_FILE: secret('redis', 'redis://:pw@redis:6379'),
    });
    expect(s.ADMIN_TOKEN).toBe('tgadm_0123456789abcdef');
    expect(s.DATABASE_URL).toBe('postgres://u:p%40ss@db:5432/tollgate');
    expect(s.REDIS_URL).toBe('redis://:pw@redis:6379');
    // A token from a file counts as an operator-chosen token for the admin bind address.
    expect(s.adminHost).toBe('0.0.0.0');
  });

  it('refuses both forms of one variable, and names an unreadable file', () => {
    expect(() => loadSettings({ ADMIN_TOKEN: 'tgadm_0123456789abcdef', ADMIN_TOKEN_FILE: secret('t2', 'tgadm_fedcba9876543210') })).toThrow('ADMIN_TOKEN_FILE: set ADMIN_TOKEN or ADMIN_TOKEN_FILE, not both');
    expect(() => loadSettings({ DATABASE_URL_FILE: join(dir, 'missing') })).toThrow(/DATABASE_URL_FILE: cannot read .*missing \(ENOENT\)/);
  });

  it('validates the value read from a file like the variable itself', () => {
    expect(() => loadSettings({ ADMIN_TOKEN_FILE: secret('short', 'short\n') })).toThrow('ADMIN_TOKEN: must be at least 16 characters');
    expect(() => loadSettings({ DATABASE_URL_FILE: secret('bad', 'mysql://x') })).toThrow('DATABASE_URL: must start with');
  });
});

describe('admin size limits', () => {
  it('default to 5 MiB and 10,000 documents, and take ADMIN_BODY_LIMIT_BYTES / ADMIN_MAX_DOCUMENTS', () => {
    const d = loadSettings({});
    expect(d.ADMIN_BODY_LIMIT_BYTES).toBe(5 * 1024 * 1024);
    expect(d.ADMIN_MAX_DOCUMENTS).toBe(10_000);
    const s = loadSettings({ ADMIN_BODY_LIMIT_BYTES: '33554432', ADMIN_MAX_DOCUMENTS: '20000' });
    expect(s.ADMIN_BODY_LIMIT_BYTES).toBe(32 * 1024 * 1024);
    expect(s.ADMIN_MAX_DOCUMENTS).toBe(20_000);
    expect(() => loadSettings({ ADMIN_MAX_DOCUMENTS: '0' })).toThrow(/ADMIN_MAX_DOCUMENTS/);
  });
});

describe('Redis key prefix', () => {
  it('defaults to tollgate: and takes REDIS_KEY_PREFIX (not empty)', () => {
    expect(loadSettings({}).REDIS_KEY_PREFIX).toBe('tollgate:');
    expect(loadSettings({ REDIS_KEY_PREFIX: 'staging:' }).REDIS_KEY_PREFIX).toBe('staging:');
    expect(() => loadSettings({ REDIS_KEY_PREFIX: '' })).toThrow(/REDIS_KEY_PREFIX/);
  });
});
