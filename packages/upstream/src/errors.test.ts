import { describe, expect, it } from 'vitest';
import { errors } from 'undici';
import { BodyTooLargeError, classifyUpstreamError, countsAgainstTarget, UpstreamError } from './errors.js';

describe('classifyUpstreamError / countsAgainstTarget', () => {
  it('a request the HTTP client refuses to send is INVALID_UPSTREAM_REQUEST (500) and never counts against the target', () => {
    for (const err of [new errors.InvalidArgumentError('invalid x-a header'), Object.assign(new TypeError('Invalid character in header content ["x-a"]'), { code: 'ERR_INVALID_CHAR' }), Object.assign(new TypeError('bad value'), { code: 'ERR_HTTP_INVALID_HEADER_VALUE' })]) {
      const e = classifyUpstreamError(err);
      expect(e.code).toBe('INVALID_UPSTREAM_REQUEST');
      expect(e.status).toBe(500);
      expect(countsAgainstTarget(e)).toBe(false);
    }
  });

  it('a body over the limit and a client that went away do not count; refused, reset and timed-out connections do', () => {
    expect(countsAgainstTarget(classifyUpstreamError(new Error('x', { cause: new BodyTooLargeError(10) })))).toBe(false);
    expect(countsAgainstTarget(classifyUpstreamError(new errors.RequestAbortedError()))).toBe(false);
    expect(countsAgainstTarget(classifyUpstreamError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })))).toBe(true);
    expect(countsAgainstTarget(classifyUpstreamError(new errors.SocketError('reset')))).toBe(true);
    expect(countsAgainstTarget(classifyUpstreamError(new errors.HeadersTimeoutError()))).toBe(true);
    expect(countsAgainstTarget(new UpstreamError('UPSTREAM_TIMEOUT', 'deadline'))).toBe(true);
  });
});
