import { describe, expect, it } from 'vitest';
import { normalizePath, PathError, splitTarget, type PathErrorCode } from './normalize-path.js';

describe('normalizePath', () => {
  const ok: Array<[string, string]> = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    ['//x', '/x'],
    ['/a//b///c', '/a/b/c'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/%2E%2e/b', '/b'],
    ['/a/.%2e/b', '/b'],
    ['/a/%2e/b', '/a/b'],
    ['/../../etc', '/etc'],
    ['/..', '/'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/%7E', '/~'],
    ['/%7euser', '/~user'],
    ['/%41%62%30-%5F', '/Ab0-_'],
    ['/a%20b', '/a%20b'],
    ['/a%3fb', '/a%3Fb'],
    ['/%25', '/%25'],
    ['/%252e%252e', '/%252e%252e'],
    ['/.well-known/x', '/.well-known/x'],
    ['/a..b/c', '/a..b/c'],
    ['a/b', '/a/b'],
    ['', '/'],
  ];
  it.each(ok)('%s -> %s', (raw, want) => {
    expect(normalizePath(raw)).toBe(want);
  });

  const bad: Array<[string, PathErrorCode]> = [
    ['/a/..%2fb', 'ENCODED_SLASH'],
    ['/a%2Fb', 'ENCODED_SLASH'],
    ['/%5c', 'BACKSLASH'],
    ['/%5C..%5C', 'BACKSLASH'],
    ['/a\\b', 'BACKSLASH'],
    ['/a%00', 'NUL'],
    ['/a\0b', 'NUL'],
    ['/a%', 'INVALID_PERCENT_ENCODING'],
    ['/a%2', 'INVALID_PERCENT_ENCODING'],
    ['/a%zz', 'INVALID_PERCENT_ENCODING'],
    ['/a%g0', 'INVALID_PERCENT_ENCODING'],
  ];
  it.each(bad)('%s is refused with %s', (raw, code) => {
    let caught: unknown;
    try {
      normalizePath(raw);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PathError);
    expect((caught as PathError).code).toBe(code);
  });

  it('returns the same string for an already-normal path (fast path)', () => {
    const p = '/api/v1/users/42';
    expect(normalizePath(p)).toBe(p);
  });
});

describe('splitTarget', () => {
  it.each([
    ['/a?b=1', '/a', 'b=1'],
    ['/a', '/a', null],
    ['/a?', '/a', ''],
    ['/a?x=1#frag', '/a', 'x=1'],
    ['/a#frag', '/a', null],
    ['http://example.com/p/q?z', '/p/q', 'z'],
    ['http://example.com', '/', null],
    ['http://example.com?x', '/', 'x'],
    ['?x', '/', 'x'],
  ] as const)('%s', (url, path, query) => {
    expect(splitTarget(url)).toEqual({ path, query });
  });
});
