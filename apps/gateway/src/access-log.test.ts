import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AccessLog } from './access-log.js';

describe('AccessLog.redactQuery', () => {
  const log = new AccessLog(pino({ enabled: false }), { logQuery: true, sensitiveParams: ['token', 'api_key'] });
  it('redacts values of sensitive parameters only, matching names case-insensitively and decoded', () => {
    expect(log.redactQuery('a=1&token=s3cret&API_KEY=k&b')).toBe('a=1&token=[REDACTED]&API_KEY=[REDACTED]&b');
    expect(log.redactQuery('api%5Fkey=x&q=token')).toBe('api%5Fkey=[REDACTED]&q=token');
  });
});
