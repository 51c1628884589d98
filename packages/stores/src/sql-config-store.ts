import { and, asc, eq, gt, inArray, isNull, ne, or, sql, type SQL } from 'drizzle-orm';
import { apiKeys, lockWebhookCreation, resourceChanges, resources, writeEvents, type Database, type ResourceRow } from '@tollgate/db';
import { RESOURCE_KINDS, canonicallyEqual, nextTurn, sliceTimer, outboxEvent, type OutboxEvent, hashDeclaredKeys, reconcileLifecycle, resolveSubscriptionDates, sortResources, type ConfigIssue, type Resource, type ResourceKind } from '@tollgate/model';
import {
  type AuditContext,
  ApplyRejectedError,
  ResourceConflictError,
  type ApplyOptions,
  type ApplyResult,
  type ConfigSnapshot,
  type ConfigStore,
  type FeedChanges,
  FEED_KINDS,
  type ListOptions,
  type ListPage,
  type ResourceChange,
  type SetValidator,
  type StoredApiKey,
  type StoredResource,
} from './config-store.js';
import { activeOAuthClients } from './sql-oauth-store.js';
import { batches, bumpVersion, nextChangeSeq, notifyChanges, readChangeSeq, readVersion, type ChangeRef, type Tx } from './sql-tx.js';
import { writeApplyAudit } from './sql-apply-audit.js';
import { DEFAULT_FEED_RETENTION_MS, pruneResourceChanges, readFeedFloor, resourceDeltas } from './sql-resource-feed.js';

export { CONFIG_CHANNEL } from './sql-tx.js';

/** Largest page `list` serves. */
export const MAX_LIST_LIMIT = 500;

/** Escapes LIKE's wildcards (and its default escape character) so that search text matches literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Delivers config-change notifications; the only part that differs between `pg` and PGlite. */
export interface ChangeNotifier {
  /**
   * Starts calling `onVersion` for every config-version notification and `onChangeSeq` for every
   * change-feed notification (see `parseNotification`); resolves once listening.
   */
  listen(onVersion: (version: number) => void, onChangeSeq?: (seq: number) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** A notification on the config channel: a new config version, or a new change-feed position. */
export type ConfigNotification = { version: number } | { seq: number };

/**
 * Reads a payload of the config channel: a plain integer is a config version (as always); a JSON
 * object with an integer `seq` is a change-feed entry (its `changes` list is informative: readers
 * fetch the current state with `changesSince`, which also covers anything missed).
 */
export function parseNotification(payload: string): ConfigNotification | undefined {
  if (payload.startsWith('{')) {
    try {
      const seq = (JSON.parse(payload) as { seq?: unknown }).seq;
      return typeof seq === 'number' && Number.isSafeInteger(seq) ? { seq } : undefined;
    } catch {
      return undefined;
    }
  }
  // Digits only: Number('') is 0, which is no version.
  const version = /^\d+$/.test(payload) ? Number(payload) : NaN;
  return Number.isSafeInteger(version) ? { version } : undefined;
}

/** Identity of a resource within the store. */
function keyOf(kind: string, name: string): string {
  return `${kind}/${name}`;
}

function toResource(row: ResourceRow): Resource {
  // Rows are only ever written by this store from validated resources.
  return { apiVersion: row.apiVersion, kind: row.kind, metadata: row.metadata, spec: row.spec } as Resource;
}

function toStored(row: ResourceRow): StoredResource {
  return { resource: toResource(row), version: Number(row.version), createdAt: row.createdAt, updatedAt: row.updatedAt };
}

/**
 * The document as persisted, without any extra properties a caller's object may carry, and with
 * declared plaintext API keys replaced by their digests (the admin API does this already; doing
 * it again here means no caller of the store can ever write a plaintext key).
 */
function normalize(r: Resource): Resource {
  return hashDeclaredKeys({ apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec } as Resource);
}

/** The active API keys of a snapshot, as the gateway indexes them. */
async function activeApiKeys(db: Database | Tx): Promise<StoredApiKey[]> {
  const rows = await db.select().from(apiKeys).where(isNull(apiKeys.revokedAt)).orderBy(asc(apiKeys.id));
  return rows.map((r) => ({ id: r.id, consumer: r.consumer, hash: r.hash, prefix: r.prefix, last4: r.last4, ...(r.expiresAt ? { expiresAt: r.expiresAt } : {}) }));
}

const kindRank = (k: string) => {
  const i = RESOURCE_KINDS.indexOf(k as ResourceKind);
  return i === -1 ? RESOURCE_KINDS.length : i;
};

/** Dependency order of kinds, then name: the order changes are reported in. */
function compareChanges(a: ResourceChange, b: ResourceChange): number {
  return kindRank(a.kind) - kindRank(b.kind) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Dependency order of kinds, then name: {@link sortResources}' order, for merging sorted lists. */
function compareResources(a: Resource, b: Resource): number {
  return kindRank(a.kind) - kindRank(b.kind) || (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
}

/**
 * The resources of every kind but Consumer and Subscription that a commit left at `version`,
 * handed to the next {@link SqlConfigStore.load} in this process (see `handOff`). Set just before
 * COMMIT; `committed` tells whether the COMMIT succeeded, so a load that takes it first waits.
 */
interface CommittedSet {
  version: number;
  /** In {@link sortResources} order: the objects the apply validated and wrote (or found unchanged). */
  resources: readonly Resource[];
  committed: Promise<boolean>;
}

/** What one mutation wants: the resulting set and the per-resource changes, from the current set. */
interface Plan {
  resulting: Resource[];
  changes: ResourceChange[];
}

/**
 * ConfigStore over any drizzle Postgres database (`pg` pool or PGlite). Each write is one
 * transaction that locks the single `config_state` row first, so writers are serialized and every
 * committed change gets its own version; `NOTIFY` is sent in the same transaction, so listeners
 * hear of a change only once it is committed (Postgres delivers notifications at commit).
 */
export class SqlConfigStore implements ConfigStore {
  /** The set the last config-version commit left, until a load takes it (see `handOff`). */
  #committed: CommittedSet | null = null;

  constructor(
    private readonly db: Database,
    private readonly notifier: ChangeNotifier,
    private readonly onClose: () => Promise<void>,
    /** How long the log of Consumer and Subscription changes is kept (pruned on each feed write). */
    private readonly feedRetentionMs = DEFAULT_FEED_RETENTION_MS,
    /**
     * A data plane in this process loads from this store (`start all`): each config-version
     * commit hands the set it wrote to the next `load`, which then reads back only the version,
     * Consumers, Subscriptions, keys and clients instead of every resource (on PGlite, pages of
     * synchronous reads on the event loop that serves: #16). Off where no load follows (an admin
     * process alone), since the set would be kept until the next commit for nothing.
     */
    private readonly handOff = false,
  ) {}

  async load(): Promise<ConfigSnapshot> {
    // Taken by one load at most: the loader holds the objects from then on, and the store keeps no
    // second copy of the set (10,000 Apis) alive.
    const handed = this.#committed;
    this.#committed = null;
    const committed = handed !== null && (await handed.committed) ? handed : null;
    // Repeatable read: the version and the rows come from one snapshot, so they always match.
    return this.db.transaction(
      async (tx) => {
        const version = await readVersion(tx);
        const changeSeq = await readChangeSeq(tx);
        // Every write of a kind but Consumer and Subscription bumps the version under the config
        // lock, so at the same version those rows are exactly the handed set; Consumers and
        // Subscriptions change on the feed without a bump (and an apply holds name-only Consumers):
        // they are read as always.
        const set =
          committed?.version === version
            ? mergeSorted(committed.resources, sortResources((await readAllResources(tx, inArray(resources.kind, [...FEED_KINDS]))).map(toResource)))
            : sortResources((await readAllResources(tx)).map(toResource));
        return { version, changeSeq, resources: set, apiKeys: await activeApiKeys(tx), oauthClients: await activeOAuthClients(tx) };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
  }

  async version(): Promise<number> {
    return readVersion(this.db);
  }

  async apply(input: Resource[], options: ApplyOptions): Promise<ApplyResult> {
    const duplicates = findDuplicates(input);
    if (duplicates.length > 0) throw new ApplyRejectedError(duplicates);
    // Without prune, only the Consumers this apply names are read whole (see `mutate`).
    const light = options.prune ? undefined : new Set(input.filter((r) => r.kind === 'Consumer').map((r) => r.metadata.name));
    return this.mutate(options.validate, options.dryRun ?? false, options.audit, light, async (current) => {
      const changes: ResourceChange[] = [];
      const pause = sliceTimer();
      const prunable = typeof options.prune === 'function' ? options.prune : () => options.prune === true;
      // Resources outside the prune scope stay whether or not the input names them.
      const resulting = new Map<string, Resource>([...current].filter(([, r]) => !prunable(r)));
      const refused: ConfigIssue[] = [];
      // A Subscription's date-only start/end means midnight in its plan's zone: the plan of this
      // apply, else the stored one (see resolveSubscriptionDates).
      const inputPlans = new Map(input.filter((r) => r.kind === 'Plan').map((r) => [r.metadata.name, r] as const));
      const planOf = (name: string) => inputPlans.get(name) ?? current.get(keyOf('Plan', name));
      for (const given of input) {
        await pause();
        const raw = resolveSubscriptionDates(given, planOf);
        const key = keyOf(raw.kind, raw.metadata.name);
        const before = current.get(key);
        // An Api's lifecycle state may only move along the allowed transitions, checked against the
        // stored state under the lock; a transition is timestamped here (see reconcileLifecycle).
        const reconciled = reconcileLifecycle(before, normalize(raw), Date.now());
        if (!reconciled.ok) {
          refused.push(reconciled.issue);
          continue;
        }
        const after = reconciled.resource;
        if (before && options.createOnly) throw new ResourceConflictError(after.kind, after.metadata.name, 'exists');
        resulting.set(key, after);
        const action = before === undefined ? 'create' : canonicallyEqual(before, after) ? 'unchanged' : 'update';
        changes.push({ kind: after.kind, name: after.metadata.name, action, ...(before ? { before } : {}), after });
      }
      if (refused.length > 0) throw new ApplyRejectedError(refused);
      if (options.prune) {
        for (const [key, before] of current) {
          if (!resulting.has(key) && prunable(before)) changes.push({ kind: before.kind, name: before.metadata.name, action: 'delete', before });
        }
      }
      return { resulting: [...resulting.values()], changes };
    });
  }

  async delete(kind: ResourceKind, name: string, options: Omit<ApplyOptions, 'prune' | 'createOnly'>): Promise<ApplyResult> {
    return this.mutate(options.validate, options.dryRun ?? false, options.audit, new Set(kind === 'Consumer' ? [name] : []), (current) => {
      const key = keyOf(kind, name);
      const before = current.get(key);
      if (!before) throw new ResourceConflictError(kind, name, 'not_found');
      const resulting = [...current.entries()].filter(([k]) => k !== key).map(([, r]) => r);
      return { resulting, changes: [{ kind, name, action: 'delete', before }] };
    });
  }

  async get(kind: ResourceKind, name: string): Promise<StoredResource | undefined> {
    const rows = await this.db.select().from(resources).where(and(eq(resources.kind, kind), eq(resources.name, name)));
    return rows[0] ? toStored(rows[0]) : undefined;
  }

  async list(kind: ResourceKind, options: ListOptions): Promise<ListPage> {
    const { limit } = options;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new RangeError(`limit must be an integer in 1..${MAX_LIST_LIMIT}`);
    }
    const search = options.search === undefined || options.search === '' ? undefined : `%${escapeLike(options.search.toLowerCase())}%`;
    // Names are lower case (RFC 1123), so LIKE on the name suffices; customId may be mixed case.
    const matches = search === undefined ? undefined : or(sql`${resources.name} LIKE ${search}`, sql`lower(${resources.spec}->>'customId') LIKE ${search}`);
    // The scan walks the (kind, name) primary key in order and stops after limit + 1 matches.
    const where = and(eq(resources.kind, kind), ...(options.after !== undefined ? [gt(resources.name, options.after)] : []), ...(matches ? [matches] : []));
    // One extra row tells whether another page exists without a count query.
    const rows = await this.db.select().from(resources).where(where).orderBy(asc(resources.name)).limit(limit + 1);
    const items = rows.slice(0, limit).map(toStored);
    const last = items.at(-1);
    return rows.length > limit && last ? { items, next: last.resource.metadata.name } : { items };
  }

  watch(onChange: (version: number) => void): Promise<() => Promise<void>> {
    return this.notifier.listen(onChange);
  }

  async changesSince(seq: number): Promise<FeedChanges> {
    // Repeatable read: the position and the rows come from one snapshot, so applying the rows
    // brings the reader exactly to `seq` (writers stamp rows under the config_state lock).
    return this.db.transaction(
      async (tx) => {
        const at = await readChangeSeq(tx);
        if (at <= seq) return { seq: at, keys: [], resources: [] };
        // Behind the pruned part of the log: what changed cannot be replayed, only reloaded.
        if (seq < (await readFeedFloor(tx))) return { seq: at, keys: [], resources: [], reload: true };
        const rows = await tx.select().from(apiKeys).where(gt(apiKeys.changeSeq, seq)).orderBy(asc(apiKeys.changeSeq), asc(apiKeys.id));
        const keys = rows.map((r) => ({ id: r.id, consumer: r.consumer, hash: r.hash, prefix: r.prefix, last4: r.last4, revoked: r.revokedAt !== null, ...(r.expiresAt ? { expiresAt: r.expiresAt } : {}) }));
        return { seq: at, keys, resources: await resourceDeltas(tx, seq) };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
  }

  async pruneChanges(retentionMs: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      // Under the writers' lock, so a floor never passes a position still being written.
      await readVersion(tx, true);
      return pruneResourceChanges(tx, retentionMs);
    });
  }

  watchChanges(onChange: (seq: number) => void): Promise<() => Promise<void>> {
    return this.notifier.listen(() => undefined, onChange);
  }

  /** Closes the listening session and the database together (each bounds its own wait). */
  async close(): Promise<void> {
    await Promise.all([this.notifier.close(), this.onClose()]);
  }

  /**
   * The one write path: lock, plan, validate, then write rows, bump the version (or the feed
   * position) and notify. With `wholeConsumers`, the Consumers it does not name are read as
   * name-only documents (`spec: {}`): at 100,000 consumers their documents were most of what an
   * apply read, and nothing but their names is needed then (the compiler checks references by
   * name; only the Consumers the change names are planned, written and audited).
   */
  private async mutate(validate: SetValidator, dryRun: boolean, audit: AuditContext | undefined, wholeConsumers: ReadonlySet<string> | undefined, plan: (current: Map<string, Resource>) => Plan | Promise<Plan>): Promise<ApplyResult> {
    // Assigned inside the transaction (see #mutateTx's `hand`), settled once it has ended.
    const handing: { set: CommittedSet; settle: (ok: boolean) => void }[] = [];
    try {
      const result = await this.#mutateTx(validate, dryRun, audit, wholeConsumers, plan, (version, kept) => {
        // Set before COMMIT, settled after it: a notification of this version may reach a load
        // (the embedded gateway's reload) before this function resumes from the transaction.
        let settle!: (ok: boolean) => void;
        const committed = new Promise<boolean>((resolve) => (settle = resolve));
        const set = { version, resources: kept, committed };
        handing.push({ set, settle });
        this.#committed = set;
      });
      for (const h of handing) h.settle(true);
      return result;
    } catch (err) {
      // A failed COMMIT hands nothing: the version may later be another writer's, with its own set.
      for (const h of handing) {
        h.settle(false);
        if (this.#committed === h.set) this.#committed = null;
      }
      throw err;
    }
  }

  /**
   * {@link mutate}'s transaction; `hand` receives the new config version and the resulting set's
   * kinds but Consumer and Subscription (sorted) as the last step before COMMIT, when the change
   * bumps the version and `handOff` is on.
   */
  async #mutateTx(validate: SetValidator, dryRun: boolean, audit: AuditContext | undefined, wholeConsumers: ReadonlySet<string> | undefined, plan: (current: Map<string, Resource>) => Plan | Promise<Plan>, hand: (version: number, kept: readonly Resource[]) => void): Promise<ApplyResult> {
    return this.db.transaction(async (tx) => {
      const version = await readVersion(tx, true);
      const current = wholeConsumers === undefined ? new Map((await readAllResources(tx)).map((r) => [keyOf(r.kind, r.name), toResource(r)] as const)) : await readResourcesLight(tx, wholeConsumers);
      const { resulting, changes } = await plan(current);
      changes.sort(compareChanges);
      // A change that creates a webhook waits for the fan-outs in flight and then stamps its rows
      // and events with one time read under the lock, not its transaction's start: a fan-out that
      // did not see this webhook must never have fanned out an event the webhook's time says it
      // should get (see @tollgate/db webhook-lock.ts). Taken before the validation, so the events
      // raised while it runs are the webhook's too (fan-outs wait for it; webhooks are created
      // rarely). Only creation sets a time the fan-out compares: a re-enabled or re-filtered
      // webhook is judged by its spec at fan-out time, which a fan-out reads once it committed.
      const createdAt = !dryRun && changes.some((c) => c.kind === 'Webhook' && c.action === 'create') ? await lockWebhookCreation(tx) : undefined;
      const sorted = sortResources(resulting);
      // Taken before the validator sees the array (it may not reorder what is handed on). Consumers
      // are name-only here without prune, and both feed kinds change without a version bump.
      const kept = this.handOff ? sorted.filter((r) => !FEED_KINDS.includes(r.kind)) : [];
      const issues = await validate(sorted);
      // Throwing inside the transaction rolls it back: nothing half-applies.
      if (issues.length > 0) throw new ApplyRejectedError(issues);
      const effective = changes.filter((c) => c.action !== 'unchanged');
      // A dry run wrote nothing, so committing its read-only transaction changes nothing.
      if (dryRun) return { version, dryRun, changes };
      // The audit entry commits with the change (or with nothing, for an unchanged apply).
      if (audit) await writeApplyAudit(tx, audit, changes);
      if (effective.length === 0) return { version, dryRun, changes };
      // Consumers and Subscriptions alone go on the change feed: gateways update their indexes
      // in place and recompile nothing, so the config version stays. Any other kind in the same
      // apply makes it a config version (every node reloads the snapshot, which has them all).
      const onFeed = effective.every((c) => FEED_KINDS.includes(c.kind));
      const rowVersion = onFeed ? version : version + 1;
      const seq = onFeed ? await nextChangeSeq(tx) : null;
      await writeRows(tx, effective, rowVersion, createdAt);
      const goneConsumers = effective.filter((c) => c.kind === 'Consumer' && c.action === 'delete').map((c) => c.name);
      // A deleted Consumer takes its issued keys with it: revoked (not deleted, so listings and the
      // audit log can still name them), and a Consumer re-created later does not inherit them.
      // Stamped on the change feed too, so a node's key index drops them like any revocation.
      const keySeq = seq ?? (goneConsumers.length > 0 ? await nextChangeSeq(tx) : null);
      const refs: ChangeRef[] = [];
      if (seq !== null) {
        for (const c of effective) refs.push({ kind: c.kind as 'Consumer' | 'Subscription', name: c.name, op: c.action as 'create' | 'update' | 'delete' });
        for (const batch of batches(effective)) {
          await nextTurn();
          await tx.insert(resourceChanges).values(batch.map((c) => ({ seq, kind: c.kind, name: c.name })));
        }
        // The log is kept for the retention only (a node further behind reloads its snapshot).
        await pruneResourceChanges(tx, this.feedRetentionMs);
      }
      if (keySeq !== null && goneConsumers.length > 0) {
        for (const batch of batches(goneConsumers)) {
          const rows = await tx
            .update(apiKeys)
            .set({ revokedAt: sql`now()`, changeSeq: keySeq })
            .where(and(inArray(apiKeys.consumer, batch), isNull(apiKeys.revokedAt)))
            .returning({ id: apiKeys.id });
          for (const r of rows) refs.push({ kind: 'ApiKey', id: r.id, op: 'revoke' });
        }
      }
      if (keySeq !== null) await notifyChanges(tx, keySeq, refs);
      if (seq === null) await bumpVersion(tx, rowVersion);
      // The events commit with the change: none is announced for a change that rolled back.
      await writeEvents(tx, configEvents(effective, rowVersion, audit), createdAt === undefined ? {} : { occurredAt: createdAt });
      // What is served equals what is committed: written rows are the JSON of these objects, and an
      // unchanged one is canonically equal to its row (the compiler's notion of the same document).
      if (seq === null && this.handOff) hand(rowVersion, kept);
      return seq === null ? { version: rowVersion, dryRun, changes } : { version, seq, dryRun, changes };
    });
  }
}

/**
 * Writes the changed rows (upserts, then deletes) at `rowVersion`, created or updated at `at` (a
 * `timestamptz` text; default the transaction's `now()`), in batches: one multi-row
 * statement for a large apply would exceed Postgres' bind-parameter cap (see WRITE_BATCH); the
 * caller's transaction still makes the whole change atomic.
 */
async function writeRows(tx: Tx, effective: readonly ResourceChange[], rowVersion: number, at: string | undefined): Promise<void> {
  const upserts = effective.flatMap((c) => (c.after && c.action !== 'delete' ? [c.after] : []));
  const stamp = at === undefined ? sql`now()` : sql`${at}::timestamptz`;
  for (const batch of batches(upserts, UPSERT_BATCH)) {
    await nextTurn();
    await tx.execute(upsertStatement(batch, rowVersion, stamp));
  }
  const deletes = new Map<string, string[]>();
  for (const c of effective) {
    if (c.action !== 'delete') continue;
    const names = deletes.get(c.kind);
    if (names) names.push(c.name);
    else deletes.set(c.kind, [c.name]);
  }
  for (const [kind, names] of deletes) {
    for (const batch of batches(names)) {
      await nextTurn();
      await tx.delete(resources).where(and(eq(resources.kind, kind), inArray(resources.name, batch)));
    }
  }
}


/**
 * Rows per resource page read, and per upsert statement. An embedded PGlite runs each statement
 * to completion on the event loop it shares with the gateway, so one 10,000-row statement (a
 * full read, a 1,000-row upsert of Apis) held requests for a long time; pages of a few hundred
 * rows, with a turn of the event loop between them, keep each hold short (#16). A CPU profile of
 * an embedded apply of 10,000 Apis timed each hold: about 22 ms of CPU per 250-row upsert
 * (drizzle's insert builder a third, since replaced by upsertStatement; PGlite's wire encoding a
 * fifth; the rest PGlite itself) and about 15 ms per 500-row page, 40-60 ms of wall time each on a loaded machine;
 * 100 and 200 rows kept each under 10 ms of CPU; 50 and 100 keep them near the 4 ms slices
 * of the compile (packages/compiler/src/slices.ts). On Postgres the extra round trips cost a few
 * ms per 10,000 rows.
 */
const READ_PAGE = 100;
const UPSERT_BATCH = 50;

/**
 * One upsert of `batch` at `rowVersion`: the rows travel as one JSON array parameter, unpacked by
 * `json_to_recordset`, instead of six bind parameters per row. drizzle's insert builder made a
 * parameter object, an SQL chunk and a `$n` text for every value and merged them per statement:
 * about 125 MB allocated per 10,000 Apis (a sampling heap profile of an embedded apply), on the
 * event loop the embedded gateway serves from (#16). Here each batch costs one JSON text (the
 * same `metadata` / `spec` text the jsonb columns were sent as before) and a constant statement.
 * Same semantics as before: insert, or on the (kind, name) key update every column but
 * `created_at` and set `updated_at` to `at` (jsonb stores `metadata` and `spec` parsed either way).
 */
function upsertStatement(batch: readonly Resource[], rowVersion: number, at: SQL): SQL {
  const rows = JSON.stringify(batch.map((r) => ({ kind: r.kind, name: r.metadata.name, api_version: r.apiVersion, metadata: r.metadata, spec: r.spec })));
  return sql`INSERT INTO ${resources} (kind, name, api_version, metadata, spec, version, created_at, updated_at)
    SELECT r.kind, r.name, r.api_version, r.metadata, r.spec, ${rowVersion}::bigint, ${at}, ${at}
    FROM json_to_recordset(${rows}::json) AS r(kind text, name text, api_version text, metadata jsonb, spec jsonb)
    ON CONFLICT (kind, name) DO UPDATE SET api_version = excluded.api_version, metadata = excluded.metadata, spec = excluded.spec, version = excluded.version, updated_at = excluded.updated_at`;
}


/**
 * Every resource, as {@link readAllResources}, except that Consumers not in `whole` are name-only
 * documents (their names read by keyset pages of 5,000; the named ones read whole).
 */
async function readResourcesLight(tx: Tx, whole: ReadonlySet<string>): Promise<Map<string, Resource>> {
  const current = new Map<string, Resource>();
  for (const r of await readAllResources(tx, ne(resources.kind, 'Consumer'))) current.set(keyOf(r.kind, r.name), toResource(r));
  let after: string | undefined;
  for (;;) {
    const page = await tx
      .select({ name: resources.name, apiVersion: resources.apiVersion })
      .from(resources)
      .where(after === undefined ? eq(resources.kind, 'Consumer') : and(eq(resources.kind, 'Consumer'), gt(resources.name, after)))
      .orderBy(asc(resources.name))
      .limit(NAME_PAGE);
    for (const r of page) current.set(keyOf('Consumer', r.name), { apiVersion: r.apiVersion, kind: 'Consumer', metadata: { name: r.name, labels: {}, annotations: {} }, spec: {} } as unknown as Resource);
    if (page.length < NAME_PAGE) break;
    after = page.at(-1)?.name;
    await nextTurn();
  }
  for (const batch of batches([...whole])) {
    const rows = await tx.select().from(resources).where(and(eq(resources.kind, 'Consumer'), inArray(resources.name, batch)));
    for (const r of rows) current.set(keyOf(r.kind, r.name), toResource(r));
  }
  return current;
}

/** Consumer names per page of a light read. */
const NAME_PAGE = 5_000;

/**
 * Every resource row, read by keyset pages in primary-key order (see READ_PAGE), inside the
 * caller's transaction (repeatable read for `load`, the config lock for writes), so the pages
 * form one consistent set.
 */
async function readAllResources(tx: Tx, only?: SQL): Promise<ResourceRow[]> {
  const rows: ResourceRow[] = [];
  for (;;) {
    const last = rows.at(-1);
    const after = last === undefined ? undefined : or(gt(resources.kind, last.kind), and(eq(resources.kind, last.kind), gt(resources.name, last.name)));
    const where = only === undefined ? after : after === undefined ? only : and(only, after);
    const page = await tx.select().from(resources).where(where).orderBy(asc(resources.kind), asc(resources.name)).limit(READ_PAGE);
    for (const r of page) rows.push(r);
    if (page.length < READ_PAGE) return rows;
    await nextTurn();
  }
}

/** Two lists in {@link sortResources} order (no resource in both) as one, in that order. */
function mergeSorted(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  const out: Resource[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(compareResources(a[i] as Resource, b[j] as Resource) <= 0 ? (a[i++] as Resource) : (b[j++] as Resource));
  while (i < a.length) out.push(a[i++] as Resource);
  while (j < b.length) out.push(b[j++] as Resource);
  return out;
}

/** Largest number of changes listed in one `config.applied` event (the count is always exact). */
const MAX_LISTED_CHANGES = 100;

/** `config.applied`, and `api.lifecycle_changed` for every Api whose lifecycle state moved. */
function configEvents(effective: ResourceChange[], version: number, audit: AuditContext | undefined): OutboxEvent[] {
  const listed = effective.slice(0, MAX_LISTED_CHANGES).map((c) => ({ kind: c.kind, name: c.name, action: c.action as 'create' | 'update' | 'delete' }));
  const out = [outboxEvent('config.applied', { version, changes: listed, changeCount: effective.length, ...(audit?.actor ? { actor: { id: audit.actor.id, name: audit.actor.name, role: audit.actor.role } } : {}) })];
  for (const c of effective) {
    if (c.kind !== 'Api' || c.action === 'delete') continue;
    const from = c.before?.kind === 'Api' ? (c.before.spec.lifecycle?.state ?? 'published') : undefined;
    const to = c.after?.kind === 'Api' ? (c.after.spec.lifecycle?.state ?? 'published') : undefined;
    if (from !== undefined && to !== undefined && from !== to) out.push(outboxEvent('api.lifecycle_changed', { api: c.name, from, to, version }));
  }
  return out;
}

/** The same `kind/name` twice in one apply is ambiguous: which one wins? Reject it instead. */
function findDuplicates(input: Resource[]): ConfigIssue[] {
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  input.forEach((r, document) => {
    const key = keyOf(r.kind, r.metadata.name);
    if (seen.has(key)) issues.push({ code: 'duplicate_resource', message: `${key} appears more than once`, document, resource: key, path: 'metadata.name' });
    seen.add(key);
  });
  return issues;
}
