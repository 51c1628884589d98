import { describe, expect, it } from 'vitest';
import { redactUrl } from './log-redaction.js';

describe('redactUrl', () => {
  it('keeps paths without a query as they are', () => {
    expect(redactUrl('/config')).toBe('/config');
    expect(redactUrl('/config?')).toBe('/config?');
  });

  it('replaces every value and keeps plain names', () => {
    expect(redactUrl('/config?token=abc&dryRun=true')).toBe('/config?token=[REDACTED]&dryRun=[REDACTED]');
    expect(redactUrl('/x?a=1=2&b=')).toBe('/x?a=[REDACTED]&b=');
    expect(redactUrl('/x?a=1&&b=2')).toBe('/x?a=[REDACTED]&&b=[REDACTED]');
  });

  it('redacts a part without "=" and implausible names, which may be pasted values', () => {
    expect(redactUrl('/config?tgadm_0123456789abcdef')).toBe('/config?[REDACTED]');
    expect(redactUrl(`/x?${'k'.repeat(65)}=v`)).toBe('/x?[REDACTED]=[REDACTED]');
    expect(redactUrl('/x?Bearer%20abc=v')).toBe('/x?[REDACTED]=[REDACTED]');
  });
});
