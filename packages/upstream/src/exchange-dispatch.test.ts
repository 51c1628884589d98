import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpstreamError } from './errors.js';
import { ExchangeList, type PickFailure, type UpstreamTarget } from './exchange.js';
import { dispatchExchange, responseHeaderObject, type DispatchExchange, type ResponseSink } from './exchange-dispatch.js';
import { TargetState } from './target-state.js';
import { UpstreamRuntime } from './upstream-runtime.js';

function upstream(pool: Dispatcher, origin: string, consecutiveErrors = 100): { rt: UpstreamRuntime<UpstreamTarget>; t: UpstreamTarget } {
  const t: UpstreamTarget = { origin, host: new URL(origin).host, pool, state: new TargetState('u', origin) };
  const outlier = { consecutiveErrors, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 100 };
  const rt = new UpstreamRuntime<UpstreamTarget>({ name: 'u', algorithm: 'round-robin', hashOn: null, subsets: {}, outlier, maxInflightPerTarget: 5 }, [{ value: t, weight: 1 }]);
  return { rt, t };
}
const pick = { headers: {}, clientIp: '10.0.0.1', query: null };

/** A sink that records what reaches the client side; `accept` decides each data() answer. */
class Recorder implements ResponseSink {
  status = 0;
  headers: IncomingHttpHeaders = {};
  chunks: string[] = [];
  ended = false;
  bodyError: UpstreamError | null = null;
  failure: { err: UpstreamError | PickFailure; tries: number } | null = null;
  resume: (() => void) | null = null;
  accept = true;
  readonly done: Promise<void>;
  #settle!: () => void;
  constructor() {
    this.done = new Promise((r) => (this.#settle = r));
  }
  start(status: number, rawHeaders: readonly Buffer[]): void {
    this.status = status;
    this.headers = responseHeaderObject(rawHeaders);
  }
  data(chunk: Buffer): boolean {
    this.chunks.push(chunk.toString());
    return this.accept;
  }
  end(): void {
    this.ended = true;
    this.#settle();
  }
  bodyFailed(err: UpstreamError): void {
    this.bodyError = err;
    this.#settle();
  }
  failed(err: UpstreamError | PickFailure, tries: number): void {
    this.failure = { err, tries };
    this.#settle();
  }
  onResume(resume: () => void): void {
    this.resume = resume;
  }
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('dispatchExchange', () => {
  let server: Server;
  let origin = '';
  const pools: Pool[] = [];
  const pool = (o: string): Pool => {
    const p = new Pool(o);
    pools.push(p);
    return p;
  };
  let hits: string[] = [];
  let release: (() => void) | null = null;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url} ${req.headers.host}`);
      if (req.url === '/503') {
        res.statusCode = 503;
        return res.end('no');
      }
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2_000);
      if (req.url === '/held') {
        // One chunk, then the rest only when the test says so.
        res.write('a');
        release = () => res.end('bc');
        return;
      }
      res.setHeader('x-up', '1');
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.destroy()));
    await new Promise((r) => server.close(r));
  });

  const base = (rt: UpstreamRuntime<UpstreamTarget>, path: string, owner: ExchangeList | null): DispatchExchange => ({
    destination: { upstream: 'u', target: rt, subset: null },
    pick,
    method: 'GET',
    path,
    headers: {},
    fixedHost: null,
    body: null,
    timeoutMs: undefined,
    retries: null,
    mirror: null,
    onTry: () => undefined,
    owner,
  });

  it('delivers status, headers and body to the sink and releases the target when the body ends', async () => {
    const { rt, t } = upstream(pool(origin), origin);
    const sink = new Recorder();
    dispatchExchange(base(rt, '/ok', new ExchangeList()), sink);
    expect(t.state.inflight).toBe(1);
    await sink.done;
    expect(sink.status).toBe(200);
    expect(sink.headers['x-up']).toBe('1');
    expect(sink.chunks.join('')).toBe('ok');
    expect(sink.ended).toBe(true);
    expect(t.state.inflight).toBe(0);
  });

  it('retries a retriable status (each try released), delivers the last one, and sends one mirror copy', async () => {
    hits = [];
    const { rt, t } = upstream(pool(origin), origin);
    const shadow = upstream(pool(origin), origin);
    const retries = { attempts: 2, perTryTimeoutMs: undefined, onConnectFailure: true, onReset: true, statuses: new Set([503]), allowNonIdempotent: false };
    const sink = new Recorder();
    dispatchExchange({ ...base(rt, '/503', null), retries, mirror: { destination: { upstream: 's', target: shadow.rt, subset: null }, host: 'client.example' } }, sink);
    await sink.done;
    expect(sink.status).toBe(503);
    expect(sink.chunks.join('')).toBe('no');
    expect(t.state.inflight).toBe(0);
    await until(() => shadow.t.state.inflight === 0 && hits.length === 4);
    expect(hits.filter((h) => h.endsWith('client.example-shadow'))).toHaveLength(1);
    expect(hits.filter((h) => !h.endsWith('-shadow'))).toHaveLength(3);
  });

  it('a refused connection fails with UPSTREAM_UNAVAILABLE and a failure verdict', async () => {
    const dead = 'http://127.0.0.1:1';
    const { rt, t } = upstream(pool(dead), dead, 1);
    const sink = new Recorder();
    dispatchExchange(base(rt, '/', null), sink);
    await sink.done;
    expect(sink.failure?.err).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(t.state.inflight).toBe(0);
    expect(t.state.ejectedUntil).toBeGreaterThan(0);
  });

  it('answers UPSTREAM_TIMEOUT at the route deadline on a native timer', async () => {
    const { rt, t } = upstream(pool(origin), origin);
    const sink = new Recorder();
    const started = performance.now();
    dispatchExchange({ ...base(rt, '/slow', null), timeoutMs: 150 }, sink);
    await sink.done;
    expect(sink.failure?.err).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(t.state.inflight).toBe(0);
  });

  it('pauses while the sink is full and resumes when told; the owner ending it cuts the request', async () => {
    const { rt, t } = upstream(pool(origin), origin);
    const sink = new Recorder();
    sink.accept = false;
    dispatchExchange(base(rt, '/held', null), sink);
    await until(() => sink.chunks.length === 1);
    expect(sink.resume).not.toBeNull();
    release?.();
    // Paused: the rest is sent but not delivered until the sink asks for more.
    await new Promise((r) => setTimeout(r, 150));
    expect(sink.chunks).toEqual(['a']);
    sink.accept = true;
    sink.resume?.();
    await sink.done;
    expect(sink.chunks.join('')).toBe('abc');
    expect(t.state.inflight).toBe(0);

    // A client gone mid-body: the owner's end releases the target and aborts the dispatch.
    const owner = new ExchangeList();
    const cut = new Recorder();
    dispatchExchange(base(rt, '/held', owner), cut);
    await until(() => cut.chunks.length === 1);
    // A sink that never refused a chunk was never asked for a resume callback (no listener per response).
    expect(cut.resume).toBeNull();
    expect(t.state.inflight).toBe(1);
    owner.endAll();
    expect(t.state.inflight).toBe(0);
    await cut.done;
    expect(cut.ended).toBe(false);
    expect(cut.bodyError).toMatchObject({ code: 'CLIENT_ABORTED' });
    release?.();
  });
});
