import { describe, expect, it } from 'vitest';
import { currentAge, notModified, usable } from './index.js';
import type { CacheEntry } from './store.js';

const e = (over: Partial<CacheEntry> = {}): CacheEntry => ({ status: 200, headers: {}, body: Buffer.alloc(0), storedAt: 10_000, initialAge: 3, lifetime: 60, vary: {}, ...over });
const rules = { noStore: false, noCache: false, maxAge: undefined, minFresh: undefined, onlyIfCached: false };

describe('stored response use', () => {
  it('age = initial age + whole seconds stored (RFC 9111 §4.2.3)', () => {
    expect(currentAge(e(), 10_000)).toBe(3);
    expect(currentAge(e(), 12_999)).toBe(5);
  });
  it('fresh while age < lifetime; request max-age and min-fresh narrow it', () => {
    expect(usable(e(), rules, 10_000)).toBe(true);
    expect(usable(e(), rules, 10_000 + 57_000)).toBe(false);
    expect(usable(e(), { ...rules, maxAge: 2 }, 10_000)).toBe(false);
    expect(usable(e(), { ...rules, minFresh: 58 }, 10_000)).toBe(false);
    expect(usable(e(), { ...rules, minFresh: 57 }, 10_000)).toBe(true);
  });
  it('conditional requests: If-None-Match (weak comparison, *), else If-Modified-Since', () => {
    const h = { etag: 'W/"a"', 'last-modified': 'Thu, 01 Jan 2026 00:00:00 GMT' };
    expect(notModified(h, { 'if-none-match': '"a"' })).toBe(true);
    expect(notModified(h, { 'if-none-match': '"b", W/"a"' })).toBe(true);
    expect(notModified(h, { 'if-none-match': '*' })).toBe(true);
    expect(notModified(h, { 'if-none-match': '"b"', 'if-modified-since': 'Fri, 02 Jan 2026 00:00:00 GMT' })).toBe(false);
    expect(notModified(h, { 'if-modified-since': 'Fri, 02 Jan 2026 00:00:00 GMT' })).toBe(true);
    expect(notModified(h, { 'if-modified-since': 'Wed, 31 Dec 2025 00:00:00 GMT' })).toBe(false);
    expect(notModified({}, {})).toBe(false);
  });
});
