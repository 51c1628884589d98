import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import type { CompiledAggregate, CompiledAggregateBackend } from '@tollgate/compiler';
import { INVALID_HEADER_VALUE, invalidHeaderProblem, isFieldValue, type RequestContext } from '@tollgate/policies';
import { classifyUpstreamError, countsAgainstTarget, Exchange, type Destination as RuntimeDestination, type PickRequest } from '@tollgate/upstream';
import type { Dispatcher } from 'undici';
import type { ProxyReply } from '../reply.js';
import type { Logger } from 'pino';
import type { RequestState } from '../access-log.js';
import { setForwardedHeaders } from '../headers.js';
import { problemJson } from '../problem.js';
import { applyHeaderOps, type HeaderOps } from '../header-ops.js';
import { injectTrace } from '../tracing.js';
import { BodyOverLimitError, readBodyCapped } from './read-body.js';
import { combine, shapeBody, type Part } from './shape.js';
import { render, TemplateValues } from './template.js';

/** Answer headers naming an incomplete aggregate. */
export const PARTIAL_HEADER = 'x-tollgate-partial';
export const MISSING_HEADER = 'x-tollgate-missing';

/** Stable codes of aggregate failures (problem+json `code`). */
export { AGGREGATE_ERRORS } from './errors.js';
import { AGGREGATE_ERRORS } from './errors.js';

/** A backend with its upstream resolved for the hot path. */
export interface RuntimeAggregateBackend extends CompiledAggregateBackend {
  readonly destination: RuntimeDestination;
  /** Backends whose responses its templates read: if one is missing, so is this backend. */
  readonly needs: readonly string[];
  /** Header templates over request data only, rendered and checked before any backend is called; `literal` ones were checked at apply. */
  readonly requestHeaders: ReadonlyArray<HeaderTemplate>;
  /** Header templates that read a backend response (`{resp...}`), rendered when the backend starts. */
  readonly responseHeaders: ReadonlyArray<HeaderTemplate>;
}

/** A backend header: name, template, and whether it is literal text (checked at apply, never per request). */
type HeaderTemplate = readonly [name: string, template: CompiledAggregateBackend['headers'][number][1], literal: boolean];

function headerTemplates(b: CompiledAggregateBackend, fromResponses: boolean): HeaderTemplate[] {
  return b.headers
    .filter(([, t]) => t.parts.some((p) => 'source' in p && p.source === 'resp') === fromResponses)
    .map(([k, t]) => [k, t, t.parts.every((p) => 'text' in p)] as const);
}

/** Names of the backends a backend's templates read with `{resp.<name>...}`. */
function needsOf(b: CompiledAggregateBackend): string[] {
  const names = new Set<string>();
  for (const t of [b.path, ...b.query.map((q) => q[1]), ...b.headers.map((h) => h[1])]) for (const p of t.parts) if ('source' in p && p.source === 'resp') names.add(p.backend);
  return [...names];
}

/** An aggregate action as the gateway runs it (built once per snapshot). */
export interface RuntimeAggregate {
  readonly budgetMs: number;
  readonly partial: 200 | 502;
  readonly maxBodyBytes: number;
  readonly backends: readonly RuntimeAggregateBackend[];
}

/** Resolves the backends' upstreams; `dest` throws for an upstream missing from the snapshot. */
export function buildAggregate(a: CompiledAggregate, dest: (upstream: string, subset: string | null) => RuntimeDestination): RuntimeAggregate {
  return Object.freeze({
    budgetMs: a.budgetMs,
    partial: a.partial,
    maxBodyBytes: a.maxBodyBytes,
    backends: Object.freeze(a.backends.map((b) => Object.freeze({ ...b, destination: dest(b.upstream, b.subset), needs: Object.freeze(needsOf(b)), requestHeaders: Object.freeze(headerTemplates(b, false)), responseHeaders: Object.freeze(headerTemplates(b, true)) }))),
  });
}

/** What the proxy hands over for one request. */
export interface AggregateRequest {
  readonly reply: ProxyReply;
  readonly state: RequestState;
  /** The policy context (consumer, headers set by auth policies), or null when the route has no policies. */
  readonly ctx: RequestContext | null;
  readonly captures: Readonly<Record<string, string>> | null;
  /** The query after access policies (credentials removed). */
  readonly query: string | null;
  readonly trustForwarding: boolean;
  /** Address of the connected peer. */
  readonly peer: string;
  readonly requestHeaders: HeaderOps | null;
  readonly hostRewrite: string | null;
  readonly logger: Logger;
  /** Counts the backends left out, or null when metrics are off. */
  readonly metrics: { aggregateMissing(api: string, route: string, backend: string): void } | null;
  /** Sends a gateway-made answer with the route's response header changes and response policies. */
  send(status: number, headers: Record<string, string>, body: string): ProxyReply;
}

/** Why a request was cut short: the budget ran out, or the client went away. */
class Stop extends Error {
  constructor(
    message: string,
    readonly clientGone: boolean,
  ) {
    super(message);
  }
}

/** Why one backend call was cut short. */
class BackendTimeout extends Error {}

type Outcome = { readonly ok: true; readonly part: Part } | { readonly ok: false; readonly reason: string };

const SUCCESS = (s: number) => s >= 200 && s < 300;

/** Media types whose body is JSON: `application/json` and any `+json` suffix (RFC 6839 §3.1). */
function isJsonType(ct: string | string[] | undefined): boolean {
  if (ct === undefined) return true;
  const v = (Array.isArray(ct) ? (ct[0] ?? '') : ct).split(';')[0]?.trim().toLowerCase() ?? '';
  const sub = v.slice(v.indexOf('/') + 1);
  return sub === 'json' || sub.endsWith('+json');
}

function noop(): void {}

/**
 * Runs an aggregate: every backend called through the upstream machinery (balancer, circuit
 * breaker, passive health) when the backends it waits for have finished, all of it bounded by
 * the budget, then the parts combined in declared order. A backend that fails, answers non-2xx,
 * non-JSON or an oversized body, or runs out of time is left out and named in
 * `X-Tollgate-Missing` (see docs/aggregation.md for the status rules).
 */
export async function runAggregate(agg: RuntimeAggregate, x: AggregateRequest): Promise<ProxyReply> {
  const raw = x.reply.request.raw;
  const requestId = String(x.reply.request.id);
  const t0 = performance.now();
  const values = new TemplateValues(x.captures, x.query, raw.headers, x.ctx?.consumer ?? null);

  // Headers every backend gets: the gateway's own, then what policies set (X-Consumer-*), then
  // the route's request header changes. Client headers are not copied: a backend gets only what
  // its `headers` templates name.
  const base: Record<string, string | string[]> = { accept: 'application/json' };
  if (x.ctx !== null) x.ctx.applyTo(base);
  if (x.requestHeaders !== null) applyHeaderOps(base, x.requestHeaders);
  // As on any route: a trusted proxy's chain, scheme and host are continued.
  setForwardedHeaders(base, raw.headers, x.trustForwarding, x.peer, (raw.socket as TLSSocket).encrypted === true, x.state.host);
  base['x-request-id'] = requestId;
  injectTrace(base, x.state.trace);
  const pick: PickRequest = { headers: raw.headers, clientIp: x.state.clientIp, query: x.query };

  const n = agg.backends.length;
  // Header values from request data (a decoded capture or query, a header, the consumer) are
  // rendered and checked before any backend is called: one that is not an RFC 9110 §5.5 field
  // value refuses the whole request, so no backend sees it and no target's health is touched.
  const own: Array<Record<string, string | string[]>> = new Array(n);
  for (let i = 0; i < n; i++) {
    const h: Record<string, string | string[]> = { ...base };
    for (const [k, t, literal] of (agg.backends[i] as RuntimeAggregateBackend).requestHeaders) {
      const v = render(t, values, 'raw');
      if (!v.ok) continue;
      if (!literal && !isFieldValue(v.value)) {
        x.state.errorCode = INVALID_HEADER_VALUE;
        const p = invalidHeaderProblem(k);
        return x.send(400, { 'content-type': 'application/problem+json' }, problemJson(400, p.code, p.title, p.detail ?? p.title, requestId));
      }
      h[k] = v.value;
    }
    own[i] = h;
  }

  // One signal for the whole aggregate: the budget, or the client closing before the answer.
  const stop = new AbortController();
  const budgetTimer = setTimeout(() => stop.abort(new Stop(`the aggregate budget of ${agg.budgetMs} ms ran out`, false)), agg.budgetMs);
  const onClose = (): void => {
    if (!x.reply.raw.writableFinished) stop.abort(new Stop('the client went away', true));
  };
  x.reply.raw.once('close', onClose);
  // Gone already (while access policies ran): nothing to wait for.
  if (raw.socket?.destroyed === true) onClose();

  const outcomes: Array<Outcome | undefined> = new Array(n);
  const settled: Array<Promise<void>> = new Array(n);
  const release: Array<() => void> = new Array(n);
  for (let i = 0; i < n; i++) settled[i] = new Promise<void>((r) => (release[i] = r));

  const callBackend = async (b: RuntimeAggregateBackend, i: number): Promise<Outcome> => {
    if (b.after.length > 0) await Promise.all(b.after.map((j) => settled[j]));
    if (stop.signal.aborted) return { ok: false, reason: (stop.signal.reason as Error).message };
    for (const name of b.needs) if (!values.responses.has(name)) return { ok: false, reason: `needs the response of ${name}, which is missing` };
    const path = render(b.path, values, 'segment');
    if (!path.ok) return { ok: false, reason: `no value for ${path.missing}` };
    let target = path.value;
    if (b.query.length > 0) {
      const q = new URLSearchParams();
      for (const [k, t] of b.query) {
        const v = render(t, values, 'raw');
        if (v.ok) q.append(k, v.value);
      }
      const qs = q.toString();
      if (qs !== '') target += `?${qs}`;
    }
    const headers = own[i] as Record<string, string | string[]>;
    for (const [k, t] of b.responseHeaders) {
      const v = render(t, values, 'raw');
      // A value from a backend response that is no field value (CR/LF/NUL ...) would be header
      // injection: the backend is left out, not called (nothing counts against its target).
      if (v.ok && !isFieldValue(v.value)) return { ok: false, reason: `the value for header ${k} from a backend response is not a valid HTTP field value` };
      if (v.ok) headers[k] = v.value;
    }
    const dest = b.destination;
    const exchange = Exchange.open(dest.target, dest.subset, pick, x.state);
    if (typeof exchange === 'string') return { ok: false, reason: exchange === 'NO_HEALTHY_UPSTREAM' ? `no healthy target in upstream ${b.upstream}` : `upstream ${b.upstream} is overloaded` };
    const t = exchange.target;
    headers.host = x.hostRewrite ?? t.host;
    const ac = new AbortController();
    const onStop = (): void => ac.abort(stop.signal.reason);
    stop.signal.addEventListener('abort', onStop, { once: true });
    const timer = b.timeoutMs === null ? null : setTimeout(() => ac.abort(new BackendTimeout(`timed out after ${b.timeoutMs} ms`)), b.timeoutMs);
    // Passive health: a 5xx or a failure to connect / answer in time counts against the target.
    let failed = true;
    try {
      const res = await t.pool.request({ method: b.method as Dispatcher.HttpMethod, path: target, headers, signal: ac.signal });
      // Whatever path leaves the body unread, the release destroys it (the connection is not left hanging).
      res.body.on('error', noop);
      exchange.attach(res.body, false);
      if (!SUCCESS(res.statusCode)) {
        failed = res.statusCode >= 500;
        res.body.on('error', noop);
        res.body.destroy();
        return { ok: false, reason: `status ${res.statusCode}` };
      }
      failed = false;
      const ct = res.headers['content-type'];
      if (!isJsonType(ct)) {
        res.body.on('error', noop);
        res.body.destroy();
        return { ok: false, reason: `not JSON (content-type ${String(ct)})` };
      }
      const encoding = res.headers['content-encoding'];
      if (encoding !== undefined && encoding !== 'identity') {
        // Nothing asked for compression (no Accept-Encoding is sent); a body in a coding is refused, not guessed at.
        res.body.on('error', noop);
        res.body.destroy();
        return { ok: false, reason: `the body has content-encoding ${String(encoding)}` };
      }
      const buf = await readBodyCapped(res.body, agg.maxBodyBytes, res.headers['content-length']);
      let parsed: unknown = null;
      if (buf.length > 0) {
        try {
          parsed = JSON.parse(buf.toString('utf8'));
        } catch {
          return { ok: false, reason: 'the body is not valid JSON' };
        }
      }
      values.responses.set(b.name, parsed);
      const shaped = shapeBody(parsed, b);
      return shaped.ok ? { ok: true, part: { group: b.group, value: shaped.value } } : { ok: false, reason: shaped.reason };
    } catch (err) {
      if (err instanceof BodyOverLimitError) {
        failed = false;
        return { ok: false, reason: err.message };
      }
      if (ac.signal.aborted) {
        const why = ac.signal.reason as Error;
        // The client going away says nothing about the backend.
        if (why instanceof Stop && why.clientGone) failed = false;
        return { ok: false, reason: why.message };
      }
      const e = classifyUpstreamError(err);
      // A request the gateway could not send says nothing about the backend's target.
      failed = countsAgainstTarget(e);
      return { ok: false, reason: e.code === 'UPSTREAM_TIMEOUT' ? 'timed out' : `unavailable (${e.message})` };
    } finally {
      if (timer !== null) clearTimeout(timer);
      stop.signal.removeEventListener('abort', onStop);
      exchange.end(failed);
    }
  };

  const runs = agg.backends.map((b, i) =>
    callBackend(b, i)
      .catch((err: unknown): Outcome => ({ ok: false, reason: `internal error: ${(err as Error).message}` }))
      .then((o) => {
        outcomes[i] = o;
        (release[i] as () => void)();
      }),
  );
  await Promise.all(runs);
  clearTimeout(budgetTimer);
  x.reply.raw.off('close', onClose);
  x.state.upstreamMs = performance.now() - t0;
  if (stop.signal.aborted && (stop.signal.reason as Stop).clientGone) {
    x.state.errorCode = 'CLIENT_ABORTED';
    raw.destroy();
    return x.reply;
  }

  const parts: Part[] = [];
  const missing: string[] = [];
  const reasons: string[] = [];
  let requiredMissing = false;
  agg.backends.forEach((b, i) => {
    const o = outcomes[i] as Outcome;
    if (o.ok) parts.push(o.part);
    else {
      missing.push(b.name);
      reasons.push(`${b.name} (${o.reason})`);
      if (b.required) requiredMissing = true;
      x.metrics?.aggregateMissing(x.state.api ?? '', x.state.route ?? '', b.name);
    }
  });
  if (missing.length === 0) return x.send(200, { 'content-type': 'application/json' }, JSON.stringify(combine(parts)));

  x.logger.warn({ requestId, api: x.state.api, route: x.state.route, missing: reasons }, 'aggregate backends missing');
  const missingHeader = missing.join(', ');
  if (parts.length === 0 || requiredMissing || agg.partial === 502) {
    const code = parts.length === 0 || requiredMissing ? 'AGGREGATE_FAILED' : 'AGGREGATE_INCOMPLETE';
    const e = AGGREGATE_ERRORS[code];
    const detail = parts.length === 0 ? `every backend is missing: ${reasons.join('; ')}` : requiredMissing ? `a required backend is missing: ${reasons.join('; ')}` : `missing: ${reasons.join('; ')}`;
    x.state.errorCode = code;
    return x.send(e.status, { 'content-type': 'application/problem+json', [MISSING_HEADER]: missingHeader }, problemJson(e.status, code, e.title, detail, requestId));
  }
  return x.send(200, { 'content-type': 'application/json', [PARTIAL_HEADER]: 'true', [MISSING_HEADER]: missingHeader }, JSON.stringify(combine(parts)));
}
