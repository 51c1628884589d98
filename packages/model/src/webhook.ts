import { z } from 'zod';
import { httpFieldName, httpFieldValue } from './common.js';
import { EVENT_TYPES } from './events.js';

/** A webhook event filter entry: an event name, a `prefix.*` group, or `*` (every event). */
const eventFilter = z
  .string()
  .refine((f) => f === '*' || (EVENT_TYPES as string[]).includes(f) || (f.endsWith('.*') && EVENT_TYPES.some((t) => t.startsWith(f.slice(0, -1)))), {
    message: `must be an event name (${EVENT_TYPES.join(', ')}), a group such as "quota.*", or "*"`,
  });

/** Headers a webhook may not set: the Standard Webhooks ones and what the HTTP client owns. */
const RESERVED_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type', 'content-length', 'host', 'connection', 'transfer-encoding', 'te', 'upgrade']);

export const webhookSpecSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .describe('Where events are POSTed. Loopback, link-local and private addresses, and this node\'s own ports, are refused unless WEBHOOK_ALLOW_PRIVATE / WEBHOOK_ALLOW_CIDRS allow them (checked at apply and, after DNS resolution, at every delivery).'),
    events: z.array(eventFilter).min(1).max(64).default(['*']).describe('Events to deliver: names (`quota.exhausted`), groups (`quota.*`) or `*` for all.'),
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, 'must be a Standard Webhooks secret: "whsec_" followed by at least 24 random bytes in base64')
      .describe('Signing secret (`whsec_` + base64 of 24 to 64 random bytes), shared with the receiver; shown as `<redacted>` on reads and exports.'),
    headers: z
      .record(httpFieldName, httpFieldValue.max(4096))
      .refine((h) => Object.keys(h).every((k) => !RESERVED_HEADERS.has(k.toLowerCase())), 'must not set webhook-id, webhook-timestamp, webhook-signature, content-type or connection headers')
      .refine((h) => Object.keys(h).length <= 32, 'at most 32 headers')
      .optional()
      .describe('Extra request headers (an `authorization` for the receiver, say); values are redacted on reads like secrets.'),
    disabled: z.boolean().default(false).describe('Stop creating deliveries for new events (pending ones are still sent).'),
  })
  .describe('A webhook endpoint: events matching `events` are delivered to `url`, signed per Standard Webhooks.');

export type WebhookSpec = z.infer<typeof webhookSpecSchema>;
