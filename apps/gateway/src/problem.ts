import { defineErrors } from '@tollgate/policies/definitions';
import type { ProxyReply } from './reply.js';

/**
 * Stable codes of every error the gateway itself generates, with status, title and the sentence
 * the error catalogue (docs/errors.md) shows. Policies declare theirs in their folders.
 */
export const GATEWAY_ERRORS = defineErrors({
  ROUTE_NOT_FOUND: { status: 404, title: 'No route matches the request', description: 'No route matches the host, path and method (also a draft API to anyone but its preview consumers).' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed on this route', description: 'A route matches the path but not the method; `Allow` lists the methods that do (RFC 9110 §15.5.6).' },
  BAD_PATH: { status: 400, title: 'Malformed request path', description: "Path refused by the normalizer (encoded `/`, `\\`, NUL, malformed `%` escapes), an undecodable URL or an asterisk-form target; `;` parameters or a segment ending in `.` refused by the API's `spec.pathMatching`." },
  BAD_HOST: { status: 400, title: 'Invalid Host', description: 'Invalid `Host` (or absolute-form authority): userinfo, junk after the port, characters outside a hostname; or more than one `Host` line (RFC 9112 §3.2).' },
  BAD_REQUEST: { status: 400, title: 'Malformed request', description: 'The request could not be read or parsed (e.g. an invalid Content-Type); an upgrade that is not a valid WebSocket handshake (RFC 6455 §4.2.1) or to a route without one upstream.' },
  BODY_TOO_LARGE: { status: 413, title: 'Request body too large', description: 'The body is longer than the limit (`maxBodyBytes`, or the gateway body limit).' },
  INVALID_HEADER_VALUE: { status: 400, title: 'Invalid header value', description: 'A header value produced from request data (template, claim, capture) is not an RFC 9110 §5.5 field value.' },
  UPSTREAM_UNAVAILABLE: { status: 502, title: 'Upstream unavailable', description: 'Every try to reach a target failed: connection refused or reset, DNS failure, TLS failure, socket closed.' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'Upstream timed out', description: 'Connect timeout, or no response headers within the route timeout.' },
  WEBSOCKET_HANDSHAKE_FAILED: { status: 502, title: 'Upstream did not complete the WebSocket handshake', description: 'The upstream answered a WebSocket handshake with a 101 lacking `Upgrade: websocket`, `Connection: Upgrade` or the `Sec-WebSocket-Accept` of the key (RFC 6455 §4.1); no tunnel is opened.' },
  RESPONSE_TOO_LARGE: { status: 502, title: 'Upstream response too large to transform', description: "A JSON response over a `response-transformer`'s `maxBodyBytes`." },
  NOT_READY: { status: 503, title: 'Gateway not ready', description: 'No config snapshot installed yet (starting, or never reached the config store).' },
  SHUTTING_DOWN: { status: 503, title: 'Gateway shutting down', description: 'The node is stopping and its listener has closed; the request arrived on a connection still open (`Connection: close`, `Retry-After: 0`).' },
  OVERLOADED: { status: 503, title: 'Gateway overloaded', description: "The gateway's event loop lags past `maxEventLoopDelayMs` (`Retry-After: 1`; docs/operations.md)." },
  NO_HEALTHY_UPSTREAM: { status: 503, title: 'No healthy upstream target', description: 'Every target of the upstream (or subset) is unhealthy or ejected (docs/upstreams.md).' },
  UPSTREAM_OVERLOADED: { status: 503, title: 'Upstream overloaded', description: "Circuit breaker: the target's connections and pending queue are full." },
  IP_FORBIDDEN: { status: 403, title: 'Forbidden', description: "The client's address is on the deny list or not on the allow list." },
  INVALID_UPSTREAM_REQUEST: { status: 500, title: 'Invalid upstream request', description: 'The HTTP client refused a request the gateway built (a value it should have refused earlier); never counted against the upstream.' },
  INTERNAL_ERROR: { status: 500, title: 'Internal gateway error', description: 'A bug; logged with the request id.' },
});

/** A code of {@link GATEWAY_ERRORS}. */
export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;

/** Problem `type` URI for a code: `https://tollgate.dev/errors/<code-in-kebab-case>`. */
export function problemType(code: string): string {
  return `https://tollgate.dev/errors/${code.toLowerCase().replaceAll('_', '-')}`;
}

/** RFC 9457 problem details body. */
export function problemJson(status: number, code: string, title: string, detail: string, requestId: string, errors?: readonly unknown[]): string {
  return JSON.stringify(errors === undefined ? { type: problemType(code), title, status, code, detail, requestId } : { type: problemType(code), title, status, code, detail, requestId, errors });
}

/**
 * Sends an `application/problem+json` reply (RFC 9457) with the request id. `close` asks the
 * client to drop the connection: used when the request body was left unread (RFC 9112 §9.6).
 */
export function sendProblem(reply: ProxyReply, status: number, code: string, title: string, detail: string, close = false): ProxyReply {
  const requestId = String(reply.request.id);
  reply.code(status).header('content-type', 'application/problem+json').header('x-request-id', requestId);
  if (close) reply.header('connection', 'close');
  // Every gateway error of a routed request gets what the route's policies add to such answers (CORS).
  reply.addGatewayAnswerHeaders();
  return reply.send(problemJson(status, code, title, detail, requestId));
}

/** Sends one of the gateway's own errors. */
export function sendGatewayError(reply: ProxyReply, code: GatewayErrorCode, detail: string, close = false): ProxyReply {
  const e = GATEWAY_ERRORS[code];
  return sendProblem(reply, e.status, code, e.title, detail, close);
}
