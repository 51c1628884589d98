import type { FastifyReply } from 'fastify';

/** Stable codes of every error the gateway itself generates, with status and title. */
export const GATEWAY_ERRORS = Object.freeze({
  ROUTE_NOT_FOUND: { status: 404, title: 'No route matches the request' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed on this route' },
  BAD_PATH: { status: 400, title: 'Malformed request path' },
  BAD_HOST: { status: 400, title: 'Invalid Host' },
  BAD_REQUEST: { status: 400, title: 'Malformed request' },
  BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  /** A header value produced from request data (template, claim, capture) is not an RFC 9110 §5.5 field value. */
  INVALID_HEADER_VALUE: { status: 400, title: 'Invalid header value' },
  UPSTREAM_UNAVAILABLE: { status: 502, title: 'Upstream unavailable' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'Upstream timed out' },
  WEBSOCKET_HANDSHAKE_FAILED: { status: 502, title: 'Upstream did not complete the WebSocket handshake' },
  RESPONSE_TOO_LARGE: { status: 502, title: 'Upstream response too large to transform' },
  NOT_READY: { status: 503, title: 'Gateway not ready' },
  SHUTTING_DOWN: { status: 503, title: 'Gateway shutting down' },
  NO_HEALTHY_UPSTREAM: { status: 503, title: 'No healthy upstream target' },
  UPSTREAM_OVERLOADED: { status: 503, title: 'Upstream overloaded' },
  IP_FORBIDDEN: { status: 403, title: 'Forbidden' },
  /** The HTTP client refused a request the gateway built (a value it should have refused earlier); never counted against the upstream. */
  INVALID_UPSTREAM_REQUEST: { status: 500, title: 'Invalid upstream request' },
  INTERNAL_ERROR: { status: 500, title: 'Internal gateway error' },
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
export function sendProblem(reply: FastifyReply, status: number, code: string, title: string, detail: string, close = false): FastifyReply {
  const requestId = String(reply.request.id);
  reply.code(status).header('content-type', 'application/problem+json').header('x-request-id', requestId);
  if (close) reply.header('connection', 'close');
  return reply.send(problemJson(status, code, title, detail, requestId));
}

/** Sends one of the gateway's own errors. */
export function sendGatewayError(reply: FastifyReply, code: GatewayErrorCode, detail: string, close = false): FastifyReply {
  const e = GATEWAY_ERRORS[code];
  return sendProblem(reply, e.status, code, e.title, detail, close);
}
