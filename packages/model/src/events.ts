import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * The event catalogue: every event Tollgate raises, by stable name, with the schema of its `data`.
 * Names never change meaning; a field may be added, never removed or retyped. Delivered to webhooks
 * as the Standard Webhooks payload `{ "type", "timestamp", "data" }` (docs/events.md is generated
 * from these schemas and tested against them).
 */
const name = z.string().min(1).max(253);
const actor = z.strictObject({ id: z.string(), name: z.string(), role: z.string() }).describe('The admin who made the change (absent for the environment token or internal writers).');
const percent = z.number().int().min(1).max(100);
const quotaFields = {
  consumer: name.describe('Consumer whose usage crossed the threshold.'),
  subscription: name.describe('Subscription the quota belongs to.'),
  plan: name.describe('Plan defining the quota.'),
  period: z.string().describe('Quota period (`YYYY-MM` in the quota time zone).'),
  used: z.number().int().min(0).describe('Quota units used in the period when the event was raised (from the Postgres rollups).'),
  limit: z.number().int().min(1).describe('The plan quota (units per month).'),
};

export const EVENT_SCHEMAS = {
  'config.applied': z
    .strictObject({
      version: z.number().int().describe('Config version the change committed as (the unchanged current one when only Consumers and Subscriptions changed: those go on the change feed, not into a new version).'),
      changes: z.array(z.strictObject({ kind: z.string(), name, action: z.enum(['create', 'update', 'delete']) })).describe('Resources created, updated or deleted (at most 100 listed).'),
      changeCount: z.number().int().describe('Number of changed resources (also those not listed).'),
      actor: actor.optional(),
    })
    .describe('A configuration change committed (apply, per-resource write or delete).'),
  'config.rejected': z
    .strictObject({
      action: z.string().describe('Admin action refused, e.g. `config.apply`.'),
      status: z.number().int().describe('HTTP status the admin API answered.'),
      detail: z.string().describe('The problem detail (why the change was refused).'),
      actor: actor.optional(),
    })
    .describe('An admin change was refused (invalid configuration, conflict); nothing was applied.'),
  'api.lifecycle_changed': z
    .strictObject({ api: name, from: z.string().describe('State before.'), to: z.string().describe('State after.'), version: z.number().int().describe('Config version of the change.') })
    .describe('An API moved to another lifecycle state (draft, published, deprecated, retired).'),
  'api_key.created': z.strictObject({ keyId: z.string(), consumer: name, prefix: z.string(), last4: z.string() }).describe('An API key was issued to a consumer (never carries the key).'),
  'api_key.revoked': z.strictObject({ keyId: z.string(), consumer: name }).describe('An API key was revoked.'),
  'api_key.used_after_revocation': z
    .strictObject({
      keyId: z.string(),
      consumer: name,
      revokedAt: z.string().describe('RFC 3339 time of the revocation.'),
      node: z.string().describe('Gateway node that refused it first.'),
    })
    .describe('A revoked API key was presented (and refused with 401). Once per key and UTC day across nodes.'),
  'billing.report_ready': z
    .strictObject({ month: z.string().describe('Billing month `YYYY-MM`.'), reportId: z.string(), generatedAt: z.string().describe('RFC 3339 generation time.') })
    .describe('A closed month\'s billing report was generated for the first time or revised.'),
  'quota.threshold': z
    .strictObject({ ...quotaFields, percent: percent.describe('Threshold crossed, in percent of the quota (the plan\'s `quota.alertThresholds`).') })
    .describe('A subscription used at least the given percentage of its monthly quota. Raised once per subscription, period and threshold across all nodes.'),
  'quota.exhausted': z.strictObject(quotaFields).describe('A subscription used its whole monthly quota (further requests get 429 under `overage: hard`). Raised once per subscription and period.'),
  'upstream.target_down': z.strictObject({ upstream: name, target: z.string().describe('`host:port` of the target.'), node: z.string().describe('Gateway node that saw the change first.') }).describe('An upstream target failed its health checks and was taken out of rotation.'),
  'upstream.target_up': z.strictObject({ upstream: name, target: z.string(), node: z.string() }).describe('An upstream target that was down passes its health checks again.'),
  'consumer.rate_limited': z
    .strictObject({
      consumer: name,
      api: name.describe('API of the last refused request.'),
      refused: z.number().int().describe('Gateway 429 answers to the consumer in the window on the reporting node when the event was raised.'),
      threshold: z.number().int().describe('EVENT_RATE_LIMITED_THRESHOLD.'),
      windowStart: z.string().describe('RFC 3339 start of the window (windows are aligned to the epoch).'),
      windowSeconds: z.number().describe('EVENT_WINDOW_MS in seconds.'),
      node: z.string().describe('Gateway node that counted them.'),
    })
    .describe('A consumer was refused with 429 (rate limit or quota) at least EVENT_RATE_LIMITED_THRESHOLD times in one window. Once per consumer and window across nodes.'),
  'api.error_rate_high': z
    .strictObject({
      api: name,
      errorRate: z.number().describe('Share of 5xx answers (0–1) in the window.'),
      requests: z.number().int(),
      errors: z.number().int(),
      threshold: z.number().describe('EVENT_ERROR_RATE_THRESHOLD.'),
      windowStart: z.string(),
      windowSeconds: z.number(),
      node: z.string().describe('Gateway node whose traffic was judged.'),
    })
    .describe('An API answered more than EVENT_ERROR_RATE_THRESHOLD 5xx over a completed window (with at least EVENT_ERROR_RATE_MIN_REQUESTS answers). Latched: raised again only after `api.error_rate_normal`.'),
  'api.error_rate_normal': z
    .strictObject({ api: name, errorRate: z.number(), requests: z.number().int(), errors: z.number().int(), threshold: z.number(), windowStart: z.string(), windowSeconds: z.number(), node: z.string() })
    .describe('An API whose error rate was high is at or below the threshold again over a completed window.'),
  'certificate.expiring': z
    .strictObject({
      certificate: name.describe('Certificate resource name.'),
      notAfter: z.string().describe('RFC 3339 end of validity of the served leaf.'),
      daysLeft: z.number().int().describe('Whole days left when the event was raised (negative once expired).'),
      thresholdDays: z.number().int().describe('Warning threshold crossed (30, 14, 7 or 1 days).'),
      fingerprint: z.string().describe('SHA-256 fingerprint of the leaf (hex), so a renewed certificate warns again.'),
    })
    .describe('A served TLS certificate expires within 30, 14, 7 or 1 days. Raised once per certificate and threshold across all nodes.'),
  'webhook.test': z.strictObject({ webhook: name, message: z.string() }).describe('Sent by `POST /webhooks/{name}/test`; raised only for that webhook.'),
} as const;

/** Every event name. */
export type EventType = keyof typeof EVENT_SCHEMAS;
/** The `data` of one event type. */
export type EventData<T extends EventType> = z.infer<(typeof EVENT_SCHEMAS)[T]>;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];

/** An event to write into the outbox. */
export interface OutboxEvent {
  readonly id: string;
  readonly type: EventType;
  readonly data: Record<string, unknown>;
  /** Unique across the outbox: the same condition raised again (another node, a retry) is dropped. */
  readonly dedupeKey?: string;
}

/** A new event id: `evt_` + time (sortable) + random. */
export function newEventId(): string {
  return `evt_${Date.now().toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}

/** A typed event, ready for the outbox. */
export function outboxEvent<T extends EventType>(type: T, data: EventData<T>, dedupeKey?: string): OutboxEvent {
  return { id: newEventId(), type, data: data as Record<string, unknown>, ...(dedupeKey !== undefined ? { dedupeKey } : {}) };
}

/** Whether `type` is in the catalogue. */
export function isEventType(type: unknown): type is EventType {
  return typeof type === 'string' && Object.hasOwn(EVENT_SCHEMAS, type);
}

/** Whether an event type matches a webhook filter entry: exact name, `prefix.*`, or `*`. */
export function eventMatches(filter: readonly string[], type: string): boolean {
  for (const f of filter) {
    if (f === '*' || f === type) return true;
    if (f.endsWith('.*') && type.startsWith(f.slice(0, -1))) return true;
  }
  return false;
}

/** The JSON schema (draft 2020-12) of each event's `data`, for docs/events.md and receivers. */
export function eventJsonSchemas(): Record<EventType, unknown> {
  const out = {} as Record<EventType, unknown>;
  for (const t of EVENT_TYPES) out[t] = z.toJSONSchema(EVENT_SCHEMAS[t], { io: 'output' });
  return out;
}

/**
 * One example `data` per event (type-checked against the catalogue here, and parsed by its schema in
 * a test), shown in docs/events.md.
 */
export const EVENT_EXAMPLES: { readonly [T in EventType]: EventData<T> } = {
  'config.applied': { version: 42, changes: [{ kind: 'Plan', name: 'pro', action: 'update' }], changeCount: 1, actor: { id: 'tok_3f9a', name: 'ci', role: 'admin' } },
  'config.rejected': { action: 'config.apply', status: 422, detail: 'the resulting configuration is invalid: Api/shop: spec.routes[0].destination.upstream: Upstream/missing does not exist', actor: { id: 'tok_3f9a', name: 'ci', role: 'admin' } },
  'api.lifecycle_changed': { api: 'shop-v1', from: 'published', to: 'deprecated', version: 43 },
  'api_key.created': { keyId: 'key_01hx7c2k', consumer: 'acme', prefix: 'tg_live_', last4: 'x9Qz' },
  'api_key.revoked': { keyId: 'key_01hx7c2k', consumer: 'acme' },
  'api_key.used_after_revocation': { keyId: 'key_01hx7c2k', consumer: 'acme', revokedAt: '2026-12-06T17:42:10.311Z', node: 'gw-1/4121/mhq3x9k2a1b2c3d4' },
  'billing.report_ready': { month: '2026-11', reportId: 'rpt_202611_r0_4be1a9c07d2f', generatedAt: '2026-12-01T01:00:04.118Z' },
  'quota.threshold': { consumer: 'acme', subscription: 'acme-pro', plan: 'pro', period: '2026-12', used: 80_012, limit: 100_000, percent: 80 },
  'quota.exhausted': { consumer: 'acme', subscription: 'acme-pro', plan: 'pro', period: '2026-12', used: 100_000, limit: 100_000 },
  'upstream.target_down': { upstream: 'orders', target: '10.0.3.17:8080', node: 'gw-1/4121/mhq3x9k2a1b2c3d4' },
  'upstream.target_up': { upstream: 'orders', target: '10.0.3.17:8080', node: 'gw-2/977/mhq3xa01e5f6a7b8' },
  'consumer.rate_limited': { consumer: 'acme', api: 'shop', refused: 50, threshold: 50, windowStart: '2026-12-07T06:00:00.000Z', windowSeconds: 300, node: 'gw-1/4121/mhq3x9k2a1b2c3d4' },
  'api.error_rate_high': { api: 'shop', errorRate: 0.125, requests: 4_000, errors: 500, threshold: 0.05, windowStart: '2026-12-07T06:00:00.000Z', windowSeconds: 300, node: 'gw-1/4121/mhq3x9k2a1b2c3d4' },
  'api.error_rate_normal': { api: 'shop', errorRate: 0.002, requests: 4_100, errors: 8, threshold: 0.05, windowStart: '2026-12-07T06:05:00.000Z', windowSeconds: 300, node: 'gw-1/4121/mhq3x9k2a1b2c3d4' },
  'certificate.expiring': { certificate: 'api-example-com', notAfter: '2026-12-20T23:59:59.000Z', daysLeft: 13, thresholdDays: 14, fingerprint: '5e0c…' },
  'webhook.test': { webhook: 'ops-alerts', message: 'Test event sent from the Tollgate admin API' },
};
