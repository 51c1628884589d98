import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Developer-portal accounts. One account owns exactly one Consumer (named in `consumer` once the
 * account is active). Only a scrypt digest of the password is stored (`scrypt$N$r$p$salt$key`).
 * `status`: `unverified` (email not yet confirmed), `pending` (waiting for an operator),
 * `active`, `rejected`, `disabled`.
 */
export const portalAccounts = pgTable(
  'portal_accounts',
  {
    /** Prefixed id, e.g. `dev_…`. */
    id: text('id').primaryKey(),
    /** Lower-cased email address; unique. */
    email: text('email').notNull().unique(),
    displayName: text('display_name').notNull().default(''),
    passwordHash: text('password_hash').notNull(),
    status: text('status').notNull(),
    /** Name of the Consumer resource the account acts as (set when it becomes active). */
    consumer: text('consumer').unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true }),
    /** When an operator approved or rejected the account, and who (admin token name). */
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    decidedBy: text('decided_by'),
  },
  (t) => [index('portal_accounts_status_idx').on(t.status)],
);

/**
 * One-time tokens mailed to developers: email verification, password reset and invitations.
 * Only the SHA-256 digest of a token is stored; a token is spent by setting `used_at`.
 */
export const portalTokens = pgTable(
  'portal_tokens',
  {
    hash: text('hash').primaryKey(),
    /** `verify`, `reset` or `invite`. */
    purpose: text('purpose').notNull(),
    /** The account (verify, reset); null for an invitation, which names `email` instead. */
    accountId: text('account_id'),
    email: text('email').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [index('portal_tokens_email_idx').on(t.email)],
);

export type PortalAccountRow = typeof portalAccounts.$inferSelect;
export type PortalTokenRow = typeof portalTokens.$inferSelect;

/**
 * Subscriptions a developer asked for on a plan offered "with approval": an operator approves
 * (the Subscription is applied then) or rejects. `status`: `pending`, `approved`, `rejected`.
 */
export const portalSubscriptionRequests = pgTable(
  'portal_subscription_requests',
  {
    /** Prefixed id, e.g. `sreq_…`. */
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    consumer: text('consumer').notNull(),
    plan: text('plan').notNull(),
    status: text('status').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    decidedBy: text('decided_by'),
    /** Name of the Subscription applied on approval. */
    subscription: text('subscription'),
  },
  (t) => [index('portal_subscription_requests_status_idx').on(t.status), index('portal_subscription_requests_consumer_idx').on(t.consumer)],
);

export type PortalSubscriptionRequestRow = typeof portalSubscriptionRequests.$inferSelect;
