import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AccessLog, RequestState, type SessionLine } from './access-log.js';
import { ACCESS_FLUSH_BYTES, ACCESS_FLUSH_MS, AccessLineSink } from './access-line-sink.js';

/** A destination that keeps what it is given; with `flushSync` it looks like SonicBoom (batched). */
function capture(sonic: boolean): { chunks: string[]; stream: { write(s: string): boolean; flushSync?(): void } } {
  const chunks: string[] = [];
  const stream = { write: (s: string): boolean => (chunks.push(s), true), ...(sonic ? { flushSync: (): void => undefined } : {}) };
  return { chunks, stream };
}

/** The gateway's logger shape: base bindings, a child's, a fixed clock so lines compare exactly. */
function logger(stream: { write(s: string): unknown }, extra: pino.LoggerOptions = {}): Logger {
  return pino({ base: { service: 'tollgate' }, timestamp: () => ',"time":1700000000000', ...extra }, stream).child({ component: 'gateway' });
}

const request = (over: Partial<{ id: string; method: string; url: string; host: string; remote: string }> = {}): FastifyRequest =>
  ({ id: over.id ?? 'r1', raw: { method: over.method ?? 'GET', url: over.url ?? '/x', headers: { host: over.host, 'x-team': 'a"b', authorization: 'Bearer s3cret' }, socket: { bytesWritten: 1500, remoteAddress: over.remote } } }) as unknown as FastifyRequest;
const reply = { statusCode: 200, elapsedTime: 0 } as unknown as FastifyReply;

describe('AccessLineSink', () => {
  it('writes the line pino writes for the same fields, byte for byte, over awkward values', () => {
    const fast = capture(false);
    const ref = capture(false);
    const refLogger = logger(ref.stream);
    const log = new AccessLog(logger(fast.stream), { logQuery: true, sensitiveParams: ['token'], logHeaders: ['x-team', 'authorization'], apiVersions: { current: new Map([['pets', 'v2']]) } });
    const states: Array<RequestState | null> = [
      Object.assign(new RequestState(), { path: '/a"b\\c', host: 'h.example', hostName: 'h.example', api: 'pets', route: 'r0', target: 'http://10.0.0.1:80', clientIp: '1.2.3.4', consumer: 'ünïcode ✓', bytesIn: 12, writtenAtStart: 500, upstreamMs: 1.23456, query: 'a=1&token=x', errorCode: null }),
      Object.assign(new RequestState(), { path: '/ctl\u0001\u001f', host: '', api: null, clientIp: '', writtenAtStart: 0, upstreamMs: null, errorCode: 'NO_ROUTE', aborted: 'client' as const }),
      Object.assign(new RequestState(), { path: '/x', host: 'h', api: 'unknown-version', route: null, upstreamMs: Number.NaN, aborted: 'upstream' as const, errorCode: 'UPSTREAM_RESET' }),
      null,
    ];
    for (const [i, state] of states.entries()) {
      const req = request({ id: `id-${i}`, host: i === 3 ? undefined : 'h', remote: i === 3 ? undefined : '9.9.9.9', url: '/raw?q=1' });
      log.write(req, reply, state, 200 + i, 10.123456);
      const latencyMs = 10.123;
      const upstreamMs = state?.upstreamMs != null ? Math.round(state.upstreamMs * 1000) / 1000 : null;
      // The object the access log handed pino before this sink (kept here as the reference).
      const line: Record<string, unknown> = {
        type: 'access', requestId: `id-${i}`, method: 'GET', path: state !== null ? state.path : '/raw', host: state !== null ? state.host : undefined,
        status: 200 + i, clientIp: state?.clientIp ?? undefined, traceId: null, consumer: state?.consumer ?? null, api: state?.api ?? null,
        apiVersion: state?.api != null ? (state.api === 'pets' ? 'v2' : null) : null, route: state?.route ?? null, upstream: state?.target ?? null,
        bytesIn: state?.bytesIn ?? 0, bytesOut: state !== null ? 1500 - state.writtenAtStart : null, latencyMs, upstreamMs,
        gatewayMs: Math.max(0, Math.round((latencyMs - (upstreamMs ?? 0)) * 1000) / 1000),
        headers: { 'x-team': 'a"b', authorization: '[REDACTED]' },
      };
      if (state?.errorCode) line.code = state.errorCode;
      if (state != null && state.aborted !== null) line.aborted = state.aborted;
      if (state?.query) line.query = 'a=1&token=[REDACTED]';
      refLogger.info(line);
    }
    expect(fast.chunks).toHaveLength(4);
    expect(fast.chunks).toEqual(ref.chunks);
    for (const c of fast.chunks) expect(() => JSON.parse(c) as unknown).not.toThrow();
  });

  it('keeps route members per route and follows the target, the API versions and the clock', () => {
    const fast = capture(false);
    const ref = capture(false);
    // pino's default epoch time: the sink keeps the start of a line per millisecond.
    const now = vi.spyOn(Date, 'now').mockReturnValue(1700000000123);
    try {
      const make = (stream: { write(s: string): unknown }): Logger => pino({ base: { service: 'tollgate' } }, stream).child({ component: 'gateway' });
      const versions: { current: ReadonlyMap<string, string> } = { current: new Map([['pets', 'v1'], ['cats', 'c"1']]) };
      const log = new AccessLog(make(fast.stream), { logQuery: false, sensitiveParams: [], apiVersions: versions });
      const refLogger = make(ref.stream);
      const steps: Array<{ api: string | null; route: string | null; target: string | null; at: number; install?: ReadonlyMap<string, string> }> = [
        { api: 'pets', route: 'r"0', target: 'http://10.0.0.1:80', at: 1700000000123 },
        { api: 'pets', route: 'r"0', target: 'http://10.0.0.2:80', at: 1700000000123 },
        { api: 'cats', route: 'r"0', target: 'http://10.0.0.2:80', at: 1700000000124 },
        { api: null, route: null, target: null, at: 1700000000124 },
        { api: 'pets', route: 'r"0', target: 'http://10.0.0.2:80', at: 1700000000125, install: new Map([['pets', 'v2']]) },
        { api: 'cats', route: 'r"0', target: null, at: 1700000000125 },
      ];
      for (const [i, step] of steps.entries()) {
        if (step.install !== undefined) versions.current = step.install;
        now.mockReturnValue(step.at);
        const state = Object.assign(new RequestState(), { path: '/p', host: 'h', api: step.api, route: step.route, target: step.target, clientIp: '1.2.3.4', upstreamMs: 1 });
        log.write(request({ id: `s${i}` }), reply, state, 200, 2);
        const apiVersion = step.api !== null ? (versions.current.get(step.api) ?? null) : null;
        refLogger.info({ type: 'access', requestId: `s${i}`, method: 'GET', path: '/p', host: 'h', status: 200, clientIp: '1.2.3.4', traceId: null, consumer: null, api: step.api, apiVersion, route: step.route, upstream: step.target, bytesIn: 0, bytesOut: 1500, latencyMs: 2, upstreamMs: 1, gatewayMs: 1 });
      }
      expect(fast.chunks).toEqual(ref.chunks);
      expect(fast.chunks[4]).toContain('"apiVersion":"v2"');
      expect(fast.chunks[5]).toContain('"apiVersion":null');
    } finally {
      now.mockRestore();
    }
  });

  it('writes a WebSocket session line as pino did', () => {
    const fast = capture(false);
    const ref = capture(false);
    const log = new AccessLog(logger(fast.stream), { logQuery: true, sensitiveParams: ['key'], apiVersions: { current: new Map([['chat', '1']]) } });
    const session: SessionLine = { requestId: 'w1', path: '/ws', host: undefined, status: 101, clientIp: '::1', consumer: 'c"1', api: 'chat', route: 'r', upstream: 'ws://u', bytesIn: 5, bytesOut: 7, latencyMs: 2.0004, code: null, query: 'key=k&x=1', aborted: true };
    log.writeSession(session);
    logger(ref.stream).info({ type: 'access', websocket: true, requestId: 'w1', method: 'GET', path: '/ws', host: undefined, status: 101, clientIp: '::1', traceId: null, consumer: 'c"1', api: 'chat', apiVersion: '1', route: 'r', upstream: 'ws://u', bytesIn: 5, bytesOut: 7, latencyMs: 2, aborted: 'client', query: 'key=[REDACTED]&x=1' });
    expect(fast.chunks).toEqual(ref.chunks);
  });

  it('writes WebSocket session lines in a pinned format, also between request lines of the same route', () => {
    const fast = capture(false);
    const log = new AccessLog(logger(fast.stream), { logQuery: true, sensitiveParams: ['key'], logHeaders: ['x-team'], apiVersions: { current: new Map([['chat', 'v"1']]) } });
    const session = (over: Partial<SessionLine>): SessionLine => ({ requestId: 'w1', path: '/ws', host: 'h.example', status: 101, clientIp: '10.0.0.9', consumer: null, api: 'chat', route: 'r', upstream: 'ws://u1', bytesIn: 5, bytesOut: 7, latencyMs: 2.0004, code: null, query: null, ...over });
    const http = (): void => log.write(request({ id: 'h1' }), reply, Object.assign(new RequestState(), { path: '/p', host: 'h', api: 'chat', route: 'r', target: 'http://u9', clientIp: '1.2.3.4', upstreamMs: 1 }), 200, 2);
    const head = '{"level":30,"time":1700000000000,"service":"tollgate","component":"gateway","type":"access"';
    log.writeSession(session({}));
    http();
    log.writeSession(session({ requestId: 'w2', path: '/a"b\u0001', host: undefined, clientIp: '::1', consumer: 'ünï"c', upstream: 'ws://u2', latencyMs: 1234.5678, code: 'CLIENT_ABORTED', aborted: true, query: 'key=k&x=1' }));
    http();
    // A handshake refused before routing; an empty query is written as such.
    log.writeSession(session({ requestId: 'w3', status: 404, api: null, route: null, upstream: null, bytesIn: 0, bytesOut: 120, latencyMs: 0.0004, code: 'NO_ROUTE', query: '', aborted: false }));
    log.writeSession(session({ requestId: 'w4', api: 'other', latencyMs: 12, query: 'a=1' }));
    new AccessLog(logger(fast.stream), { logQuery: false, sensitiveParams: [] }).writeSession(session({ requestId: 'w5', query: 'key=k' }));
    // A request's line leaves an empty query (`/p?`) out, unlike a session's.
    log.write(request({ id: 'h1' }), reply, Object.assign(new RequestState(), { path: '/p', host: 'h', api: 'chat', route: 'r', target: 'http://u9', clientIp: '1.2.3.4', upstreamMs: 1, query: '' }), 200, 2);
    const httpLine = `${head},"requestId":"h1","method":"GET","path":"/p","host":"h","status":200,"clientIp":"1.2.3.4","traceId":null,"consumer":null,"api":"chat","apiVersion":"v\\"1","route":"r","upstream":"http://u9","bytesIn":0,"bytesOut":1500,"latencyMs":2,"upstreamMs":1,"gatewayMs":1,"headers":{"x-team":"a\\"b"}}\n`;
    expect(fast.chunks).toEqual([
      `${head},"websocket":true,"requestId":"w1","method":"GET","path":"/ws","host":"h.example","status":101,"clientIp":"10.0.0.9","traceId":null,"consumer":null,"api":"chat","apiVersion":"v\\"1","route":"r","upstream":"ws://u1","bytesIn":5,"bytesOut":7,"latencyMs":2}\n`,
      httpLine,
      `${head},"websocket":true,"requestId":"w2","method":"GET","path":"/a\\"b\\u0001","status":101,"clientIp":"::1","traceId":null,"consumer":"ünï\\"c","api":"chat","apiVersion":"v\\"1","route":"r","upstream":"ws://u2","bytesIn":5,"bytesOut":7,"latencyMs":1234.568,"code":"CLIENT_ABORTED","aborted":"client","query":"key=[REDACTED]&x=1"}\n`,
      httpLine,
      `${head},"websocket":true,"requestId":"w3","method":"GET","path":"/ws","host":"h.example","status":404,"clientIp":"10.0.0.9","traceId":null,"consumer":null,"api":null,"apiVersion":null,"route":null,"upstream":null,"bytesIn":0,"bytesOut":120,"latencyMs":0,"code":"NO_ROUTE","query":""}\n`,
      `${head},"websocket":true,"requestId":"w4","method":"GET","path":"/ws","host":"h.example","status":101,"clientIp":"10.0.0.9","traceId":null,"consumer":null,"api":"other","apiVersion":null,"route":"r","upstream":"ws://u1","bytesIn":5,"bytesOut":7,"latencyMs":12,"query":"a=1"}\n`,
      `${head},"websocket":true,"requestId":"w5","method":"GET","path":"/ws","host":"h.example","status":101,"clientIp":"10.0.0.9","traceId":null,"consumer":null,"api":"chat","apiVersion":null,"route":"r","upstream":"ws://u1","bytesIn":5,"bytesOut":7,"latencyMs":2}\n`,
      httpLine,
    ]);
  });

  it('hands an asynchronous destination one chunk per flush interval, none synchronously', async () => {
    const dest = capture(true);
    const log = new AccessLog(logger(dest.stream), { logQuery: false, sensitiveParams: [] });
    for (let i = 0; i < 5; i++) {
      log.write(request({ id: `b${i}` }), reply, new RequestState(), 200, 1);
      await new Promise((r) => setImmediate(r));
    }
    expect(dest.chunks).toHaveLength(0);
    await new Promise((r) => setTimeout(r, ACCESS_FLUSH_MS + 5));
    expect(dest.chunks).toHaveLength(1);
    expect(dest.chunks[0]?.trimEnd().split('\n').map((l) => (JSON.parse(l) as { requestId: string }).requestId)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    log.write(request({ id: 'later' }), reply, new RequestState(), 200, 1);
    log.flush();
    expect(dest.chunks).toHaveLength(2);
  });

  it('hands a batch over at once when it reaches the byte bound', () => {
    const dest = capture(true);
    const log = new AccessLog(logger(dest.stream), { logQuery: false, sensitiveParams: [] });
    const long = '/p'.repeat(2000);
    let written = 0;
    while (dest.chunks.length === 0) {
      log.write(request({ id: `n${written++}` }), reply, Object.assign(new RequestState(), { path: long }), 200, 1);
    }
    expect(dest.chunks[0]?.length).toBeGreaterThanOrEqual(ACCESS_FLUSH_BYTES);
    expect(dest.chunks[0]?.trimEnd().split('\n')).toHaveLength(written);
    log.flush();
  });

  it('leaves loggers whose lines it cannot reproduce to pino (formatter, redaction, mixin, hooks)', () => {
    for (const extra of [{ formatters: { log: (o: Record<string, unknown>) => ({ ...o, x: 1 }) } }, { redact: ['path'] }, { mixin: () => ({ m: 1 }) }, { hooks: { logMethod(this: Logger, args: Parameters<Logger['info']>, method: Logger['info']) { method.apply(this, args); } } }] as pino.LoggerOptions[]) {
      const dest = capture(false);
      const l = logger(dest.stream, extra);
      expect(AccessLineSink.of(l)).toBeNull();
      new AccessLog(l, { logQuery: false, sensitiveParams: [] }).write(request(), reply, Object.assign(new RequestState(), { path: '/p' }), 200, 1);
      expect(dest.chunks).toHaveLength(1);
      expect(JSON.parse(dest.chunks[0] ?? '')).toMatchObject({ type: 'access', status: 200 });
    }
  });

  const dir = mkdtempSync(join(tmpdir(), 'access-line-sink-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('writes the lines of the last turn when the process exits in it', () => {
    const file = join(dir, 'access.log');
    const sink = fileURLToPath(new URL('../dist/access-log.js', import.meta.url));
    // A child process: lines written, then process.exit() before the turn ends.
    const script = `
      import { pino } from 'pino';
      import { AccessLog, RequestState } from ${JSON.stringify(sink)};
      const logger = pino({ base: null }, pino.destination({ dest: ${JSON.stringify(file)}, sync: false }));
      const log = new AccessLog(logger, { logQuery: false, sensitiveParams: [] });
      logger[pino.symbols.streamSym].once('ready', () => {
        for (let i = 0; i < 3; i++) log.write({ id: 'e' + i, raw: { method: 'GET', url: '/', headers: {}, socket: {} } }, { statusCode: 204, elapsedTime: 0 }, new RequestState(), 204, 1);
        process.exit(0);
      });`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
    const ids = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { requestId: string }).requestId);
    expect(ids).toEqual(['e0', 'e1', 'e2']);
  });
});
