import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { bodyText } from './body-text.js';

const request = (contentType: string) => ({ headers: { 'content-type': contentType } }) as unknown as FastifyRequest;

describe('bodyText', () => {
  it('decodes UTF-8 (declared or not, US-ASCII included) and drops a leading BOM', () => {
    expect(bodyText(request('application/json'), Buffer.from('{"a":"café"}'))).toBe('{"a":"café"}');
    expect(bodyText(request('application/json; charset=UTF-8'), Buffer.from('[]'))).toBe('[]');
    expect(bodyText(request('application/yaml;charset="utf8"'), Buffer.from('a: 1'))).toBe('a: 1');
    expect(bodyText(request('application/json; charset=us-ascii'), Buffer.from('{}'))).toBe('{}');
    expect(bodyText(request('application/json'), Buffer.from('\uFEFF{}'))).toBe('{}');
  });

  it('refuses another charset with 415 and bytes that are not UTF-8 with 400, instead of storing U+FFFD', () => {
    expect(() => bodyText(request('application/json; charset=iso-8859-1'), Buffer.from('{}'))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_MEDIA_TYPE' }));
    expect(() => bodyText(request('application/json; charset=utf-16'), Buffer.from('{}'))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_MEDIA_TYPE' }));
    expect(() => bodyText(request('application/json'), Buffer.from('{"a":"café"}', 'latin1'))).toThrow(expect.objectContaining({ code: 'INVALID_BODY' }));
    expect(() => bodyText(request('application/yaml'), Buffer.from([0x61, 0x3a, 0x20, 0xc3]))).toThrow(expect.objectContaining({ code: 'INVALID_BODY' }));
  });
});
