import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { BadHost, requestHost } from './request-host.js';

/** The parts of an IncomingMessage requestHost reads, as Node fills them (only the first Host in `headers`). */
function req(url: string, hostLines: string[][]): IncomingMessage {
  const first = hostLines.find(([n]) => n?.toLowerCase() === 'host');
  return { url, rawHeaders: hostLines.flat(), headers: first === undefined ? {} : { host: first[1] } } as unknown as IncomingMessage;
}

describe('requestHost', () => {
  it('normalizes a valid Host', () => {
    expect(requestHost(req('/x', [['Host', 'API.Example.com.:8443']]))).toBe('api.example.com');
    expect(requestHost(req('/x', []))).toBe('');
  });

  it('refuses more than one Host line, in any case', () => {
    expect(requestHost(req('/x', [['Host', 'a'], ['hOST', 'a']]))).toBeInstanceOf(BadHost);
  });

  it('refuses invalid values', () => {
    for (const h of ['a@b', 'h:80x', 'h:80:81', 'a b']) expect(requestHost(req('/x', [['Host', h]]))).toBeInstanceOf(BadHost);
  });

  it('takes an absolute-form authority over Host and writes it into headers.host', () => {
    const r = req('http://ADMIN.example.com:8080/x', [['Host', 'www.example.com']]);
    expect(requestHost(r)).toBe('admin.example.com');
    expect(r.headers.host).toBe('ADMIN.example.com:8080');
  });

  it('refuses userinfo or an empty authority in the target', () => {
    for (const url of ['http://u@a/x', 'http:///x']) expect(requestHost(req(url, [['Host', 'a']]))).toBeInstanceOf(BadHost);
  });
});
