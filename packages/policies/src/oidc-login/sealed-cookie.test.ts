import { describe, expect, it } from 'vitest';
import { readCookie, SealedCookie, withoutCookies } from './sealed-cookie.js';

describe('SealedCookie', () => {
  const secret = 'session-secret-0123456789-abcdefghijkl';

  it('opens what it sealed; the text reveals nothing of the value', () => {
    const s = new SealedCookie(secret, 'oidc session');
    const text = s.seal({ sub: 'alice', at: 'token-123' });
    expect(Buffer.from(text, 'base64url').toString('latin1')).not.toContain('alice');
    expect(s.open(text)).toEqual({ sub: 'alice', at: 'token-123' });
    // A fresh IV per seal: the same value never seals to the same text.
    expect(s.seal({ sub: 'alice' })).not.toBe(s.seal({ sub: 'alice' }));
  });

  it('refuses an altered text, another secret and another purpose', () => {
    const s = new SealedCookie(secret, 'oidc session');
    const text = s.seal({ sub: 'alice' });
    const raw = Buffer.from(text, 'base64url');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(s.open(raw.toString('base64url'))).toBeNull();
    expect(new SealedCookie('another-secret-0123456789-abcdefghijkl', 'oidc session').open(text)).toBeNull();
    // The login-state cookie cannot be replayed as a session (HKDF info differs).
    expect(new SealedCookie(secret, 'oidc login').open(text)).toBeNull();
    expect(s.open('short')).toBeNull();
  });
});

describe('cookie header helpers', () => {
  it('reads one cookie and removes the gateway ones from what the upstream gets', () => {
    const h = 'a=1; tg_session=XYZ; b=2; tg_session_login=Q';
    expect(readCookie(h, 'tg_session')).toBe('XYZ');
    expect(readCookie(h, 'missing')).toBeUndefined();
    expect(withoutCookies(h, new Set(['tg_session', 'tg_session_login']))).toBe('a=1; b=2');
    expect(withoutCookies('tg_session=XYZ', new Set(['tg_session']))).toBeNull();
  });
});
