import { call } from './api.js';

/** The parts of a Consumer document (`GET /consumers`) the screens show. */
export interface ConsumerDocument {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { customId?: string; groups?: string[]; scopes?: string[]; metadata?: Record<string, string> };
}

export interface Page<T> {
  items: T[];
  next?: string;
}

/** One page of consumers in name order; `q` searches names and customIds on the server (keyset paging either way). */
export function listConsumers(options: { q?: string; after?: string; limit?: number }): Promise<Page<ConsumerDocument>> {
  const query = new URLSearchParams({ limit: String(options.limit ?? 25) });
  if (options.q !== undefined && options.q !== '') query.set('q', options.q);
  if (options.after !== undefined) query.set('after', options.after);
  return call('GET', `/consumers?${query.toString()}`);
}

export const getConsumer = (name: string) => call<ConsumerDocument>('GET', `/consumers/${encodeURIComponent(name)}`);

export const createConsumer = (name: string, customId: string | undefined) =>
  call<ConsumerDocument>('POST', '/consumers', { apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name }, spec: customId !== undefined && customId !== '' ? { customId } : {} });

/** An API key as listed (never the secret). */
export interface KeyView {
  id: string;
  name?: string;
  source: 'api' | 'config';
  prefix?: string;
  last4?: string;
  createdAt?: string;
  expiresAt?: string;
  revokedAt?: string;
}

export const listKeys = (consumer: string) => call<{ items: KeyView[] }>('GET', `/consumers/${encodeURIComponent(consumer)}/keys`);
export const createKey = (consumer: string, name: string | undefined) =>
  call<KeyView & { key: string; warning: string }>('POST', `/consumers/${encodeURIComponent(consumer)}/keys`, name !== undefined && name !== '' ? { name } : {});
export const revokeKey = (consumer: string, id: string) => call<void>('DELETE', `/consumers/${encodeURIComponent(consumer)}/keys/${encodeURIComponent(id)}`);

export interface QuotaUsage {
  period: string;
  timeZone: string;
  overage: 'hard' | 'allow';
  limit: number;
  used: number;
  remaining: number;
  resetSeconds: number;
}

export interface SubscriptionUsage {
  name: string;
  api: string | null;
  plan: string;
  active: boolean;
  limits: Array<{ window: string; limit: number; used: number; remaining: number; resetSeconds: number }>;
  quota: QuotaUsage | null;
}

/** The consumer's subscriptions with their current window counts and remaining monthly quota. */
export const consumerUsage = (consumer: string) => call<{ consumer: string; subscriptions: SubscriptionUsage[] }>('GET', `/consumers/${encodeURIComponent(consumer)}/usage`);

/**
 * Puts a consumer on a plan (for one API or every API) from now on. POST, not PUT: subscribing
 * twice to the same plan is a 409 the operator sees, never a silent restart of the existing one.
 */
export function subscribe(consumer: string, plan: string, api: string | undefined) {
  const name = `${consumer}-${plan}${api !== undefined ? `-${api}` : ''}`.slice(0, 253).replace(/[^a-z0-9]+$/, '');
  return call('POST', '/subscriptions', {
    apiVersion: 'tollgate.dev/v1',
    kind: 'Subscription',
    metadata: { name },
    spec: { consumer, plan, ...(api !== undefined ? { api } : {}), start: new Date().toISOString() },
  });
}

export interface UsageItem {
  bucket: string;
  consumer: string | null;
  api: string;
  metric: string;
  requests: number;
  units: number;
  billableRequests: number;
}

/** Metered usage from the rollups, per hour over [from, to). */
export function usageByHour(consumer: string, from: Date, to: Date) {
  const query = new URLSearchParams({ consumer, granularity: 'hour', from: from.toISOString(), to: to.toISOString() });
  return call<{ items: UsageItem[]; totals: { requests: number } }>('GET', `/usage?${query.toString()}`);
}
