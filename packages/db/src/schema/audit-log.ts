import { bigint, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Append-only record of every admin mutation (successful or refused) and every failed admin
 * authentication. `before`/`after` are redacted before they are written: no key, secret or
 * private key ever reaches this table.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    // Identity column: ids grow with insertion, so they serve as the keyset pagination cursor.
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actorId: text('actor_id'),
    actorName: text('actor_name'),
    actorRole: text('actor_role'),
    action: text('action').notNull(),
    resourceKind: text('resource_kind'),
    resourceName: text('resource_name'),
    requestId: text('request_id'),
    clientAddress: text('client_address'),
    /** `success`, `denied` (403), `unauthenticated` (401), `rejected` (other 4xx), `dry_run`, `error` (5xx). */
    outcome: text('outcome').notNull(),
    status: integer('status'),
    detail: text('detail'),
    before: jsonb('before'),
    after: jsonb('after'),
  },
  (t) => [index('audit_log_at_idx').on(t.at), index('audit_log_actor_idx').on(t.actorId, t.id), index('audit_log_action_idx').on(t.action, t.id)],
);

/** A row of `audit_log` as read. */
export type AuditLogRow = typeof auditLog.$inferSelect;
