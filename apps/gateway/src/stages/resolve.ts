import type { IncomingHttpHeaders } from 'node:http';
import { applyPathMatching, normalizePath, PathError, type RouteLookup } from '@tollgate/router';
import type { GatewayErrorCode } from '../problem.js';
import { BadHost } from '../request-host.js';
import type { RuntimeRoute, RuntimeSnapshot } from '../runtime.js';

/** A lookup that matched, with its captures and prefix (what rewrites and the upstream path use). */
export type RouteMatch = Extract<RouteLookup<RuntimeRoute>, { kind: 'match' }>;

/** The request resolved to a route: the path is the one policies see and the upstream gets. */
export interface Resolved {
  readonly kind: 'route';
  readonly route: RuntimeRoute;
  readonly found: RouteMatch;
  readonly path: string;
}

/** The request cannot be routed: the gateway's answer (a stable code), with the path as far as it was understood. */
export interface Unroutable {
  readonly kind: 'refused';
  readonly code: GatewayErrorCode;
  readonly detail: string;
  /** Extra response headers (`Allow` on 405). */
  readonly headers: Readonly<Record<string, string>> | null;
  /** The normalized path when normalization got that far, else the raw path. */
  readonly path: string;
}

function refused(code: GatewayErrorCode, detail: string, path: string, headers: Readonly<Record<string, string>> | null = null): Unroutable {
  return { kind: 'refused', code, detail, headers, path };
}

/**
 * Stage 1, resolve route: one Host rule, one path normalization, one lookup for every kind of
 * request (HTTP and WebSocket handshakes alike, so the two can never drift apart).
 * - `host` is the validated request host (request-host.ts) or why it is not one;
 * - `snap` is the snapshot read once for the whole request;
 * - `preflight`: a CORS preflight (Fetch §3.2.2) is routed as the request it announces, when that
 *   route answers preflights (never for a WebSocket handshake).
 * The asterisk-form (`OPTIONS *`, RFC 9112 §3.2.4) addresses the gateway itself, never a route.
 */
export function resolveRoute(
  snap: RuntimeSnapshot | null,
  host: string | BadHost,
  target: { readonly path: string; readonly query: string | null },
  method: string,
  headers: IncomingHttpHeaders,
  preflight: boolean,
): Resolved | Unroutable {
  if (host instanceof BadHost) return refused('BAD_HOST', host.detail, target.path);
  if (snap === null) return refused('NOT_READY', 'no configuration is loaded yet', target.path);
  if (target.path.charCodeAt(0) !== 47) return refused('BAD_PATH', 'the request target must be a path (origin-form or absolute-form)', target.path);
  let path: string;
  try {
    path = normalizePath(target.path);
  } catch (err) {
    if (err instanceof PathError) return refused('BAD_PATH', `${err.message} (${err.code})`, target.path);
    throw err;
  }
  let found = snap.routes.lookup(host, path, method, headers, target.query);
  if (preflight && found.kind === 'method_not_allowed' && method === 'OPTIONS' && headers.origin !== undefined) {
    const announced = headers['access-control-request-method'];
    const pre = typeof announced === 'string' ? snap.routes.lookup(host, path, announced, headers, target.query) : found;
    if (pre.kind === 'match' && pre.value.actions.answersPreflight) found = pre;
  }
  if (found.kind === 'not_found') return refused('ROUTE_NOT_FOUND', `no route for ${method} ${path}`, path);
  if (found.kind === 'method_not_allowed') return refused('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`, path, { allow: found.allow.join(', ') });
  // The API's path matching options (`;` parameters, trailing dots, case): the path the route
  // matched is the one policies see and the upstream gets, or the spelling is refused.
  try {
    path = applyPathMatching(path, found.pathMatching);
  } catch (err) {
    if (err instanceof PathError) return refused('BAD_PATH', `${err.message} (${err.code})`, path);
    throw err;
  }
  return { kind: 'route', route: found.value, found, path };
}
