import { and, asc, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import { oauthClients, oauthSigningKeys, resources, type Database, type OAuthClientRow, type OAuthSigningKeyRow } from '@tollgate/db';
import { RecordNotFoundError, ResourceConflictError, type AuditContext } from './config-store.js';
import type { NewOAuthClient, OAuthClientRecord, OAuthClientStore, SigningKeyRecord, SigningKeyStore, StoredOAuthClient } from './oauth-store.js';
import { bumpVersion, readVersion, writeAudit, type Tx } from './sql-tx.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

function toRecord(row: OAuthClientRow): OAuthClientRecord {
  return {
    id: row.id,
    consumer: row.consumer,
    secretHash: row.secretHash,
    scopes: [...row.scopes],
    createdAt: row.createdAt,
    ...(row.name !== null ? { name: row.name } : {}),
    ...(row.revokedAt ? { revokedAt: row.revokedAt } : {}),
  };
}

/** What the audit log keeps of a client: never its secret digest. */
function auditView(c: OAuthClientRecord): Record<string, unknown> {
  const { secretHash: _hash, ...rest } = c;
  return rest;
}

/** The active clients, as a config snapshot hands them to the gateway (read in the snapshot's transaction). */
export async function activeOAuthClients(db: Database | Tx): Promise<StoredOAuthClient[]> {
  const rows = await db.select().from(oauthClients).where(isNull(oauthClients.revokedAt)).orderBy(asc(oauthClients.id));
  return rows.map((r) => ({ id: r.id, consumer: r.consumer, secretHash: r.secretHash, scopes: [...r.scopes] }));
}

/** OAuth clients in `oauth_clients`; each write takes the config lock and bumps the version. */
export class SqlOAuthClientStore implements OAuthClientStore {
  constructor(private readonly db: Database) {}

  async create(client: NewOAuthClient, audit?: AuditContext): Promise<{ client: OAuthClientRecord; version: number }> {
    // Refusing anything but a digest keeps a caller from storing a plaintext secret.
    if (!SHA256_HEX.test(client.secretHash)) throw new TypeError('client secret hash must be a lower-case SHA-256 hex digest');
    return this.db.transaction(async (tx) => {
      const version = (await readVersion(tx, true)) + 1;
      const found = await tx
        .select({ name: resources.name })
        .from(resources)
        .where(and(eq(resources.kind, 'Consumer'), eq(resources.name, client.consumer)));
      if (found.length === 0) throw new ResourceConflictError('Consumer', client.consumer, 'not_found');
      const rows = await tx.insert(oauthClients).values({ id: client.id, consumer: client.consumer, secretHash: client.secretHash, scopes: client.scopes, name: client.name ?? null }).returning();
      const row = rows[0];
      if (!row) throw new Error('insert returned no row');
      const record = toRecord(row);
      await bumpVersion(tx, version);
      if (audit) await writeAudit(tx, { ...audit, outcome: 'success', after: auditView(record) });
      return { client: record, version };
    });
  }

  async list(consumer: string): Promise<OAuthClientRecord[]> {
    const rows = await this.db.select().from(oauthClients).where(eq(oauthClients.consumer, consumer)).orderBy(asc(oauthClients.createdAt), asc(oauthClients.id));
    return rows.map(toRecord);
  }

  async revoke(consumer: string, id: string, audit?: AuditContext): Promise<{ client: OAuthClientRecord; version: number }> {
    return this.db.transaction(async (tx) => {
      const version = (await readVersion(tx, true)) + 1;
      const rows = await tx
        .update(oauthClients)
        .set({ revokedAt: sql`now()` })
        .where(and(eq(oauthClients.id, id), eq(oauthClients.consumer, consumer), isNull(oauthClients.revokedAt)))
        .returning();
      const row = rows[0];
      if (!row) throw new RecordNotFoundError(`Consumer/${consumer} has no active OAuth client ${id}`);
      const record = toRecord(row);
      await bumpVersion(tx, version);
      if (audit) {
        const { revokedAt: _r, ...before } = auditView(record);
        await writeAudit(tx, { ...audit, outcome: 'success', before, after: auditView(record) });
      }
      return { client: record, version };
    });
  }
}

function toKey(row: OAuthSigningKeyRow): SigningKeyRecord {
  return { kid: row.kid, alg: row.alg, publicJwk: row.publicJwk, privatePem: row.privatePem, activeFrom: row.activeFrom, activeUntil: row.activeUntil, retireAt: row.retireAt };
}

/** Signing keys in `oauth_signing_keys`. */
export class SqlSigningKeyStore implements SigningKeyStore {
  constructor(private readonly db: Database) {}

  async listLive(now: Date): Promise<SigningKeyRecord[]> {
    const rows = await this.db.select().from(oauthSigningKeys).where(gt(oauthSigningKeys.retireAt, now)).orderBy(asc(oauthSigningKeys.activeFrom), asc(oauthSigningKeys.kid));
    return rows.map(toKey);
  }

  async insertIfAbsent(key: SigningKeyRecord): Promise<SigningKeyRecord> {
    await this.db.insert(oauthSigningKeys).values(key).onConflictDoNothing({ target: oauthSigningKeys.kid });
    const rows = await this.db.select().from(oauthSigningKeys).where(eq(oauthSigningKeys.kid, key.kid));
    const row = rows[0];
    if (!row) throw new Error(`signing key ${key.kid} vanished after insert`);
    return toKey(row);
  }

  async deleteRetired(now: Date): Promise<number> {
    const rows = await this.db.delete(oauthSigningKeys).where(lte(oauthSigningKeys.retireAt, now)).returning({ kid: oauthSigningKeys.kid });
    return rows.length;
  }
}
