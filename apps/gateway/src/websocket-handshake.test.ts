import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { acceptFor, clientHandshakeRefusal, upstreamHandshakeRefusal } from './websocket-handshake.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function req(headers: Record<string, string>, method = 'GET', minor = 1): IncomingMessage {
  return { method, httpVersionMajor: 1, httpVersionMinor: minor, headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': KEY, 'sec-websocket-version': '13', ...headers } } as unknown as IncomingMessage;
}

describe('acceptFor', () => {
  it('is the RFC 6455 §1.3 example value', () => {
    expect(acceptFor(KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});

describe('clientHandshakeRefusal', () => {
  it('accepts a valid opening handshake (case-insensitive Upgrade, Connection listing upgrade among others)', () => {
    expect(clientHandshakeRefusal(req({}))).toBeNull();
    expect(clientHandshakeRefusal(req({ upgrade: 'WebSocket', connection: 'keep-alive, Upgrade' }))).toBeNull();
    expect(clientHandshakeRefusal(req({ 'content-length': '0' }))).toBeNull();
  });
  it.each([
    ['POST', req({}, 'POST')],
    ['h2c', req({ upgrade: 'h2c' })],
    ['two protocols', req({ upgrade: 'websocket, h2c' })],
    ['HTTP/1.0', req({}, 'GET', 0)],
    ['no Connection: upgrade', req({ connection: 'keep-alive' })],
    ['a short key', req({ 'sec-websocket-key': 'c2hvcnQ=' })],
    ['two keys (joined by Node)', req({ 'sec-websocket-key': `${KEY}, ${KEY}` })],
    ['a body', req({ 'content-length': '5' })],
    ['a chunked body', req({ 'transfer-encoding': 'chunked' })],
  ])('refuses %s', (_what, r) => {
    const out = clientHandshakeRefusal(r);
    expect(out).not.toBeNull();
    expect(out?.version).toBe(false);
  });
  it('asks for Sec-WebSocket-Version: 13 when the version is missing or other', () => {
    const r = req({});
    delete r.headers['sec-websocket-version'];
    expect(clientHandshakeRefusal(r)?.version).toBe(true);
    expect(clientHandshakeRefusal(req({ 'sec-websocket-version': '8' }))?.version).toBe(true);
    expect(clientHandshakeRefusal(req({ 'sec-websocket-version': '13, 13' }))?.version).toBe(true);
  });
});

describe('upstreamHandshakeRefusal', () => {
  const ok = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': acceptFor(KEY) };
  it('accepts a 101 that completes the handshake', () => {
    expect(upstreamHandshakeRefusal(101, ok, KEY)).toBeNull();
    expect(upstreamHandshakeRefusal(101, { ...ok, upgrade: 'WebSocket', connection: 'upgrade, keep-alive' }, KEY)).toBeNull();
  });
  it.each([
    ['a 200', 200, ok],
    ['no Upgrade', 101, { ...ok, upgrade: undefined }],
    ['Upgrade: h2c', 101, { ...ok, upgrade: 'h2c' }],
    ['no Connection: upgrade', 101, { ...ok, connection: 'keep-alive' }],
    ['no accept', 101, { ...ok, 'sec-websocket-accept': undefined }],
    ['the accept of another key', 101, { ...ok, 'sec-websocket-accept': acceptFor('AAAAAAAAAAAAAAAAAAAAAA==') }],
  ])('refuses %s', (_what, status, headers) => {
    expect(upstreamHandshakeRefusal(status, headers, KEY)).toEqual(expect.any(String));
  });
});
