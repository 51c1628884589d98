/**
 * The request path as named stages, and each route's list of them, composed once when a snapshot
 * is installed (as Envoy's filter chains and Lura's proxy stack are built per endpoint), never per
 * request. The hot path reads the plan's flags instead of re-deriving them from the route's config.
 *
 * 1. resolve       stages/resolve.ts       Host, path normalization, route lookup (HTTP and WebSocket)
 * 2. access        stages/access.ts        access policies, lifecycle refusal headers, draft rules
 * 3. local         stages/local-answer.ts  redirect, published spec, direct response, abort fault
 * 4. prepare       stages/prepare.ts       upstream request head and body
 * 5. exchange      @tollgate/upstream      one of: http (forwardExchange), aggregate, protocol, websocket
 * 6. response      stages/respond.ts       response header changes, response policies, JSON body changes
 * 7. respond       stages/respond.ts       the answer written to the client
 * 8. account       stages/account.ts       meter, metrics, access log: once, on completion or abort
 */
export type StageName = 'resolve' | 'access' | 'local' | 'delay' | 'prepare' | 'exchange' | 'response' | 'respond' | 'account';

/** How a route reaches its upstream(s): one forwarded request, an aggregate fan-out, a protocol converter, or none (local answers only). */
export type ExchangeKind = 'http' | 'aggregate' | 'protocol' | 'none';

/** A route's stages, decided at install. */
export interface RoutePlan {
  /** The stages the route's requests go through, in order (for docs, tests and tracing). */
  readonly stages: readonly StageName[];
  readonly access: boolean;
  /** The route may answer locally (stage 3 runs). */
  readonly local: boolean;
  readonly exchange: ExchangeKind;
  /** Response policies or header changes exist (stage 6 does work). */
  readonly response: boolean;
  /**
   * The upstream's answer streams straight into the client response (undici `dispatch()`, no
   * Readable): no response body capture or transformation needs it whole or as a stream. Header
   * changes and response policies (which change only the head, or replace the answer with a
   * problem before any byte is out) still apply, to the head.
   */
  readonly streams: boolean;
}

/** What of a route its plan depends on (structural, so this module imports nothing of the runtime). */
export interface PlannedRoute {
  readonly access: readonly unknown[] | null;
  readonly response: readonly unknown[] | null;
  /** Request/response body handling (transforms, cache capture); null when none. */
  readonly bodies?: unknown;
  readonly publishedSpec: unknown;
  readonly actions: {
    readonly redirect: unknown;
    readonly direct: unknown;
    readonly abort: unknown;
    readonly delay: unknown;
    readonly aggregate: unknown;
    readonly protocol: unknown;
    readonly responseHeaders: unknown;
  };
}

/** Composes a route's stage list (once per route, when the snapshot is installed). */
export function planRoute(r: PlannedRoute): RoutePlan {
  const a = r.actions;
  const access = r.access !== null;
  const local = a.redirect !== null || r.publishedSpec !== null || a.direct !== null || a.abort !== null;
  // A route that always answers locally (redirect, spec, direct) never reaches an exchange.
  const always = a.redirect !== null || r.publishedSpec !== null || a.direct !== null;
  const exchange: ExchangeKind = always ? 'none' : a.aggregate !== null ? 'aggregate' : a.protocol !== null ? 'protocol' : 'http';
  const response = r.response !== null || a.responseHeaders !== null;
  const streams = exchange === 'http' && (r.bodies ?? null) === null;
  const stages: StageName[] = ['resolve'];
  if (access) stages.push('access');
  if (local) stages.push('local');
  if (exchange !== 'none') {
    if (a.delay !== null) stages.push('delay');
    if (exchange === 'http') stages.push('prepare');
    stages.push('exchange');
  }
  if (response) stages.push('response');
  stages.push('respond', 'account');
  return Object.freeze({ stages: Object.freeze(stages), access, local, exchange, response, streams });
}
