import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, connectionListed, firstInvalidHeader, pickRequestId, setForwardedHeaders, upstreamRequestHeaders } from './headers.js';

describe('connectionListed', () => {
  it('is null for plain connection options and parses listed names case-insensitively', () => {
    expect(connectionListed(undefined)).toBeNull();
    expect(connectionListed('keep-alive')).toBeNull();
    expect(connectionListed('close')).toBeNull();
    expect(connectionListed('X-Foo, keep-alive , ,x-bar')).toEqual(new Set(['x-foo', 'keep-alive', 'x-bar']));
  });
});

describe('upstreamRequestHeaders', () => {
  const incoming = {
    host: 'h',
    connection: 'x-foo, x-forwarded-for',
    'x-foo': '1',
    te: 'trailers',
    'transfer-encoding': 'chunked',
    upgrade: 'websocket',
    'keep-alive': 'timeout=5',
    'proxy-connection': 'keep-alive',
    'proxy-authorization': 'Basic x',
    expect: '100-continue',
    'x-request-id': 'client',
    'x-forwarded-for': '6.6.6.6',
    'x-forwarded-host': 'evil',
    forwarded: 'for=6.6.6.6',
    authorization: 'Bearer t',
    accept: 'application/json',
    'set-cookie': ['a', 'b'],
  };

  it('drops hop-by-hop, Connection-listed, host, expect, request id and untrusted forwarding fields', () => {
    expect(upstreamRequestHeaders(incoming, false)).toEqual({ authorization: 'Bearer t', accept: 'application/json', 'set-cookie': ['a', 'b'] });
  });

  it('leaves out the fields the access policies removed, in the same pass', () => {
    expect(upstreamRequestHeaders(incoming, false, false, ['authorization', 'set-cookie'])).toEqual({ accept: 'application/json' });
    expect(upstreamRequestHeaders(incoming, false, false, [])).toEqual({ authorization: 'Bearer t', accept: 'application/json', 'set-cookie': ['a', 'b'] });
  });

  it('drops method and URL override fields unless the route forwards them', () => {
    const overrides = { 'x-http-method-override': 'DELETE', 'x-http-method': 'PUT', 'x-method-override': 'PATCH', 'x-original-url': '/admin', 'x-rewrite-url': '/admin', accept: 'a' };
    expect(upstreamRequestHeaders(overrides, false)).toEqual({ accept: 'a' });
    expect(upstreamRequestHeaders(overrides, true)).toEqual({ accept: 'a' });
    expect(upstreamRequestHeaders(overrides, false, true)).toEqual(overrides);
  });

  it('keeps forwarding fields from a trusted peer unless Connection lists them', () => {
    const out = upstreamRequestHeaders(incoming, true);
    expect(out['x-forwarded-host']).toBe('evil');
    expect(out.forwarded).toBe('for=6.6.6.6');
    expect(out['x-forwarded-for']).toBeUndefined();
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop and Connection-listed response fields', () => {
    expect(
      clientResponseHeaders({ connection: 'x-internal', 'x-internal': 's', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'proxy-authenticate': 'Basic', trailer: 'x', 'content-type': 'text/plain', 'set-cookie': ['a'] }),
    ).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a'] });
  });
});

describe('pickRequestId', () => {
  it('keeps valid ids and generates otherwise', () => {
    expect(pickRequestId('abc-1.2_3:4')).toBe('abc-1.2_3:4');
    expect(pickRequestId('a'.repeat(128))).toBe('a'.repeat(128));
    for (const bad of ['', 'a'.repeat(129), 'a b', 'x\u00e9', 'a/b', ['x', 'y'], undefined]) {
      expect(pickRequestId(bad as string | undefined)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
  });
});

describe('setForwardedHeaders', () => {
  const incoming = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' };

  it('continues a trusted proxy\'s chain, scheme and host', () => {
    const out: Record<string, string | string[] | undefined> = {};
    setForwardedHeaders(out, incoming, true, '10.0.0.2', false, 'internal:8000');
    expect(out).toEqual({ 'x-forwarded-for': '203.0.113.7, 10.0.0.2', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' });
  });

  it('replaces what an untrusted client sent with the gateway\'s own view', () => {
    const out: Record<string, string | string[] | undefined> = { 'x-forwarded-for': 'spoofed' };
    setForwardedHeaders(out, incoming, false, '198.51.100.9', true, 'gw.example.com');
    expect(out).toEqual({ 'x-forwarded-for': '198.51.100.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'gw.example.com' });
    setForwardedHeaders(out, {}, false, '198.51.100.9', false, 'gw.example.com');
    expect(out['x-forwarded-proto']).toBe('http');
  });
});

describe('firstInvalidHeader', () => {
  it('names the first field whose value (or one of its values) is no RFC 9110 field value', () => {
    expect(firstInvalidHeader({ a: 'x', b: ['caf\u00e9', 'tab\there'], c: undefined })).toBeNull();
    for (const bad of ['a\r\nX: y', 'a\nb', 'a\rb', 'a\u0000b', 'a\u0001b', 'a\u007fb', '\u20ac']) {
      expect(firstInvalidHeader({ ok: 'x', bad })).toBe('bad');
      expect(firstInvalidHeader({ ok: 'x', list: ['fine', bad] })).toBe('list');
    }
  });
});
