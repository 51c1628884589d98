/**
 * gRPC status codes (https://github.com/grpc/grpc/blob/master/doc/statuscodes.md) and the HTTP
 * status each maps to, as google/rpc/code.proto documents it (the mapping Google's API design
 * guide, grpc-gateway and Envoy's transcoder use). CANCELLED is 499 (client closed request).
 */
export const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

const HTTP_OF: readonly number[] = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

/** HTTP status for a gRPC status code (unknown codes: 500). */
export function httpStatusOf(code: number): number {
  return HTTP_OF[code] ?? 500;
}

/** Name of a gRPC status code (`NOT_FOUND`), or `UNKNOWN` for a number outside the table. */
export function grpcCodeName(code: number): string {
  return GRPC_CODES[code] ?? 'UNKNOWN';
}

/** Codes that say the target itself failed (passive health counts them like a 5xx). */
export function isTargetFailure(code: number): boolean {
  return code === 14 /* UNAVAILABLE */ || code === 13 /* INTERNAL */ || code === 2 /* UNKNOWN */;
}

/**
 * Statuses that mean no answer came from the service (no connection, deadline passed, call
 * cancelled): logged with a gateway error code, like UPSTREAM_UNAVAILABLE / UPSTREAM_TIMEOUT for
 * HTTP. Other statuses are the service's answer (metrics `source="upstream"`).
 */
export function isTransportStatus(code: number): boolean {
  return code === 14 || code === 4 || code === 1;
}

/**
 * RFC 9457 problem body for a gRPC error: `code` is `GRPC_<NAME>`, and the extensions carry the
 * numeric `grpcStatus`, its name and the upstream's message.
 */
export function grpcProblem(grpcStatus: number, message: string, requestId: string): { status: number; body: string } {
  const status = httpStatusOf(grpcStatus);
  const name = grpcCodeName(grpcStatus);
  const code = `GRPC_${name}`;
  return {
    status,
    body: JSON.stringify({
      type: `https://tollgate.dev/errors/${code.toLowerCase().replaceAll('_', '-')}`,
      title: `The gRPC upstream answered ${name}`,
      status,
      code,
      detail: message === '' ? `gRPC status ${grpcStatus} ${name}` : message,
      requestId,
      grpcStatus,
      grpcCode: name,
      grpcMessage: message,
    }),
  };
}
