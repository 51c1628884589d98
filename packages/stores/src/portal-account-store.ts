import { and, asc, eq, gt, isNull } from 'drizzle-orm';
import { portalAccounts, portalSubscriptionRequests, portalTokens, type Database, type PortalAccountRow, type PortalSubscriptionRequestRow } from '@tollgate/db';

/** Where a portal account stands. */
export const PORTAL_ACCOUNT_STATUSES = ['unverified', 'pending', 'active', 'rejected', 'disabled'] as const;
export type PortalAccountStatus = (typeof PORTAL_ACCOUNT_STATUSES)[number];

/** What a one-time mailed token is for. */
export type PortalTokenPurpose = 'verify' | 'reset' | 'invite';

/** A developer-portal account; `passwordHash` never leaves the server. */
export interface PortalAccount {
  id: string;
  email: string;
  displayName: string;
  passwordHash: string;
  status: PortalAccountStatus;
  /** The Consumer the account acts as, once active. */
  consumer?: string;
  createdAt: Date;
  emailVerifiedAt?: Date;
  decidedAt?: Date;
  decidedBy?: string;
}

export interface NewPortalAccount {
  id: string;
  email: string;
  displayName: string;
  passwordHash: string;
  status: PortalAccountStatus;
}

/** Changes to an account (only the fields given change). */
export interface PortalAccountPatch {
  status?: PortalAccountStatus;
  consumer?: string;
  passwordHash?: string;
  emailVerifiedAt?: Date;
  decidedAt?: Date;
  decidedBy?: string;
}

export interface NewPortalToken {
  /** SHA-256 (hex) of the token mailed; the token itself is never stored. */
  hash: string;
  purpose: PortalTokenPurpose;
  accountId?: string;
  email: string;
  expiresAt: Date;
}

export interface SpentPortalToken {
  purpose: PortalTokenPurpose;
  accountId?: string;
  email: string;
}

/** A subscription a developer asked for on a plan that needs an operator's approval. */
export interface PortalSubscriptionRequest {
  id: string;
  accountId: string;
  consumer: string;
  plan: string;
  status: 'pending' | 'approved' | 'rejected';
  createdAt: Date;
  decidedAt?: Date;
  decidedBy?: string;
  /** The Subscription applied on approval. */
  subscription?: string;
}

/** The email address is taken by another account. */
export class PortalEmailTakenError extends Error {
  constructor(readonly email: string) {
    super(`an account with email ${email} exists`);
    this.name = 'PortalEmailTakenError';
  }
}

/** Accounts of the developer portal and their one-time mailed tokens. */
export interface PortalAccountStore {
  create(account: NewPortalAccount): Promise<PortalAccount>;
  get(id: string): Promise<PortalAccount | undefined>;
  /** By email, compared lower-cased. */
  findByEmail(email: string): Promise<PortalAccount | undefined>;
  /** Accounts, oldest first, optionally of one status. */
  list(filter?: { status?: PortalAccountStatus }): Promise<PortalAccount[]>;
  /** Applies a patch; undefined when no such account. With `ifStatus`, only while the account is in that status. */
  update(id: string, patch: PortalAccountPatch, ifStatus?: PortalAccountStatus): Promise<PortalAccount | undefined>;
  issueToken(token: NewPortalToken): Promise<void>;
  /**
   * Spends a token: succeeds once, only for its purpose and before it expires (atomic, so two
   * concurrent uses cannot both succeed). Undefined when unknown, spent, expired or of another purpose.
   */
  spendToken(hash: string, purpose: PortalTokenPurpose, now?: Date): Promise<SpentPortalToken | undefined>;
  /** Records a pending subscription request. */
  requestSubscription(request: { id: string; accountId: string; consumer: string; plan: string }): Promise<PortalSubscriptionRequest>;
  getSubscriptionRequest(id: string): Promise<PortalSubscriptionRequest | undefined>;
  /** Requests, oldest first, optionally of one status and/or one consumer. */
  listSubscriptionRequests(filter?: { status?: PortalSubscriptionRequest['status']; consumer?: string }): Promise<PortalSubscriptionRequest[]>;
  /** Decides a request still pending (atomic: two operators cannot both decide it); undefined otherwise. */
  decideSubscriptionRequest(id: string, decision: { status: 'approved' | 'rejected'; decidedBy: string; subscription?: string }): Promise<PortalSubscriptionRequest | undefined>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function toAccount(row: PortalAccountRow): PortalAccount {
  return {
    id: row.id,
    email: row.email,
    displayName: row.displayName,
    passwordHash: row.passwordHash,
    status: row.status as PortalAccountStatus,
    createdAt: row.createdAt,
    ...(row.consumer !== null ? { consumer: row.consumer } : {}),
    ...(row.emailVerifiedAt ? { emailVerifiedAt: row.emailVerifiedAt } : {}),
    ...(row.decidedAt ? { decidedAt: row.decidedAt } : {}),
    ...(row.decidedBy !== null ? { decidedBy: row.decidedBy } : {}),
  };
}

function toRequest(row: PortalSubscriptionRequestRow): PortalSubscriptionRequest {
  return {
    id: row.id,
    accountId: row.accountId,
    consumer: row.consumer,
    plan: row.plan,
    status: row.status as PortalSubscriptionRequest['status'],
    createdAt: row.createdAt,
    ...(row.decidedAt ? { decidedAt: row.decidedAt } : {}),
    ...(row.decidedBy !== null ? { decidedBy: row.decidedBy } : {}),
    ...(row.subscription !== null ? { subscription: row.subscription } : {}),
  };
}

/** Postgres unique violation (SQLSTATE 23505), from `pg` or PGlite, possibly wrapped by drizzle. */
function uniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}

/** Portal accounts in `portal_accounts` / `portal_tokens` (Postgres or PGlite through drizzle). */
export class SqlPortalAccountStore implements PortalAccountStore {
  constructor(private readonly db: Database) {}

  async create(account: NewPortalAccount): Promise<PortalAccount> {
    const email = account.email.toLowerCase();
    try {
      const rows = await this.db.insert(portalAccounts).values({ ...account, email }).returning();
      const row = rows[0];
      if (!row) throw new Error('insert returned no row');
      return toAccount(row);
    } catch (err) {
      if (uniqueViolation(err)) throw new PortalEmailTakenError(email);
      throw err;
    }
  }

  async get(id: string): Promise<PortalAccount | undefined> {
    const rows = await this.db.select().from(portalAccounts).where(eq(portalAccounts.id, id));
    return rows[0] ? toAccount(rows[0]) : undefined;
  }

  async findByEmail(email: string): Promise<PortalAccount | undefined> {
    const rows = await this.db.select().from(portalAccounts).where(eq(portalAccounts.email, email.toLowerCase()));
    return rows[0] ? toAccount(rows[0]) : undefined;
  }

  async list(filter: { status?: PortalAccountStatus } = {}): Promise<PortalAccount[]> {
    const query = this.db.select().from(portalAccounts);
    const rows = await (filter.status === undefined ? query : query.where(eq(portalAccounts.status, filter.status))).orderBy(asc(portalAccounts.createdAt), asc(portalAccounts.id));
    return rows.map(toAccount);
  }

  async update(id: string, patch: PortalAccountPatch, ifStatus?: PortalAccountStatus): Promise<PortalAccount | undefined> {
    const where = ifStatus === undefined ? eq(portalAccounts.id, id) : and(eq(portalAccounts.id, id), eq(portalAccounts.status, ifStatus));
    const rows = await this.db.update(portalAccounts).set(patch).where(where).returning();
    return rows[0] ? toAccount(rows[0]) : undefined;
  }

  async issueToken(token: NewPortalToken): Promise<void> {
    // Refusing anything but a digest keeps a caller from storing a mailed token in clear.
    if (!SHA256_HEX.test(token.hash)) throw new TypeError('portal token hash must be a lower-case SHA-256 hex digest');
    await this.db.insert(portalTokens).values({ hash: token.hash, purpose: token.purpose, accountId: token.accountId ?? null, email: token.email.toLowerCase(), expiresAt: token.expiresAt });
  }

  async spendToken(hash: string, purpose: PortalTokenPurpose, now: Date = new Date()): Promise<SpentPortalToken | undefined> {
    const rows = await this.db
      .update(portalTokens)
      .set({ usedAt: now })
      .where(and(eq(portalTokens.hash, hash), eq(portalTokens.purpose, purpose), isNull(portalTokens.usedAt), gt(portalTokens.expiresAt, now)))
      .returning();
    const row = rows[0];
    if (!row) return undefined;
    return { purpose: row.purpose as PortalTokenPurpose, email: row.email, ...(row.accountId !== null ? { accountId: row.accountId } : {}) };
  }

  async requestSubscription(request: { id: string; accountId: string; consumer: string; plan: string }): Promise<PortalSubscriptionRequest> {
    const rows = await this.db.insert(portalSubscriptionRequests).values({ ...request, status: 'pending' }).returning();
    const row = rows[0];
    if (!row) throw new Error('insert returned no row');
    return toRequest(row);
  }

  async getSubscriptionRequest(id: string): Promise<PortalSubscriptionRequest | undefined> {
    const rows = await this.db.select().from(portalSubscriptionRequests).where(eq(portalSubscriptionRequests.id, id));
    return rows[0] ? toRequest(rows[0]) : undefined;
  }

  async listSubscriptionRequests(filter: { status?: PortalSubscriptionRequest['status']; consumer?: string } = {}): Promise<PortalSubscriptionRequest[]> {
    const conditions = [
      ...(filter.status !== undefined ? [eq(portalSubscriptionRequests.status, filter.status)] : []),
      ...(filter.consumer !== undefined ? [eq(portalSubscriptionRequests.consumer, filter.consumer)] : []),
    ];
    const rows = await this.db
      .select()
      .from(portalSubscriptionRequests)
      .where(conditions.length > 0 ? and(...conditions) : undefined)
      .orderBy(asc(portalSubscriptionRequests.createdAt), asc(portalSubscriptionRequests.id));
    return rows.map(toRequest);
  }

  async decideSubscriptionRequest(id: string, decision: { status: 'approved' | 'rejected'; decidedBy: string; subscription?: string }): Promise<PortalSubscriptionRequest | undefined> {
    const rows = await this.db
      .update(portalSubscriptionRequests)
      .set({ status: decision.status, decidedBy: decision.decidedBy, decidedAt: new Date(), subscription: decision.subscription ?? null })
      .where(and(eq(portalSubscriptionRequests.id, id), eq(portalSubscriptionRequests.status, 'pending')))
      .returning();
    return rows[0] ? toRequest(rows[0]) : undefined;
  }
}
