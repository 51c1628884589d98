/**
 * The portal's only way to the server: `/api/…` on the portal's own origin, authenticated by the
 * HttpOnly session cookie (never readable here), with the CSRF token on every change.
 */

export interface Account {
  id: string;
  email: string;
  displayName: string;
  status: 'unverified' | 'pending' | 'active' | 'rejected' | 'disabled';
  consumer: string | null;
  createdAt: string;
}
export interface Session {
  account: Account;
  csrfToken: string;
}
export interface Branding {
  title: string;
  hasLogo: boolean;
  signup: 'closed' | 'invite' | 'approval' | 'open';
  gatewayUrl: string;
}
export interface CatalogueEntry {
  name: string;
  product: string;
  version: string;
  description: string;
  basePath: string;
  state: 'draft' | 'published' | 'deprecated';
  sunsetAt: string | null;
  successor: string | null;
  hasReference: boolean;
  routes: number;
}
export interface Key {
  id: string;
  name?: string;
  prefix?: string;
  last4?: string;
  createdAt?: string;
  revokedAt?: string;
}
export interface Plan {
  name: string;
  offer: 'self-service' | 'approval';
  description: string;
  limits: Array<{ limit: number; window: string }>;
  quota: { limit: number; overage: string } | null;
  price: { currency: string; baseFee: number; includedUnits: number } | null;
}
export interface Usage {
  name: string;
  api: string | null;
  plan: string;
  active: boolean;
  start: string | null;
  end: string | null;
  limits: Array<{ window: string; limit: number; used: number; remaining: number; resetSeconds: number }>;
  quota: { period: string; limit: number; used: number; remaining: number; resetSeconds: number } | null;
}

export interface SubscriptionRequest {
  id: string;
  plan: string;
  status: 'pending' | 'approved' | 'rejected';
  createdAt: string;
}

export interface OAuthClient {
  clientId: string;
  name?: string;
  scopes: string[];
  createdAt: string;
  revokedAt?: string;
}
export interface SignatureKey {
  keyId: string;
  algorithm: 'ed25519' | 'hmac-sha256';
  publicKey?: string;
  expiresAt?: string;
}
export type NewSignatureKey = SignatureKey & { secret?: string };

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, detail: string) {
    super(detail);
    this.name = 'ApiError';
  }
}

let csrf: string | undefined;
export const rememberCsrf = (token: string | undefined): void => {
  csrf = token;
};

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf !== undefined) headers['x-csrf-token'] = csrf;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The portal cannot be reached. Check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const p = (json ?? {}) as { code?: unknown; detail?: unknown };
    throw new ApiError(res.status, typeof p.code === 'string' ? p.code : `HTTP_${res.status}`, typeof p.detail === 'string' ? p.detail : `HTTP ${res.status}`);
  }
  return json as T;
}

export const api = {
  branding: () => call<Branding>('GET', '/api/branding'),
  session: () => call<Session>('GET', '/api/session'),
  signIn: (email: string, password: string) => call<Session>('POST', '/api/session', { email, password }),
  signOut: () => call<void>('DELETE', '/api/session'),
  signUp: (body: { email: string; password: string; displayName: string; invite?: string }) => call<{ status: string; next: string }>('POST', '/api/sign-up', body),
  verify: (token: string) => call<{ status: string }>('POST', '/api/verify', { token }),
  forgot: (email: string) => call<{ next: string }>('POST', '/api/password-reset', { email }),
  reset: (token: string, password: string) => call<{ status: string }>('POST', '/api/password-reset/confirm', { token, password }),
  catalogue: () => call<{ items: CatalogueEntry[] }>('GET', '/api/catalogue'),
  keys: () => call<{ items: Key[] }>('GET', '/api/keys'),
  createKey: (name: string) => call<Key & { key: string }>('POST', '/api/keys', { name }),
  revokeKey: (id: string) => call<void>('DELETE', `/api/keys/${encodeURIComponent(id)}`),
  plans: () => call<{ items: Plan[] }>('GET', '/api/plans'),
  subscriptions: () => call<{ items: Usage[] }>('GET', '/api/subscriptions'),
  subscribe: (plan: string, when: 'now' | 'next-period' = 'now') => call<{ items?: Usage[]; request?: SubscriptionRequest }>('POST', '/api/subscriptions', { plan, when }),
  oauthClients: () => call<{ scopes: string[]; items: OAuthClient[] }>('GET', '/api/oauth-clients'),
  createOAuthClient: (name: string, scopes: string[]) => call<OAuthClient & { clientSecret: string }>('POST', '/api/oauth-clients', { name, scopes }),
  revokeOAuthClient: (id: string) => call<void>('DELETE', `/api/oauth-clients/${encodeURIComponent(id)}`),
  signatureKeys: () => call<{ items: SignatureKey[] }>('GET', '/api/signature-keys'),
  addSignatureKey: (key: NewSignatureKey) => call<{ items: SignatureKey[] }>('POST', '/api/signature-keys', key),
  removeSignatureKey: (keyId: string) => call<void>('DELETE', `/api/signature-keys/${encodeURIComponent(keyId)}`),
  requests: () => call<{ items: SubscriptionRequest[] }>('GET', '/api/subscription-requests'),
};
