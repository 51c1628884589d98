import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Stable machine-readable error codes of the admin API, with the HTTP status each always
 * carries. Clients branch on `code`, never on `title` or `detail`.
 */
export const PROBLEM_STATUS = {
  /**
   * The body cannot be read: not UTF-8, not JSON or YAML syntax, empty where JSON is sent, JSON or
   * YAML refused while reading (a repeated key, nesting too deep, U+0000, an alias bomb), or not
   * exactly one document where documents are expected. No field of it was looked at.
   */
  INVALID_BODY: 400,
  /**
   * The request was read, but a value in it is wrong or not acceptable: a path or query parameter,
   * or a field of a JSON body (wrong type, missing, unknown, out of range, an expiry in the past, a
   * limit reached); `errors[].path` says where (`params.id`, `querystring.limit`, `body.name`).
   * Documents that break the resource model are 422 INVALID_CONFIG instead.
   */
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ALREADY_EXISTS: 409,
  /** Deleting the resource would leave a reference to it dangling. */
  REFERENCED: 409,
  /** The requested API lifecycle transition is not allowed from its current state. */
  INVALID_TRANSITION: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** Well-formed documents that break the resource model or do not compile as a set. */
  INVALID_CONFIG: 422,
  /** Keys were asked for Consumers that do not exist (`POST /keys/bulk`); nothing was created. */
  UNKNOWN_CONSUMER: 422,
  /** Too many failed admin authentications from this address (RFC 6585 §4). */
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  /** Postgres is unreachable, restarting or timed out: retry after `Retry-After` seconds. */
  DATABASE_UNAVAILABLE: 503,
  /** This admin process is stopping (graceful close): retry, another instance answers. */
  SHUTTING_DOWN: 503,
} as const;

/** One of the admin API's problem codes. */
export type ProblemCode = keyof typeof PROBLEM_STATUS;

const TITLES: Record<ProblemCode, string> = {
  INVALID_BODY: 'The request body could not be parsed',
  INVALID_REQUEST: 'The request is invalid',
  UNAUTHORIZED: 'Authentication required',
  FORBIDDEN: 'Not allowed for this token',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  ALREADY_EXISTS: 'The resource already exists',
  REFERENCED: 'The resource is still referenced',
  INVALID_TRANSITION: 'The lifecycle transition is not allowed',
  PAYLOAD_TOO_LARGE: 'The request body is too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  INVALID_CONFIG: 'The configuration is invalid',
  UNKNOWN_CONSUMER: 'A consumer named in the request does not exist',
  TOO_MANY_REQUESTS: 'Too many requests',
  INTERNAL: 'Internal server error',
  UNAVAILABLE: 'Service unavailable',
  DATABASE_UNAVAILABLE: 'The database is unavailable',
  SHUTTING_DOWN: 'The server is shutting down',
};

/** A located problem in submitted documents (the `errors` member of a problem). */
export interface ProblemItem {
  /** Zero-based index of the submitted document. */
  document?: number;
  /** `Kind/name` of the resource. */
  resource?: string;
  /** Field path: `params.name`, `querystring.limit`, `body.<field>`, or a path inside a submitted document (`spec.routes[0].destination.upstream`); docs/errors.md, "Admin API". */
  path: string;
  /** 1-based line in the submitted YAML. */
  line?: number;
  code: string;
  message: string;
}

/** RFC 9457 problem details, with Tollgate's extension members `code`, `requestId`, `errors`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ProblemCode;
  requestId: string;
  errors?: ProblemItem[];
}

/** Media type of every error response (RFC 9457 §3). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An error a handler throws to answer with a specific problem. */
export class ProblemError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly errors: ProblemItem[] | undefined;
  readonly headers: Record<string, string>;
  constructor(code: ProblemCode, detail: string, options: { errors?: ProblemItem[]; headers?: Record<string, string> } = {}) {
    super(detail);
    this.name = 'ProblemError';
    this.code = code;
    this.status = PROBLEM_STATUS[code];
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

/**
 * The `type` URI of a code: a stable identifier that may later resolve to documentation (RFC 9457
 * §3.1.1). One namespace with the gateway's problems (`https://tollgate.dev/errors/<code>`), so a
 * client maps every Tollgate problem type the same way.
 */
export function problemType(code: ProblemCode): string {
  return `https://tollgate.dev/errors/${code.toLowerCase().replaceAll('_', '-')}`;
}

/** Builds the problem document for a request. */
export function buildProblem(request: FastifyRequest, code: ProblemCode, detail: string, errors?: ProblemItem[]): Problem {
  const problem: Problem = {
    type: problemType(code),
    title: TITLES[code],
    status: PROBLEM_STATUS[code],
    detail,
    instance: request.url,
    code,
    requestId: request.id,
  };
  if (errors && errors.length > 0) problem.errors = errors;
  return problem;
}

/** Sends a problem; serialized here so no route's response schema can reshape it. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, code: ProblemCode, detail: string, options: { errors?: ProblemItem[]; headers?: Record<string, string> } = {}): FastifyReply {
  const problem = buildProblem(request, code, detail, options.errors);
  for (const [name, value] of Object.entries(options.headers ?? {})) reply.header(name, value);
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}
