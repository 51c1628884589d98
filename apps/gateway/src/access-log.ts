import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { splitTarget } from '@tollgate/router';

/** Per-request facts the proxy collects for the access log. One object per request. */
export class RequestState {
  /** Normalized path (or the raw path when it could not be normalized). */
  path = '';
  query: string | null = null;
  host = '';
  api: string | null = null;
  route: string | null = null;
  /** Origin of the chosen upstream target. */
  target: string | null = null;
  /** Request body bytes (Content-Length, or counted while streaming). */
  bytesIn = 0;
  /** `socket.bytesWritten` when the request started, to derive the bytes written for it. */
  writtenAtStart = 0;
  /** Milliseconds from forwarding to the upstream's response headers, or null when not forwarded. */
  upstreamMs: number | null = null;
  /** Stable code of a gateway-generated error, when there was one. */
  errorCode: string | null = null;
  /** Client address after trusted-proxy rules. */
  clientIp = '';
}

/**
 * Writes one JSON line per request. Never writes headers (so never Authorization or cookies);
 * the query string only when enabled, with the values of sensitive parameters redacted.
 */
export class AccessLog {
  readonly #sensitive: ReadonlySet<string>;

  constructor(
    private readonly logger: Logger,
    private readonly logQuery: boolean,
    sensitiveParams: readonly string[],
  ) {
    this.#sensitive = new Set(sensitiveParams.map((p) => p.toLowerCase()));
  }

  /** Redacts values of sensitive parameters, leaving the rest of the raw query as it was. */
  redactQuery(query: string): string {
    return query
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        if (eq === -1) return pair;
        let name = pair.slice(0, eq);
        try {
          name = decodeURIComponent(name.replaceAll('+', ' '));
        } catch {
          // keep the raw name
        }
        return this.#sensitive.has(name.toLowerCase()) ? `${pair.slice(0, eq)}=[REDACTED]` : pair;
      })
      .join('&');
  }

  /** Writes the line for a finished request. */
  write(request: FastifyRequest, reply: FastifyReply, state: RequestState | null): void {
    const raw = request.raw;
    const written = raw.socket?.bytesWritten ?? 0;
    const line: Record<string, unknown> = {
      type: 'access',
      requestId: request.id,
      method: raw.method,
      path: state !== null ? state.path : splitTarget(raw.url ?? '/').path,
      host: state !== null ? state.host : raw.headers.host,
      status: reply.statusCode,
      clientIp: state?.clientIp ?? raw.socket?.remoteAddress,
      api: state?.api ?? null,
      route: state?.route ?? null,
      upstream: state?.target ?? null,
      bytesIn: state?.bytesIn ?? 0,
      bytesOut: state !== null ? written - state.writtenAtStart : null,
      latencyMs: Math.max(0, Math.round(reply.elapsedTime * 1000) / 1000),
      upstreamMs: state?.upstreamMs ?? null,
    };
    if (state?.errorCode) line.code = state.errorCode;
    if (this.logQuery && state?.query) line.query = this.redactQuery(state.query);
    this.logger.info(line);
  }
}
