import { Readable } from 'node:stream';
import type { ProxyReply } from '../reply.js';
import { RequestContext, runResponse, type PolicyProblem, type PolicyReply } from '@tollgate/policies';
import type { RequestState } from '../access-log.js';
import { transformResponseJson, wantsResponseJson } from '../body-transform.js';
import { applyHeaderOps } from '../header-ops.js';
import { GATEWAY_ERRORS, problemJson, sendGatewayError, sendProblem, type GatewayErrorCode } from '../problem.js';
import type { RuntimeRoute } from '../runtime.js';

// Stages 6 and 7, response policies and respond: the route's response header changes, response
// policies and JSON body changes applied to whatever answers (an upstream's response, a local
// answer, a stored one), and the answer written through the Fastify reply.

/** Answers the gateway's own error (a stable code, RFC 9457 problem+json) and records its code for the account stage. */
export function fail(reply: ProxyReply, state: RequestState, code: GatewayErrorCode, detail: string, close = false): ProxyReply {
  state.errorCode = code;
  return sendGatewayError(reply, code, detail, close);
}

/** Answers a policy's reply (a refusal, a preflight answer): its body as is, or its problem as problem+json. */
export function sendPolicyReply(reply: ProxyReply, state: RequestState, r: PolicyReply, close: boolean): ProxyReply {
  if (r.headers) reply.headers(r.headers);
  if (close) reply.header('connection', 'close');
  if (typeof r.body === 'string' || Buffer.isBuffer(r.body)) return reply.code(r.status).header('x-request-id', String(reply.request.id)).addGatewayAnswerHeaders().send(r.body);
  state.errorCode = r.body.code;
  reply.code(r.status).header('content-type', 'application/problem+json').header('x-request-id', String(reply.request.id));
  // A refusal skips the response phase: the route's CORS headers are added here (so a browser app can read it).
  reply.addGatewayAnswerHeaders();
  return reply.send(problemJson(r.status, r.body.code, r.body.title, r.body.detail ?? r.body.title, String(reply.request.id), r.body.errors));
}

/**
 * Answers the problem of a response policy that could not produce the response (a header value
 * from request data that is not a field value): a stable code and the gateway's status for it,
 * never the raw 500 of a head Node refuses to write.
 */
export function sendResponseProblem(reply: ProxyReply, state: RequestState, p: PolicyProblem, close: boolean): ProxyReply {
  state.errorCode = p.code;
  const status = (GATEWAY_ERRORS as Readonly<Record<string, { status: number } | undefined>>)[p.code]?.status ?? 500;
  return sendProblem(reply, status, p.code, p.title, p.detail ?? p.title, close);
}

/** The policy context of a request no access policy ran for, made when a response policy needs one. */
export function responseContext(reply: ProxyReply, route: RuntimeRoute, state: RequestState): RequestContext {
  const req = reply.request.raw;
  return new RequestContext(String(reply.request.id), state.clientIp, req.method ?? 'GET', state.path, req.headers, route.api, route.route, state.query, state.hostName);
}

/**
 * Answers from the gateway for a route action (redirect, direct response), with the route's
 * response header changes and response policies applied as for an upstream answer.
 */
export function sendLocal(reply: ProxyReply, route: RuntimeRoute, ctx: RequestContext | null, state: RequestState, status: number, extra: Record<string, string>, body: string | Buffer | Readable, close: boolean): ProxyReply {
  const h: Record<string, string | string[] | undefined> = { ...extra, 'x-request-id': String(reply.request.id) };
  if (route.actions.responseHeaders !== null) applyHeaderOps(h, route.actions.responseHeaders);
  if (route.response !== null) {
    ctx ??= responseContext(reply, route, state);
    const p = runResponse(route.response, ctx, { status, headers: h });
    if (p !== undefined) {
      if (body instanceof Readable) body.destroy();
      return sendResponseProblem(reply, state, p, close);
    }
  }
  // Response body changes apply to a local or cached answer as to an upstream one.
  if ((typeof body === 'string' || Buffer.isBuffer(body)) && wantsResponseJson(route.bodies, h)) {
    const raw = typeof body === 'string' ? Buffer.from(body) : body;
    if (raw.length > route.bodies.responseMaxBytes) return fail(reply, state, 'RESPONSE_TOO_LARGE', `the response body exceeds ${route.bodies.responseMaxBytes} bytes, the limit of its transformation`, close);
    ctx ??= responseContext(reply, route, state);
    body = transformResponseJson(route.bodies, ctx, { status, headers: h }, raw);
  }
  if (close) h.connection = 'close';
  return reply.code(status).headers(h).send(body);
}
