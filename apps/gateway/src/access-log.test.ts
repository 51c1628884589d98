import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AccessLog, msMember, RequestState } from './access-log.js';

describe('AccessLog.redactQuery', () => {
  const log = new AccessLog(pino({ enabled: false }), { logQuery: true, sensitiveParams: ['token', 'api_key'] });
  it('redacts values of sensitive parameters only, matching names case-insensitively and decoded', () => {
    expect(log.redactQuery('a=1&token=s3cret&API_KEY=k&b')).toBe('a=1&token=[REDACTED]&API_KEY=[REDACTED]&b');
    expect(log.redactQuery('api%5Fkey=x&q=token')).toBe('api%5Fkey=[REDACTED]&q=token');
  });
});

describe('AccessLog.write', () => {
  it('writes the status given and flags a response cut short', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = new AccessLog({ info: (l: Record<string, unknown>) => lines.push(l), isLevelEnabled: () => true } as unknown as ConstructorParameters<typeof AccessLog>[0], { logQuery: false, sensitiveParams: [] });
    const request = { id: 'r1', raw: { method: 'GET', url: '/x', headers: {}, socket: { bytesWritten: 1500 } } } as unknown as FastifyRequest;
    const reply = { statusCode: 200, elapsedTime: 0 } as unknown as FastifyReply;
    const aborted = Object.assign(new RequestState(), { writtenAtStart: 500, aborted: 'client', errorCode: 'CLIENT_ABORTED' });
    log.write(request, reply, aborted, 499, 12.5);
    log.write(request, reply, Object.assign(new RequestState(), { writtenAtStart: 500 }), 200, 3);
    expect(lines[0]).toMatchObject({ status: 499, aborted: 'client', code: 'CLIENT_ABORTED', bytesOut: 1000, latencyMs: 12.5 });
    expect(lines[1]).toMatchObject({ status: 200, latencyMs: 3 });
    expect(lines[1]?.aborted).toBeUndefined();
  });

  it('builds no line when the logger would drop it (level above info)', () => {
    let built = 0;
    const log = new AccessLog({ info: () => built++, isLevelEnabled: (l: string) => l !== 'info' } as unknown as ConstructorParameters<typeof AccessLog>[0], { logQuery: false, sensitiveParams: [] });
    const request = { id: 'r1', raw: { method: 'GET', url: '/x', headers: {}, socket: { bytesWritten: 0 } } } as unknown as FastifyRequest;
    log.write(request, { statusCode: 200, elapsedTime: 0 } as unknown as FastifyReply, new RequestState(), 200, 1);
    log.writeSession({ requestId: 'r2', path: '/ws', host: 'h', status: 101, clientIp: '1.2.3.4', consumer: null, api: 'a', route: 'r', upstream: null, bytesIn: 0, bytesOut: 0, latencyMs: 1, code: null, query: null });
    expect(built).toBe(0);
  });
});

describe('msMember', () => {
  const ms = (v: number): number => Math.round(v * 1000) / 1000;
  it('writes a rounded duration exactly as String does', () => {
    const values = [0, 0.0004, 0.0005, 0.001, 0.01, 0.1, 0.5, 1, 1.5, 2.25, 9.999, 10, 12.345, 99.9996, 1000.01, 123456.789, 2147483.647, 2147483.648, 1e7 + 0.123, Number.MAX_SAFE_INTEGER / 1000];
    let seed = 42;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      values.push((seed / 0x7fffffff) * (i % 3 === 0 ? 10 : i % 3 === 1 ? 1000 : 100_000));
    }
    for (const v of values) expect(msMember('latencyMs', ms(v))).toBe(`,"latencyMs":${String(ms(v))}`);
  });
  it('writes null and non-finite values as num does', () => {
    expect(msMember('upstreamMs', null)).toBe(',"upstreamMs":null');
    expect(msMember('x', Number.NaN)).toBe(',"x":null');
    expect(msMember('x', Number.POSITIVE_INFINITY)).toBe(',"x":null');
    expect(msMember('x', -1.5)).toBe(',"x":-1.5');
  });
});
