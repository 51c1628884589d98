/** Stable codes of failures while talking to an upstream. */
export type UpstreamErrorCode = 'UPSTREAM_UNAVAILABLE' | 'UPSTREAM_TIMEOUT' | 'BODY_TOO_LARGE' | 'CLIENT_ABORTED' | 'INVALID_UPSTREAM_REQUEST';

const STATUS: Readonly<Record<UpstreamErrorCode, number>> = {
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  BODY_TOO_LARGE: 413,
  // nginx's convention for "client closed the request"; never sent, only logged.
  CLIENT_ABORTED: 499,
  // The gateway built a request its HTTP client refuses (a header value or path it should have
  // refused earlier): the gateway's fault, never the upstream's.
  INVALID_UPSTREAM_REQUEST: 500,
};

/** A forwarding failure with the stable code and status the gateway answers with. */
export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;
  readonly status: number;
  constructor(code: UpstreamErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'UpstreamError';
    this.code = code;
    this.status = STATUS[code];
  }
}

/** Raised by the body limiter when a streamed request body passes `maxBytes`. */
export class BodyTooLargeError extends Error {
  readonly code = 'BODY_TOO_LARGE';
  constructor(readonly maxBytes: number) {
    super(`the request body exceeds ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ETIMEDOUT']);
/**
 * Errors the HTTP client raises before anything is sent, because the request itself is invalid
 * (undici `InvalidArgumentError`, Node's invalid header / path character errors).
 */
const INVALID_REQUEST_CODES = new Set(['UND_ERR_INVALID_ARG', 'ERR_INVALID_CHAR', 'ERR_HTTP_INVALID_HEADER_VALUE', 'ERR_INVALID_HTTP_TOKEN', 'ERR_UNESCAPED_CHARACTERS']);
const ABORT_CODES = new Set(['UND_ERR_ABORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

function findBodyTooLarge(err: unknown): BodyTooLargeError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof BodyTooLargeError) return e;
  }
  return undefined;
}

/**
 * Maps an undici / socket error to a stable code: timeouts waiting to connect or for response
 * headers → 504 `UPSTREAM_TIMEOUT`; a request body over the limit → 413 `BODY_TOO_LARGE`; a client
 * that went away → `CLIENT_ABORTED`; a request the HTTP client refuses to send (an invalid header
 * value or path) → 500 `INVALID_UPSTREAM_REQUEST`; anything else (refused, reset, DNS, closed socket) →
 * 502 `UPSTREAM_UNAVAILABLE`.
 */
export function classifyUpstreamError(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const tooLarge = findBodyTooLarge(err);
  if (tooLarge) return new UpstreamError('BODY_TOO_LARGE', tooLarge.message, err);
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return new UpstreamError('UPSTREAM_TIMEOUT', message, err);
  if (typeof code === 'string' && ABORT_CODES.has(code)) return new UpstreamError('CLIENT_ABORTED', message, err);
  if (typeof code === 'string' && INVALID_REQUEST_CODES.has(code)) return new UpstreamError('INVALID_UPSTREAM_REQUEST', message, err);
  return new UpstreamError('UPSTREAM_UNAVAILABLE', message, err);
}

/**
 * Whether a forwarding failure says something about the target (passive health, outlier
 * detection, circuit breaking): only a failure to connect, a reset or a timeout does. A request
 * the gateway itself could not send (an invalid header value, a body over the limit) or a client
 * that went away must never count against a healthy target.
 */
export function countsAgainstTarget(err: UpstreamError): boolean {
  return err.code === 'UPSTREAM_UNAVAILABLE' || err.code === 'UPSTREAM_TIMEOUT';
}
