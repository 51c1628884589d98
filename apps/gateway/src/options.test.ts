import { describe, expect, it } from 'vitest';
import { DEFAULT_GATEWAY_OPTIONS, resolveOptions } from './options.js';
import { problemJson, problemType } from './problem.js';

describe('resolveOptions', () => {
  it('fills defaults and keeps given values', () => {
    const o = resolveOptions({ maxBodyBytes: 5, trustedProxies: ['10.0.0.0/8'], configPollMs: undefined });
    expect(o.maxBodyBytes).toBe(5);
    expect(o.configPollMs).toBe(DEFAULT_GATEWAY_OPTIONS.configPollMs);
    expect(o.maxBodyBytes).not.toBe(DEFAULT_GATEWAY_OPTIONS.maxBodyBytes);
    expect(DEFAULT_GATEWAY_OPTIONS.maxBodyBytes).toBe(10 * 1024 * 1024);
    expect(DEFAULT_GATEWAY_OPTIONS.requestTimeoutMs).toBe(60_000);
  });

  it('keeps headersTimeout within requestTimeout, as Node requires', () => {
    expect(resolveOptions({ requestTimeoutMs: 1000, headersTimeoutMs: 5000 }).headersTimeoutMs).toBe(1000);
  });
});

describe('problem', () => {
  it('builds RFC 9457 bodies with a kebab-case type', () => {
    expect(problemType('UPSTREAM_TIMEOUT')).toBe('https://tollgate.dev/errors/upstream-timeout');
    expect(JSON.parse(problemJson(504, 'UPSTREAM_TIMEOUT', 'Upstream timed out', 'd', 'rid'))).toEqual({
      type: 'https://tollgate.dev/errors/upstream-timeout',
      title: 'Upstream timed out',
      status: 504,
      code: 'UPSTREAM_TIMEOUT',
      detail: 'd',
      requestId: 'rid',
    });
  });
});
