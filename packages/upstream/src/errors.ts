/** Stable codes of failures while talking to an upstream. */
export type UpstreamErrorCode = 'UPSTREAM_UNAVAILABLE' | 'UPSTREAM_TIMEOUT' | 'BODY_TOO_LARGE' | 'CLIENT_ABORTED';

const STATUS: Readonly<Record<UpstreamErrorCode, number>> = {
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  BODY_TOO_LARGE: 413,
  // nginx's convention for "client closed the request"; never sent, only logged.
  CLIENT_ABORTED: 499,
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
 * that went away → `CLIENT_ABORTED`; anything else (refused, reset, DNS, closed socket) →
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
  return new UpstreamError('UPSTREAM_UNAVAILABLE', message, err);
}
