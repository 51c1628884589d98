/**
 * The console's only way to the server: the public admin REST API, same origin, authenticated by
 * the HttpOnly session cookie (never readable here), with the session's CSRF token on every
 * request that changes something.
 */

/** The admin roles (apps/admin/src/permissions.ts). */
export type Role = 'admin' | 'operator' | 'viewer' | 'billing';

/** `GET /console/session`. */
export interface SessionInfo {
  role: Role;
  name: string;
  csrfToken: string;
  idleSecondsLeft: number;
}

/** One located issue of a problem's `errors[]` (document index, field path, 1-based YAML line). */
export interface ProblemItem {
  document?: number;
  resource?: string;
  path: string;
  line?: number;
  code: string;
  message: string;
}

/** An RFC 9457 problem answered by the admin API (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly errors: readonly ProblemItem[] = [],
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

let csrfToken: string | undefined;
let onSessionEnded: (() => void) | undefined;

/** Remembers the CSRF token of the current session (kept in memory only, gone on reload). */
export function rememberCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when the server answers 401: the session ended (idle, revoked, signed out elsewhere). */
export function whenSessionEnds(callback: () => void): void {
  onSessionEnded = callback;
}

const SAFE = new Set(['GET', 'HEAD']);

/** A body sent as is (YAML text) with its media type, instead of as JSON. */
export class RawBody {
  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {}
}

/** Calls the admin API; resolves with the JSON body, rejects with an ApiError. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['content-type'] = body instanceof RawBody ? body.contentType : 'application/json';
  if (!SAFE.has(method) && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    const payload = body instanceof RawBody ? body.text : body !== undefined ? JSON.stringify(body) : undefined;
    res = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store', ...(payload !== undefined ? { body: payload } : {}) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The admin API cannot be reached. Check that Tollgate is running and try again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const json: unknown = text === '' ? undefined : safeJson(text);
  if (!res.ok) {
    const problem = (json ?? {}) as { code?: unknown; detail?: unknown; title?: unknown; errors?: unknown };
    const detail = typeof problem.detail === 'string' ? problem.detail : typeof problem.title === 'string' ? problem.title : `HTTP ${res.status}`;
    const errors = Array.isArray(problem.errors) ? (problem.errors as ProblemItem[]) : [];
    const error = new ApiError(res.status, typeof problem.code === 'string' ? problem.code : `HTTP_${res.status}`, detail, errors);
    if (res.status === 401 && path !== '/console/session') onSessionEnded?.();
    throw error;
  }
  return json as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Signs in: the token goes in the body of one POST and is not kept anywhere. */
export const signIn = (token: string) => call<SessionInfo>('POST', '/console/session', { token });
export const currentSession = () => call<SessionInfo>('GET', '/console/session');
export const signOut = () => call<void>('DELETE', '/console/session');

/** What a role may see, mirroring the server's permission table (the server still decides). */
export const canReadConfig = (role: Role): boolean => role !== 'billing';
/** Roles holding `config:write`: apply, import, lifecycle transitions. */
export const canWriteConfig = (role: Role): boolean => role === 'admin' || role === 'operator';
