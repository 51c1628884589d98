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

describe('REDIS_URL', () => {
  it('names one server, a Redis Cluster or a Sentinel-monitored primary', () => {
    expect(loadSettings({ REDIS_URL: 'redis://127.0.0.1:6379/2' }).REDIS_URL).toBe('redis://127.0.0.1:6379/2');
    expect(loadSettings({ REDIS_URL: 'redis+cluster://10.0.0.1:7000,10.0.0.2:7000' }).REDIS_URL).toBe('redis+cluster://10.0.0.1:7000,10.0.0.2:7000');
    expect(loadSettings({ REDIS_URL: 'rediss+sentinel://:pw@s1:26379,s2:26379/mymaster' }).REDIS_URL).toBe('rediss+sentinel://:pw@s1:26379,s2:26379/mymaster');
  });

  it('refuses unknown schemes, a sentinel URL without the primary name and a cluster database', () => {
    expect(() => loadSettings({ REDIS_URL: 'memcached://x' })).toThrow(/REDIS_URL: must start with/);
    expect(() => loadSettings({ REDIS_URL: 'redis+sentinel://s1:26379' })).toThrow(/REDIS_URL: .*primary name/);
    expect(() => loadSettings({ REDIS_URL: 'redis+cluster://h1:7000/3' })).toThrow(/REDIS_URL: .*only database 0/);
  });
});

describe('WORKERS', () => {
  it('defaults to 1, takes a count or auto (one per CPU), refuses anything else', async () => {
    const { availableParallelism } = await import('node:os');
    expect(loadSettings({}).WORKERS).toBe(1);
    expect(loadSettings({ WORKERS: '4' }).WORKERS).toBe(4);
    expect(loadSettings({ WORKERS: 'auto' }).WORKERS).toBe(availableParallelism());
    for (const bad of ['0', '-1', 'two', '1.5', '257']) expect(() => loadSettings({ WORKERS: bad })).toThrow('WORKERS');
  });
});

describe('DNS_SERVERS', () => {
  it('takes addresses with optional ports and refuses names', () => {
    expect(loadSettings({ DNS_SERVERS: '10.96.0.10, 127.0.0.1:5353,[::1]:53,::1' }).DNS_SERVERS).toEqual(['10.96.0.10', '127.0.0.1:5353', '[::1]:53', '::1']);
    for (const bad of ['dns.example.com', '10.0.0.1:99999', '[::1']) expect(() => loadSettings({ DNS_SERVERS: bad })).toThrow('DNS_SERVERS');
  });
});

describe('Redis key prefix', () => {
  it('defaults to tollgate: and takes REDIS_KEY_PREFIX (not empty)', () => {
    expect(loadSettings({}).REDIS_KEY_PREFIX).toBe('tollgate:');
    expect(loadSettings({ REDIS_KEY_PREFIX: 'staging:' }).REDIS_KEY_PREFIX).toBe('staging:');
    expect(() => loadSettings({ REDIS_KEY_PREFIX: '' })).toThrow(/REDIS_KEY_PREFIX/);
  });

  it('refuses a brace in REDIS_KEY_PREFIX or CACHE_KEY_PREFIX (it would replace the keys\' hash tags on Redis Cluster)', () => {
    for (const name of ['REDIS_KEY_PREFIX', 'CACHE_KEY_PREFIX']) {
      for (const bad of ['t{}:', '{t}:', 't{', 't}']) {
        expect(() => loadSettings({ [name]: bad })).toThrow(new RegExp(`${name}: must not contain "\\{" or "\\}"`));
      }
    }
    expect(loadSettings({ CACHE_KEY_PREFIX: 'staging:cache:' }).CACHE_KEY_PREFIX).toBe('staging:cache:');
  });
});

describe('EVENT_RETENTION_MS', () => {
  it('defaults to 30 days, takes a longer or shorter value down to one day, and names a bad one', () => {
    expect(loadSettings({}).EVENT_RETENTION_MS).toBe(30 * 86_400_000);
    expect(loadSettings({ EVENT_RETENTION_MS: '86400000' }).EVENT_RETENTION_MS).toBe(86_400_000);
    expect(() => loadSettings({ EVENT_RETENTION_MS: '3600000' })).toThrow('EVENT_RETENTION_MS: must be at least 86400000 (1 day)');
    expect(() => loadSettings({ EVENT_RETENTION_MS: '30d' })).toThrow(/EVENT_RETENTION_MS/);
  });
});
