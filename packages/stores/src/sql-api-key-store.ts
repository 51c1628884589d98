import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { apiKeys, resources, writeEvents, type ApiKeyRow, type Database } from '@tollgate/db';
import { outboxEvent, type OutboxEvent } from '@tollgate/model';
import { ConsumersNotFoundError, RecordNotFoundError, ResourceConflictError, type ApiKeyRecord, type ApiKeyStore, type AuditContext, type NewApiKey } from './config-store.js';
import { batches, bumpChangeSeq, readChangeSeq, readVersion, writeAudit } from './sql-tx.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    consumer: row.consumer,
    hash: row.hash,
    prefix: row.prefix,
    last4: row.last4,
    createdAt: row.createdAt,
    ...(row.name !== null ? { name: row.name } : {}),
    ...(row.expiresAt ? { expiresAt: row.expiresAt } : {}),
    ...(row.revokedAt ? { revokedAt: row.revokedAt } : {}),
  };
}

/** What the audit log keeps of a key: never its digest. */
function auditView(key: ApiKeyRecord): Record<string, unknown> {
  const { hash: _hash, ...rest } = key;
  return rest;
}

/**
 * API keys in the `api_keys` table. Each write locks `config_state` first (the same lock config
 * applies take), so the Consumer's existence is checked against a serialized view and the key
 * change gets its own change-feed position (`change_seq`, stamped on the rows) and NOTIFY with
 * what changed. The config version stays: gateways update their key index in place.
 */
export class SqlApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: Database) {}

  async create(key: NewApiKey, audit?: AuditContext): Promise<{ key: ApiKeyRecord; version: number; seq: number }> {
    // Refusing anything but a SHA-256 hex digest keeps a caller from storing a plaintext key.
    if (!SHA256_HEX.test(key.hash)) throw new TypeError('API key hash must be a lower-case SHA-256 hex digest');
    return this.db.transaction(async (tx) => {
      const version = await readVersion(tx, true);
      const consumer = await tx
        .select({ name: resources.name })
        .from(resources)
        .where(and(eq(resources.kind, 'Consumer'), eq(resources.name, key.consumer)));
      if (consumer.length === 0) throw new ResourceConflictError('Consumer', key.consumer, 'not_found');
      const rows = await tx
        .insert(apiKeys)
        .values({ id: key.id, consumer: key.consumer, hash: key.hash, prefix: key.prefix, last4: key.last4, name: key.name ?? null, expiresAt: key.expiresAt ?? null })
        .returning();
      const row = rows[0];
      if (!row) throw new Error('insert returned no row');
      const record = toRecord(row);
      const seq = await bumpChangeSeq(tx, [{ kind: 'ApiKey', id: record.id, op: 'create' }]);
      await tx.update(apiKeys).set({ changeSeq: seq }).where(eq(apiKeys.id, record.id));
      if (audit) await writeAudit(tx, { ...audit, outcome: 'success', after: auditView(record) });
      await writeEvents(tx, [createdEvent(record)]);
      return { key: record, version, seq };
    });
  }

  async createMany(keys: readonly NewApiKey[], audit?: AuditContext): Promise<{ keys: ApiKeyRecord[]; version: number; seq: number }> {
    for (const key of keys) if (!SHA256_HEX.test(key.hash)) throw new TypeError('API key hash must be a lower-case SHA-256 hex digest');
    return this.db.transaction(async (tx) => {
      const version = await readVersion(tx, true);
      if (keys.length === 0) return { keys: [], version, seq: await readChangeSeq(tx) };
      // Under the config lock, so no Consumer can be deleted between this check and the commit.
      const wanted = [...new Set(keys.map((k) => k.consumer))];
      const found = new Set<string>();
      for (const batch of batches(wanted)) {
        const rows = await tx.select({ name: resources.name }).from(resources).where(and(eq(resources.kind, 'Consumer'), inArray(resources.name, batch)));
        for (const r of rows) found.add(r.name);
      }
      const missing = wanted.filter((c) => !found.has(c));
      if (missing.length > 0) throw new ConsumersNotFoundError(missing);
      const records: ApiKeyRecord[] = [];
      // One feed position for the whole batch, taken first so every row is stamped as inserted:
      // gateways apply the batch as one delta (the payload names the keys while it fits).
      const seq = await bumpChangeSeq(
        tx,
        keys.map((k) => ({ kind: 'ApiKey', id: k.id, op: 'create' })),
      );
      for (const batch of batches(keys)) {
        const rows = await tx
          .insert(apiKeys)
          .values(batch.map((k) => ({ id: k.id, consumer: k.consumer, hash: k.hash, prefix: k.prefix, last4: k.last4, name: k.name ?? null, expiresAt: k.expiresAt ?? null, changeSeq: seq })))
          .returning();
        // RETURNING gives rows in VALUES order for a plain multi-row INSERT; matched by id anyway.
        const byId = new Map(rows.map((r) => [r.id, r] as const));
        for (const k of batch) {
          const row = byId.get(k.id);
          if (!row) throw new Error(`insert returned no row for ${k.id}`);
          records.push(toRecord(row));
        }
      }
      if (audit) await writeAudit(tx, { ...audit, outcome: 'success', detail: `${records.length} API keys created`, after: { keys: records.map(auditView) } });
      for (const batch of batches(records)) await writeEvents(tx, batch.map(createdEvent));
      return { keys: records, version, seq };
    });
  }

  async list(consumer: string): Promise<ApiKeyRecord[]> {
    const rows = await this.db.select().from(apiKeys).where(eq(apiKeys.consumer, consumer)).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
    return rows.map(toRecord);
  }

  async revoke(consumer: string, id: string, audit?: AuditContext): Promise<{ key: ApiKeyRecord; version: number; seq: number }> {
    return this.db.transaction(async (tx) => {
      const version = await readVersion(tx, true);
      const found = await tx
        .select({ id: apiKeys.id })
        .from(apiKeys)
        .where(and(eq(apiKeys.id, id), eq(apiKeys.consumer, consumer), isNull(apiKeys.revokedAt)));
      if (found.length === 0) throw new RecordNotFoundError(`Consumer/${consumer} has no active API key ${id}`);
      const seq = await bumpChangeSeq(tx, [{ kind: 'ApiKey', id, op: 'revoke' }]);
      const rows = await tx
        .update(apiKeys)
        .set({ revokedAt: sql`now()`, changeSeq: seq })
        .where(and(eq(apiKeys.id, id), eq(apiKeys.consumer, consumer), isNull(apiKeys.revokedAt)))
        .returning();
      const row = rows[0];
      if (!row) throw new Error('revoke updated no row');
      const record = toRecord(row);
      if (audit) {
        const { revokedAt: _revoked, ...before } = auditView(record);
        await writeAudit(tx, { ...audit, outcome: 'success', before, after: auditView(record) });
      }
      await writeEvents(tx, [outboxEvent('api_key.revoked', { keyId: record.id, consumer: record.consumer })]);
      return { key: record, version, seq };
    });
  }
}

/** `api_key.created` of a stored key (never the key itself). */
function createdEvent(record: ApiKeyRecord): OutboxEvent {
  return outboxEvent('api_key.created', { keyId: record.id, consumer: record.consumer, prefix: record.prefix, last4: record.last4 });
}
