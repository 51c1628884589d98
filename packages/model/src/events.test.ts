import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_EXAMPLES, EVENT_SCHEMAS, EVENT_TYPES, eventMatches, outboxEvent } from './events.js';
import { EVENT_CATALOGUE_BEGIN, EVENT_CATALOGUE_END, renderEventCatalogue } from './reference-docs.js';
import { webhookSpecSchema } from './webhook.js';

describe('event catalogue', () => {
  it('has a valid example for every event type', () => {
    for (const t of EVENT_TYPES) expect(EVENT_SCHEMAS[t].safeParse(EVENT_EXAMPLES[t]).success, t).toBe(true);
  });

  it('docs/events.md holds the generated catalogue (run `npm run docs:events` after changing an event)', () => {
    const doc = readFileSync(new URL('../../../docs/events.md', import.meta.url), 'utf8');
    const start = doc.indexOf(EVENT_CATALOGUE_BEGIN);
    const end = doc.indexOf(EVENT_CATALOGUE_END);
    expect(start).toBeGreaterThan(-1);
    expect(doc.slice(start, end + EVENT_CATALOGUE_END.length + 1)).toBe(renderEventCatalogue());
    for (const t of EVENT_TYPES) expect(doc).toContain(`### \`${t}\``);
  });

  it('matches webhook filters by name, group and wildcard', () => {
    expect(eventMatches(['quota.*'], 'quota.exhausted')).toBe(true);
    expect(eventMatches(['quota.*'], 'quotas.x')).toBe(false);
    expect(eventMatches(['api_key.revoked'], 'api_key.created')).toBe(false);
    expect(eventMatches(['*'], 'config.applied')).toBe(true);
  });

  it('gives events unique, prefixed ids and keeps the dedupe key', () => {
    const a = outboxEvent('api_key.revoked', { keyId: 'k', consumer: 'c' }, 'x');
    const b = outboxEvent('api_key.revoked', { keyId: 'k', consumer: 'c' });
    expect(a.id).toMatch(/^evt_[0-9a-z]{9}[0-9a-f]{16}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.dedupeKey).toBe('x');
    expect(b).not.toHaveProperty('dedupeKey');
  });

  it('validates Webhook specs: filters name known events, secrets are Standard Webhooks secrets, reserved headers refused', () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    expect(webhookSpecSchema.safeParse({ url: 'https://hooks.example.com/x', secret, events: ['quota.*', 'config.applied'] }).success).toBe(true);
    expect(webhookSpecSchema.safeParse({ url: 'https://hooks.example.com/x', secret, events: ['quota.nope'] }).success).toBe(false);
    expect(webhookSpecSchema.safeParse({ url: 'https://hooks.example.com/x', secret: 'hunter2' }).success).toBe(false);
    expect(webhookSpecSchema.safeParse({ url: 'ftp://hooks.example.com/x', secret }).success).toBe(false);
    expect(webhookSpecSchema.safeParse({ url: 'https://hooks.example.com/x', secret, headers: { 'Webhook-Signature': 'v1,x' } }).success).toBe(false);
  });
});
