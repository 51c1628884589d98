import type { FastifyBaseLogger, FastifyRequest } from 'fastify';

/** What a redacted query value (or an implausible parameter name) is logged as. */
export const REDACTED = '[REDACTED]';

/** Parameter names kept in the log: short, plain names. */
const PLAIN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The request target as the admin log may show it: the path, and of the query only the
 * parameter names. Admin clients sometimes put a token in the query (`?token=…`, `?access_token=`,
 * RFC 6750 §2.3 warns against it precisely because URLs get logged), and the log is shipped and
 * kept far longer than a token lives, so every value is replaced, whatever the name.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url.slice(q + 1);
  if (query === '') return url;
  const parts = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    // Without `=` the part may just as well be a pasted value (`?<token>`) as a flag name.
    if (eq < 0) return part === '' ? part : REDACTED;
    const name = part.slice(0, eq);
    const safeName = name === '' || PLAIN_NAME.test(name) ? name : REDACTED;
    return eq === part.length - 1 ? `${safeName}=` : `${safeName}=${REDACTED}`;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

/** Fastify's request serializer (what `incoming request` lines show), with the query redacted. */
function serializeRequest(req: FastifyRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** A child of the operator's logger whose request lines never carry query values. */
export function redactingLogger(logger: FastifyBaseLogger): FastifyBaseLogger {
  return logger.child({}, { serializers: { req: serializeRequest } });
}
