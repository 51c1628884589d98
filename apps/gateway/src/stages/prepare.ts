import type { IncomingHttpHeaders } from 'node:http';
import type { RequestContext } from '@tollgate/policies';
import { applyHeaderOps } from '../header-ops.js';
import { setForwardedHeaders, upstreamRequestHeaders } from '../headers.js';
import { upstreamPathFor } from '../route-actions.js';
import type { RuntimeRoute } from '../runtime.js';
import type { RouteMatch } from './resolve.js';

/** What of a request its upstream head is made from. */
export interface HeadRequest {
  readonly route: RuntimeRoute;
  readonly found: RouteMatch;
  /** The policy context, when access policies ran (their header and query changes apply). */
  readonly ctx: RequestContext | null;
  readonly headers: IncomingHttpHeaders;
  readonly requestId: string;
  /** The path the route matched. */
  readonly path: string;
  /** The query as the client sent it (`ctx.query` wins when policies ran). */
  readonly query: string | null;
  readonly hostHeader: string;
  readonly peer: string;
  readonly secure: boolean;
  readonly trustForwarding: boolean;
}

/** The upstream request head: headers (without Host, which depends on the target) and path with query. */
export interface UpstreamHead {
  readonly headers: Record<string, string | string[]>;
  readonly path: string;
}

/**
 * Stage 4, prepare upstream request (its head), one order for HTTP and WebSocket handshakes alike:
 * header hygiene (hop-by-hop and Connection-listed fields, spoofable forwarding fields, override
 * headers, client-sent X-Consumer-*), then the policies' changes, then the route's header
 * changes, then what the gateway owns (forwarding fields, request id), so no client- or
 * Connection-named field can remove those (headers.ts). `beforeGateway` adds fields between the
 * route's changes and the gateway's own (a handshake's upgrade fields).
 */
export function upstreamHead(r: HeadRequest, beforeGateway?: (out: Record<string, string | string[]>) => void): UpstreamHead {
  const { route, ctx } = r;
  const actions = route.actions;
  // Policies' changes (credential removed, X-Consumer-* set) apply with and after the stripping:
  // one pass over the client's fields, the removed ones skipped.
  const out = upstreamRequestHeaders(r.headers, r.trustForwarding, route.forwardOverrides, ctx !== null ? ctx.removedHeaders : null);
  if (ctx !== null) ctx.applyTo(out, true);
  if (actions.requestHeaders !== null) applyHeaderOps(out, actions.requestHeaders);
  beforeGateway?.(out);
  setForwardedHeaders(out, r.headers, r.trustForwarding, r.peer, r.secure, r.hostHeader);
  out['x-request-id'] = r.requestId;
  let path = upstreamPathFor(actions, r.path, route.basePath, route.stripPrefix, r.found);
  const query = ctx !== null ? ctx.query : r.query;
  if (query !== null) path = `${path}?${query}`;
  return { headers: out, path };
}
