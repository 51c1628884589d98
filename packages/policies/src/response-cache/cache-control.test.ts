import { describe, expect, it } from 'vitest';
import { deltaSeconds, initialAge, parseCacheControl, requestRules, responseVerdict, type VerdictInput } from './cache-control.js';

const base: VerdictInput = { status: 200, headers: {}, statuses: new Set([200, 301, 404]), defaultTtl: 60, honour: true, authorization: false, keyedPerCaller: false, now: Date.parse('2026-01-01T00:00:00Z') };
const verdict = (over: Partial<VerdictInput>) => responseVerdict({ ...base, ...over });

describe('Cache-Control parsing (RFC 9111 §5.2)', () => {
  it('reads tokens, arguments, quoted strings with commas, case-insensitive names, several fields', () => {
    const d = parseCacheControl(['Max-Age=60, private="set-cookie, x-a"', 'no-cache,  S-MAXAGE = 5']);
    expect(d.get('max-age')).toBe('60');
    expect(d.get('private')).toBe('set-cookie, x-a');
    expect(d.get('no-cache')).toBe(true);
    expect(d.get('s-maxage')).toBe('5');
  });
  it('keeps the first of a duplicated directive and skips junk', () => {
    const d = parseCacheControl('max-age=10, max-age=99, , =x, bad name');
    expect(d.get('max-age')).toBe('10');
    expect(d.has('')).toBe(false);
    expect(d.has('bad name')).toBe(false);
  });
  it('delta-seconds: digits only, capped at 2^31', () => {
    expect(deltaSeconds('42')).toBe(42);
    expect(deltaSeconds('-1')).toBeUndefined();
    expect(deltaSeconds('1.5')).toBeUndefined();
    expect(deltaSeconds(true)).toBeUndefined();
    expect(deltaSeconds('99999999999999')).toBe(2_147_483_648);
  });
});

describe('request directives (RFC 9111 §5.2.1)', () => {
  it('no-store, no-cache, max-age, min-fresh, only-if-cached', () => {
    const r = requestRules('no-store, no-cache, max-age=5, min-fresh=2, only-if-cached', undefined);
    expect(r).toEqual({ noStore: true, noCache: true, maxAge: 5, minFresh: 2, onlyIfCached: true });
  });
  it('Pragma: no-cache counts only without Cache-Control (§5.4)', () => {
    expect(requestRules(undefined, 'no-cache').noCache).toBe(true);
    expect(requestRules('max-age=1', 'no-cache').noCache).toBe(false);
  });
});

describe('storability and freshness of a response', () => {
  it('uses the default TTL without explicit freshness, and refuses other statuses', () => {
    expect(verdict({})).toMatchObject({ storable: true, lifetime: 60 });
    expect(verdict({ status: 500 }).storable).toBe(false);
  });
  it('s-maxage wins over max-age, which wins over Expires', () => {
    expect(verdict({ headers: { 'cache-control': 'max-age=10, s-maxage=20' } }).lifetime).toBe(20);
    expect(verdict({ headers: { 'cache-control': 'max-age=10', expires: 'Thu, 01 Jan 2026 01:00:00 GMT' } }).lifetime).toBe(10);
    expect(verdict({ headers: { expires: 'Thu, 01 Jan 2026 00:00:30 GMT', date: 'Thu, 01 Jan 2026 00:00:00 GMT' } }).lifetime).toBe(30);
  });
  it('never stores no-store, no-cache, max-age=0, an invalid Expires, Set-Cookie or Vary: *', () => {
    for (const headers of [{ 'cache-control': 'no-store' }, { 'cache-control': 'no-cache' }, { 'cache-control': 'max-age=0' }, { expires: '0' }, { 'set-cookie': 'a=b' }, { vary: 'Accept, *' }]) {
      expect(verdict({ headers }).storable, JSON.stringify(headers)).toBe(false);
    }
  });
  it('private only when keyed per caller', () => {
    expect(verdict({ headers: { 'cache-control': 'private, max-age=9' } }).storable).toBe(false);
    expect(verdict({ headers: { 'cache-control': 'private, max-age=9' }, keyedPerCaller: true })).toMatchObject({ storable: true, lifetime: 9 });
  });
  it('Authorization requests need public, s-maxage or must-revalidate, or a per-caller key (§3.5)', () => {
    expect(verdict({ authorization: true }).storable).toBe(false);
    expect(verdict({ authorization: true, headers: { 'cache-control': 'public' } }).storable).toBe(true);
    expect(verdict({ authorization: true, headers: { 'cache-control': 's-maxage=5' } }).storable).toBe(true);
    expect(verdict({ authorization: true, keyedPerCaller: true }).storable).toBe(true);
  });
  it('cacheControl off: every cacheable status for the TTL, but never no-store or private (a shared cache must not, §5.2.2.5, §5.2.2.7)', () => {
    expect(verdict({ honour: false, headers: { 'cache-control': 'no-cache, max-age=0' } })).toMatchObject({ storable: true, lifetime: 60 });
    expect(verdict({ honour: false, headers: { 'cache-control': 'no-store' } }).storable).toBe(false);
    expect(verdict({ honour: false, headers: { 'cache-control': 'private' } }).storable).toBe(false);
    expect(verdict({ honour: false, headers: { 'cache-control': 'private' }, keyedPerCaller: true }).storable).toBe(true);
    expect(verdict({ honour: false, headers: { 'set-cookie': 'a=b' } }).storable).toBe(false);
  });
  it('shared: public, s-maxage or must-revalidate, and not private (§3.5)', () => {
    expect(verdict({}).shared).toBe(false);
    for (const cc of ['public', 's-maxage=5', 'must-revalidate, max-age=5', 'Public, max-age=5']) expect(verdict({ headers: { 'cache-control': cc } }).shared, cc).toBe(true);
    expect(verdict({ headers: { 'cache-control': 'public, private' }, keyedPerCaller: true }).shared).toBe(false);
    expect(verdict({ honour: false, headers: { 'cache-control': 'public' } }).shared).toBe(true);
  });
  it('Vary on a field the gateway sets per request is never stored (the client\'s value is not what the upstream saw)', () => {
    for (const vary of ['X-Forwarded-For', 'accept, x-real-ip', 'Forwarded', 'x-request-id', 'traceparent']) expect(verdict({ headers: { vary } }).storable, vary).toBe(false);
    expect(verdict({ headers: { vary: 'Accept-Encoding, X-Forwarded-Proto' } }).storable).toBe(true);
  });
  it('initial age: the Age header, or how old Date is (with one second of slack)', () => {
    const now = base.now;
    expect(initialAge({ age: '7' }, now)).toBe(7);
    expect(initialAge({ date: new Date(now - 500).toUTCString() }, now)).toBe(0);
    expect(initialAge({ date: new Date(now - 10_000).toUTCString() }, now)).toBe(9);
  });
});
