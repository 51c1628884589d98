import type { CompiledRoute, CompiledRouteActions } from '@tollgate/compiler';
import { mustCompileRegex, type RouteLookup, type SafeRegex } from '@tollgate/router';
import type { Destination, RetryPolicy, TargetUpstream } from '@tollgate/upstream';
import { buildAggregate, type RuntimeAggregate } from './aggregate/index.js';
import { headerOps, type HeaderOps } from './header-ops.js';
import type { ProtocolHandler, ProtocolRuntime } from './protocols/index.js';

/** A destination as the hot path uses it: the upstream runtime and an optional subset. */
/** Where a route forwards: an upstream, its runtime and a subset (the Exchange's destination). */
export type RuntimeDestination = Destination;


/** Location parts of a redirect; null fields keep the request's. */
export interface RuntimeRedirect {
  readonly scheme: string | null;
  readonly host: string | null;
  readonly port: number | null;
  readonly path: string | null;
  readonly code: number;
}

/** Everything a route does besides matching, built once per snapshot. */
export interface RuntimeActions {
  /** Weighted split over more than one destination, or null (then `primary` is the destination). */
  readonly split: WeightedRandom<RuntimeDestination> | null;
  readonly primary: RuntimeDestination | null;
  readonly redirect: RuntimeRedirect | null;
  readonly direct: { readonly status: number; readonly body: Buffer; readonly contentType: string } | null;
  /** New path below the base path, or null to keep the path. */
  readonly rewritePath: ((rel: string, relPrefix: string | null, captures: Readonly<Record<string, string>> | null) => string) | null;
  readonly hostRewrite: string | null;
  readonly requestHeaders: HeaderOps | null;
  readonly responseHeaders: HeaderOps | null;
  readonly mirror: { readonly destination: RuntimeDestination; readonly fraction: number } | null;
  readonly delay: { readonly ms: number; readonly fraction: number } | null;
  readonly abort: { readonly status: number; readonly fraction: number } | null;
  readonly retries: RuntimeRetries | null;
  /** The route has a `cors` policy, so a preflight for one of its methods is routed to it. */
  readonly answersPreflight: boolean;
  /** Several backends combined into one JSON answer (docs/aggregation.md), or null. */
  readonly aggregate: RuntimeAggregate | null;
  /** REST-to-gRPC, gRPC-Web or SOAP conversion (docs/protocols.md), or null. */
  readonly protocol: ProtocolHandler | null;
}

/** Retry settings in the form the retry loop reads. */
/** A route's retry policy, as the Exchange applies it. */
export type RuntimeRetries = RetryPolicy;

/**
 * Picks one of several values at random in proportion to their weights (as Envoy's weighted
 * clusters do). Random rather than smooth round robin so that a client alternating between two
 * kinds of request cannot line its kinds up with the destinations.
 */
export class WeightedRandom<T> {
  readonly #values: readonly T[];
  /** Cumulative weights. */
  readonly #cumulative: readonly number[];
  readonly #total: number;
  constructor(entries: ReadonlyArray<{ readonly value: T; readonly weight: number }>) {
    const live = entries.filter((e) => e.weight > 0);
    let sum = 0;
    this.#values = live.map((e) => e.value);
    this.#cumulative = live.map((e) => (sum += e.weight));
    this.#total = sum;
    if (sum === 0) throw new Error('weights sum to 0');
  }
  /** One value; `r` in [0, 1) is injectable for tests. */
  pick(r = Math.random()): T {
    const x = r * this.#total;
    const c = this.#cumulative;
    for (let i = 0; i < c.length; i++) if (x < (c[i] as number)) return this.#values[i] as T;
    return this.#values[this.#values.length - 1] as T;
  }
}


/** Joins a replacement prefix and the rest of the path without doubling or losing the slash. */
function joinRest(prefix: string, rest: string): string {
  if (rest === '') return prefix;
  if (prefix.endsWith('/')) return prefix + rest.slice(1);
  return prefix + rest;
}

function buildRewrite(rw: CompiledRouteActions['rewrite']): RuntimeActions['rewritePath'] {
  if (rw === null) return null;
  if (rw.prefix !== undefined) {
    const p = rw.prefix;
    // Istio `rewrite.uri`: a prefix match has its matched part replaced; other matches the whole path.
    return (rel, relPrefix) => (relPrefix === null ? p : joinRest(p, rel.slice(relPrefix.length)));
  }
  if (rw.path !== undefined) {
    const parts = rw.path.split(/(\{[^{}]*\})/).map((s) => (s.startsWith('{') && s.endsWith('}') ? { capture: s.slice(1, -1) } : { text: s }));
    return (_rel, _p, captures) => {
      let out = '';
      for (const part of parts) out += 'text' in part ? part.text : (captures?.[part.capture] ?? '');
      return out;
    };
  }
  if (rw.regex !== undefined) {
    const re: SafeRegex = mustCompileRegex(rw.regex.pattern);
    // Envoy writes groups as \1; re2js takes $1 and $$ for a literal dollar.
    const replacement = rw.regex.substitution.replaceAll('$', '$$$$').replace(/\\(\d)/g, '$$$1');
    return (rel) => {
      const out = re.matcher(rel).replaceAll(replacement);
      return out.startsWith('/') ? out : `/${out}`;
    };
  }
  return null;
}

/**
 * Builds a route's runtime actions. `upstreams` resolves a name to its runtime (the compiler
 * guarantees it exists). Regexes are compiled here, once per snapshot, never per request.
 */
export function buildRouteActions(r: CompiledRoute, upstreams: ReadonlyMap<string, TargetUpstream>, protocols: ProtocolRuntime | null = null): RuntimeActions {
  const a = r.actions;
  const dest = (upstream: string, subset: string | null): RuntimeDestination => {
    const target = upstreams.get(upstream);
    if (!target) throw new Error(`route ${r.id}: upstream "${upstream}" missing from the snapshot`);
    return Object.freeze({ upstream, target, subset });
  };
  const dests = a.destinations.filter((d) => d.weight > 0).map((d) => ({ value: dest(d.upstream, d.subset), weight: d.weight }));
  const rt = a.retries;
  return Object.freeze({
    split: dests.length > 1 ? new WeightedRandom(dests) : null,
    primary: dests[0]?.value ?? null,
    redirect: a.redirect ? { scheme: a.redirect.scheme ?? null, host: a.redirect.host ?? null, port: a.redirect.port ?? null, path: a.redirect.path ?? null, code: a.redirect.code } : null,
    direct: a.directResponse ? { status: a.directResponse.status, body: Buffer.from(a.directResponse.body), contentType: a.directResponse.contentType } : null,
    rewritePath: buildRewrite(a.rewrite),
    hostRewrite: a.rewrite?.host ?? null,
    requestHeaders: headerOps(a.requestHeaders),
    responseHeaders: headerOps(a.responseHeaders),
    mirror: a.mirror && a.mirror.percentage > 0 ? { destination: dest(a.mirror.upstream, a.mirror.subset), fraction: a.mirror.percentage / 100 } : null,
    delay: a.fault?.delay && a.fault.delay.percentage > 0 ? { ms: a.fault.delay.fixedDelayMs, fraction: a.fault.delay.percentage / 100 } : null,
    abort: a.fault?.abort && a.fault.abort.percentage > 0 ? { status: a.fault.abort.status, fraction: a.fault.abort.percentage / 100 } : null,
    retries: rt
      ? {
          attempts: rt.attempts,
          perTryTimeoutMs: rt.perTryTimeoutMs,
          onConnectFailure: rt.retryOn.includes('connect-failure'),
          onReset: rt.retryOn.includes('reset'),
          statuses: new Set(rt.retryOn.filter((x) => /^\d+$/.test(x)).map(Number)),
          allowNonIdempotent: rt.allowNonIdempotent,
        }
      : null,
    answersPreflight: r.policies.access?.some((d) => d.name === 'cors') ?? false,
    aggregate: a.aggregate ? buildAggregate(a.aggregate, dest) : null,
    protocol: protocols?.handlerFor(r) ?? null,
  });
}

/** The path below the base path, and the matched prefix below it, for a rewrite. */
export function rewrittenPath(actions: RuntimeActions, path: string, basePath: string, strip: boolean, found: Extract<RouteLookup<unknown>, { kind: 'match' }>): string {
  const fn = actions.rewritePath as NonNullable<RuntimeActions['rewritePath']>;
  const rel = basePath === '' ? path : path.length === basePath.length ? '/' : path.slice(basePath.length);
  const relPrefix = found.prefix === null ? null : found.prefix.slice(basePath.length);
  const out = fn(rel, relPrefix, found.captures);
  if (strip || basePath === '') return out;
  return out === '/' ? basePath : basePath + out;
}

/**
 * The path sent upstream (without the query): the route's rewrite, else the path with the strip
 * prefix removed. One function for proxied requests and WebSocket handshakes, so both reach the
 * upstream at the same place.
 */
export function upstreamPathFor(actions: RuntimeActions, path: string, basePath: string, strip: string | null, found: Extract<RouteLookup<unknown>, { kind: 'match' }>): string {
  if (actions.rewritePath !== null) return rewrittenPath(actions, path, basePath, strip !== null, found);
  return strip === null ? path : path.length === strip.length ? '/' : path.slice(strip.length);
}

/** The `Location` of a redirect (RFC 9110 §10.2.2), keeping the query. */
export function redirectLocation(rd: RuntimeRedirect, secure: boolean, hostHeader: string, path: string, query: string | null): string {
  const scheme = rd.scheme ?? (secure ? 'https' : 'http');
  let host = rd.host;
  let port: string | null = rd.port === null ? null : String(rd.port);
  if (host === null) {
    // Keep the request's host; keep its port only when the scheme stays the same.
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(hostHeader);
    host = m?.[1] ?? hostHeader;
    if (port === null && rd.scheme === null && m?.[2] !== undefined) port = m[2];
  }
  return `${scheme}://${host}${port === null ? '' : `:${port}`}${rd.path ?? path}${query === null ? '' : `?${query}`}`;
}
