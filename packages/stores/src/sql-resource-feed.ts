import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import { configState, resourceChanges, resources, type ResourceRow } from '@tollgate/db';
import type { Resource } from '@tollgate/model';
import { FEED_KINDS, type ResourceDelta } from './config-store.js';
import { batches, type Tx } from './sql-tx.js';

const keyOf = (kind: string, name: string) => `${kind}/${name}`;

/** A stored row as the resource it was written from (rows are only written from validated resources). */
function toResource(row: ResourceRow): Resource {
  return { apiVersion: row.apiVersion, kind: row.kind, metadata: row.metadata, spec: row.spec } as Resource;
}

/** How long the log of Consumer and Subscription changes is kept by default: a node further behind reloads its snapshot. */
export const DEFAULT_FEED_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * Deletes the log rows older than `retentionMs` and raises `config_state.feed_floor` to the newest
 * position deleted, in one statement (inside a writer's transaction, it runs under the
 * config_state lock). Returns the floor.
 */
export async function pruneResourceChanges(tx: Tx, retentionMs: number): Promise<number> {
  const r = await tx.execute<{ floor: string | number | null }>(sql`
    WITH gone AS (DELETE FROM ${resourceChanges} WHERE ${resourceChanges.at} < now() - ${`${Math.max(0, Math.floor(retentionMs))} milliseconds`}::interval RETURNING ${resourceChanges.seq})
    UPDATE ${configState} SET feed_floor = greatest(feed_floor, coalesce((SELECT max(seq) FROM gone), 0))
    WHERE id = 1 RETURNING feed_floor AS floor`);
  const rows = (r as unknown as { rows?: Array<{ floor: string | number | null }> }).rows ?? (r as unknown as Array<{ floor: string | number | null }>);
  return Number(rows[0]?.floor ?? 0);
}

/** The newest pruned position (0: none); a reader at an older position must reload. */
export async function readFeedFloor(tx: Tx): Promise<number> {
  const rows = await tx.select({ floor: configState.feedFloor }).from(configState).where(eq(configState.id, 1));
  return Number(rows[0]?.floor ?? 0);
}

/**
 * The Consumers and Subscriptions logged on the feed after `seq`, once each in the order of their
 * last change, with their current rows (none: deleted), inside the caller's repeatable-read
 * transaction.
 */
export async function resourceDeltas(tx: Tx, seq: number): Promise<ResourceDelta[]> {
  const logged = await tx.select().from(resourceChanges).where(gt(resourceChanges.seq, seq)).orderBy(asc(resourceChanges.seq), asc(resourceChanges.kind), asc(resourceChanges.name));
  if (logged.length === 0) return [];
  const last = new Map<string, { kind: 'Consumer' | 'Subscription'; name: string }>();
  for (const l of logged) {
    const key = keyOf(l.kind, l.name);
    // Re-inserted, so the Map's order is the order of each resource's last change.
    last.delete(key);
    last.set(key, { kind: l.kind as 'Consumer' | 'Subscription', name: l.name });
  }
  const current = new Map<string, Resource>();
  for (const kind of FEED_KINDS) {
    const names = [...last.values()].filter((l) => l.kind === kind).map((l) => l.name);
    for (const batch of batches(names)) {
      const rows = await tx.select().from(resources).where(and(eq(resources.kind, kind), inArray(resources.name, batch)));
      for (const r of rows) current.set(keyOf(r.kind, r.name), toResource(r));
    }
  }
  return [...last.entries()].map(([key, l]) => ({ ...l, resource: current.get(key) ?? null }));
}
