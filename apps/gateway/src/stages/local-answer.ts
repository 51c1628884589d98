import type { IncomingHttpHeaders } from 'node:http';
import { redirectLocation } from '../route-actions.js';
import type { RuntimeRoute } from '../runtime.js';

/** An answer the gateway gives itself, without an upstream (response policies still apply). */
export interface LocalAnswer {
  readonly kind: 'answer';
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer;
}

/** An injected abort fault: the gateway's problem with the route's status (`FAULT_ABORT`). */
export interface FaultAnswer {
  readonly kind: 'fault';
  readonly status: number;
}

/** What of the request a local answer depends on. */
export interface LocalRequest {
  /** The client reached the gateway over TLS. */
  readonly secure: boolean;
  /** The Host as received ('' when absent). */
  readonly hostHeader: string;
  readonly path: string;
  readonly query: string | null;
  readonly headers: IncomingHttpHeaders;
  readonly trustForwarding: boolean;
}

/**
 * Stage 3, local answer: route actions that answer without an upstream (redirect, the Api's
 * published OpenAPI document, direct response, abort fault), in that order; null to go on.
 */
export function localAnswer(route: RuntimeRoute, r: LocalRequest): LocalAnswer | FaultAnswer | null {
  const actions = route.actions;
  if (actions.redirect !== null) {
    return { kind: 'answer', status: actions.redirect.code, headers: { location: redirectLocation(actions.redirect, r.secure, r.hostHeader, r.path, r.query) }, body: '' };
  }
  if (route.publishedSpec !== null) {
    // The Api's OpenAPI document, its servers pointing at this gateway as the client reached it.
    const xp = r.trustForwarding ? r.headers['x-forwarded-proto'] : undefined;
    const xh = r.trustForwarding ? r.headers['x-forwarded-host'] : undefined;
    const scheme = typeof xp === 'string' && /^https?$/i.test(xp) ? xp.toLowerCase() : r.secure ? 'https' : 'http';
    const servers = JSON.stringify([{ url: `${scheme}://${typeof xh === 'string' ? xh : r.hostHeader}${route.basePath}`, description: 'this gateway' }]);
    return { kind: 'answer', status: 200, headers: { 'content-type': 'application/json' }, body: route.publishedSpec.head + servers + route.publishedSpec.tail };
  }
  if (actions.direct !== null) return { kind: 'answer', status: actions.direct.status, headers: { 'content-type': actions.direct.contentType }, body: actions.direct.body };
  if (actions.abort !== null && Math.random() < actions.abort.fraction) return { kind: 'fault', status: actions.abort.status };
  return null;
}
