import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ProxyReply } from '../reply.js';
import type { RequestContext } from '@tollgate/policies';
import type { RequestState } from '../access-log.js';
import type { RuntimeRoute } from '../runtime.js';
import type { RouteMatch } from './resolve.js';

/** One routed HTTP request as the stages after `resolve` see it (one object per request). */
export interface HttpFlow {
  readonly reply: ProxyReply;
  readonly raw: IncomingMessage;
  readonly requestId: string;
  readonly state: RequestState;
  readonly route: RuntimeRoute;
  readonly found: RouteMatch;
  /** The policy context: made by the access stage, or lazily by a response policy that needs one. */
  ctx: RequestContext | null;
  readonly method: string;
  /** The path the route matched (normalized, the API's path matching applied). */
  readonly path: string;
  /** The query as the client sent it (auth policies may take credentials out: then `ctx.query`). */
  readonly query: string | null;
  readonly headers: IncomingHttpHeaders;
  /** The Host as received ('' when absent). */
  readonly hostHeader: string;
  /** The TCP peer (before trusted-proxy rules). */
  readonly peer: string;
  readonly secure: boolean;
  readonly trustForwarding: boolean;
  /** The request body is chunked (its length is counted while it streams). */
  readonly chunked: boolean;
}
