import { describe, expect, it } from 'vitest';
import { parseHost, targetAuthority } from './host.js';

describe('parseHost', () => {
  it.each([
    ['api.example.com', 'api.example.com'],
    ['API.Example.COM', 'api.example.com'],
    ['api.example.com:8443', 'api.example.com'],
    ['api.example.com.', 'api.example.com'],
    ['API.example.com.:80', 'api.example.com'],
    ['h:', 'h'],
    ['under_score.internal', 'under_score.internal'],
    ['10.0.0.1:80', '10.0.0.1'],
    ['[::1]', '[::1]'],
    ['[2001:DB8::1]:8080', '[2001:db8::1]'],
    ['[::ffff:10.0.0.1]', '[::ffff:10.0.0.1]'],
    ['', ''],
  ])('%j -> %j', (value, want) => expect(parseHost(value)).toBe(want));

  it.each([
    'a@b',
    'user:pw@h',
    'h:80x',
    'h:80:81',
    'h:65536',
    'h:123456',
    'h x',
    'h\tx',
    'h\u00e9',
    'h%2e',
    'h/x',
    'h?x',
    'h#x',
    'a..b',
    '.a',
    '.',
    'a,b',
    'h;x',
    '[::1',
    '[]',
    '[::1]x',
    '[::1]:8x',
    '[g::1]',
    ':80',
    `${'a'.repeat(300)}`,
  ])('refuses %j', (value) => expect(parseHost(value)).toBeNull());
});

describe('targetAuthority', () => {
  it.each([
    ['/x', null],
    ['*', null],
    ['http://a.example/x', 'a.example'],
    ['HTTPS://a.example:8443?q', 'a.example:8443'],
    ['http://u@a.example/x', 'u@a.example'],
    ['http://a.example#f', 'a.example'],
    ['http:///x', ''],
    ['1http://a/x', null],
    ['h:80/x', null],
  ])('%j -> %j', (url, want) => expect(targetAuthority(url)).toBe(want));
});
