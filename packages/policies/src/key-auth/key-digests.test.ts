import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import { IdentityIndex } from '../identity/index.js';
import { keyAuth } from './index.js';
import { cachedKeyDigests } from './key-digests.js';
import { keyAuthSchema } from './schema.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const KEY = 'tg_cached_key_0123456789abcdefghij';

describe('key digests cache', () => {
  it('gives the SHA-256 and the credential name, the same object for a key seen recently, bounded by max', () => {
    const d = cachedKeyDigests(2);
    const a = d.digest('a-key');
    expect(a).toEqual({ hash: sha('a-key'), credential: `key:${sha('a-key').slice(0, 16)}` });
    expect(d.digest('a-key')).toBe(a);
    d.digest('b-key');
    d.digest('c-key'); // evicts a-key (least recently used)
    const again = d.digest('a-key');
    expect(again).not.toBe(a);
    expect(again).toEqual(a);
  });

  it('key-auth reads the current index on every request: a key it just accepted fails once the index drops it', () => {
    // The index resolves admin-created keys through their consumer.
    const acme = [{ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: 'acme' }, spec: { groups: [], keys: [], jwtSubjects: [] } } as never];
    const identity = { current: new IdentityIndex(acme, [{ id: 'key_1', consumer: 'acme', hash: sha(KEY) }]) };
    const policy = keyAuth.build(keyAuthSchema.parse({}), { logger: { warn() {}, error() {} }, identity });
    const call = () => {
      const c = new RequestContext('r', '127.0.0.1', 'GET', '/', { apikey: KEY }, 'a', 'r', null);
      return { reply: policy.access?.(c), consumer: c.consumer?.name ?? null };
    };
    expect(call()).toEqual({ reply: undefined, consumer: 'acme' });
    expect(call()).toEqual({ reply: undefined, consumer: 'acme' });
    identity.current = new IdentityIndex(acme, []); // key_1 revoked

    const refused = call();
    expect(refused.consumer).toBeNull();
    expect(refused.reply).toMatchObject({ status: 401 });
  });
});
