import type { IncomingHttpHeaders } from 'node:http';
import { RequestContext, runAccess, type PolicyReply } from '@tollgate/policies';
import type { RuntimeRoute } from '../runtime.js';

/**
 * What the access policies decided, after the route's lifecycle and draft rules:
 * - undefined: go on (to a local answer or the exchange);
 * - `as-upstream`: a reply standing in for the upstream's (a cache hit), answered as the upstream's
 *   would be (response policies, header changes);
 * - `refuse`: a policy refusal, with a deprecated Api's `Deprecation` / `Sunset` / `Link` added
 *   (its lifecycle policy adds them to other answers; RFC 9745, RFC 8594);
 * - `hidden`: a draft Api refusing anyone but its preview consumers is invisible: the gateway's
 *   own 404 `ROUTE_NOT_FOUND`, exactly as if no route matched.
 */
export type AccessVerdict = undefined | { readonly kind: 'as-upstream'; readonly reply: PolicyReply } | { readonly kind: 'refuse'; readonly reply: PolicyReply } | { readonly kind: 'hidden' };

const HIDDEN: AccessVerdict = Object.freeze({ kind: 'hidden' as const });

/** What a policy context is made of, beyond the route (one per request, made only for routes with policies). */
export interface AccessRequest {
  readonly requestId: string;
  readonly clientIp: string;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly query: string | null;
  readonly hostName: string;
  /** The client reached the gateway over TLS (the upstream is told; the response cache keys on it). */
  readonly secure: boolean;
  /** The peer is a trusted proxy (its X-Forwarded-* count). */
  readonly trustForwarding: boolean;
}

/** The policy context of one request to `route`. */
export function accessContext(route: RuntimeRoute, r: AccessRequest): RequestContext {
  const ctx = new RequestContext(r.requestId, r.clientIp, r.method, r.path, r.headers, route.api, route.route, r.query, r.hostName);
  ctx.units = route.units;
  ctx.secure = r.secure;
  ctx.trustForwarding = r.trustForwarding;
  return ctx;
}

/** Applies the route's draft and lifecycle rules to what the policies returned. */
export function judge(route: RuntimeRoute, ctx: RequestContext, r: PolicyReply | undefined): AccessVerdict {
  if (r === undefined) return undefined;
  if (r.asUpstream === true) return { kind: 'as-upstream', reply: r };
  if (route.draftPreview !== null && (ctx.consumer === null || !route.draftPreview.has(ctx.consumer.name)) && r.status !== 404) return HIDDEN;
  return { kind: 'refuse', reply: route.refusalHeaders !== null ? { ...r, headers: { ...route.refusalHeaders, ...r.headers } } : r };
}

/**
 * A refusal that must be indistinguishable from "no route matched" (a draft Api's preview gate,
 * an unknown version): nothing of the route (its CORS headers) may be added to it.
 */
export function answersAsUnrouted(r: PolicyReply): boolean {
  return r.status === 404 && typeof r.body === 'object' && !Buffer.isBuffer(r.body) && r.body.code === 'ROUTE_NOT_FOUND';
}

function judged(this: { route: RuntimeRoute; ctx: RequestContext }, r: PolicyReply | undefined): AccessVerdict {
  return judge(this.route, this.ctx, r);
}

/**
 * Stage 2, access policies: the route's access steps in priority order (auth, then the auth gate,
 * ACL, limits, ...; built once per route at install), then {@link judge}. Synchronous when every
 * step is (no promise per request); a route without policies never gets here (`route.access` null).
 */
export function runAccessStage(route: RuntimeRoute, steps: NonNullable<RuntimeRoute['access']>, ctx: RequestContext): AccessVerdict | Promise<AccessVerdict> {
  const r = runAccess(steps, ctx);
  if (r !== undefined && typeof (r as Promise<unknown>).then === 'function') return (r as Promise<PolicyReply | undefined>).then(judged.bind({ route, ctx }));
  return judge(route, ctx, r as PolicyReply | undefined);
}
