import type { ConfigIssue, Resource, ResourceKind } from '@tollgate/model';

/** A resource as stored, with bookkeeping the admin API shows. */
export interface StoredResource {
  resource: Resource;
  /** Config version at which this resource last changed. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** An active (not revoked) API key as the gateway indexes it: never the plaintext. */
export interface StoredApiKey {
  /** Prefixed id, e.g. `key_…`. */
  id: string;
  /** Name of the Consumer the key authenticates as. */
  consumer: string;
  /** SHA-256 hex of the key. */
  hash: string;
  /** First characters of the key (e.g. `tg_AbCdE`), for display and logs. */
  prefix: string;
  /** Last four characters of the key, for display. */
  last4: string;
  /** After this instant the key no longer authenticates (the gateway checks it per request). */
  expiresAt?: Date;
}

/** Everything the gateway needs to compile: all resources and active API keys at one config version. */
export interface ConfigSnapshot {
  version: number;
  /**
   * Change-feed position the snapshot's `apiKeys` include (read in the same transaction): a
   * gateway applies {@link ConfigStore.changesSince} this position on top of it.
   */
  changeSeq: number;
  resources: Resource[];
  /** API keys created through the admin API that are not revoked (expired ones included: see `expiresAt`). */
  apiKeys: StoredApiKey[];
  /** OAuth clients that are not revoked (their changes bump the version, so they are always current here). */
  oauthClients?: import('./oauth-store.js').StoredOAuthClient[];
}

/** An API key's current state as the change feed hands it out: active, or `revoked` (remove it). */
export interface KeyDelta extends StoredApiKey {
  revoked: boolean;
}

/**
 * The kinds that travel on the change feed instead of bumping the config version: they are not
 * compiled into routes, so gateways update their consumer and subscription indexes in place.
 */
export const FEED_KINDS: readonly ResourceKind[] = ['Consumer', 'Subscription'];

/** A Consumer or Subscription changed on the feed, in its current state (`null`: deleted). */
export interface ResourceDelta {
  kind: 'Consumer' | 'Subscription';
  name: string;
  resource: Resource | null;
}

/** What changed on the feed after a position, read in one snapshot. */
export interface FeedChanges {
  /** The feed position these changes bring a reader to. */
  seq: number;
  /** Every key created or revoked after the asked position, in its current state, in feed order. */
  keys: KeyDelta[];
  /**
   * Every Consumer and Subscription changed after the asked position, once each, in its current
   * state, in feed order of its last change. Apply these before `keys` (a key names its Consumer).
   */
  resources: ResourceDelta[];
  /**
   * True when the asked position is older than the feed's retained log (its Consumer and
   * Subscription rows were pruned, {@link ConfigStore.pruneChanges}): the changes cannot be
   * replayed, `keys` and `resources` are empty, and the reader must reload the whole snapshot.
   */
  reload?: true;
}

export type ChangeAction = 'create' | 'update' | 'delete' | 'unchanged';

/** What an apply did (or, in a dry run, would do) to one resource. */
export interface ResourceChange {
  kind: ResourceKind;
  name: string;
  action: ChangeAction;
  before?: Resource;
  after?: Resource;
}

/**
 * Checks the complete resulting resource set (cross-references, compilation) inside the apply
 * transaction; any issue aborts the apply and nothing changes. May answer asynchronously (a
 * validator compiling in slices, so a process that also serves requests is not stalled).
 */
export type SetValidator = (resources: Resource[]) => ConfigIssue[] | Promise<ConfigIssue[]>;

export interface ApplyOptions {
  /**
   * Delete stored resources that are not in the applied set: all of them (`true`), or only those
   * the predicate selects (a prune scope: kinds, labels); the others are kept as they are.
   */
  prune?: boolean | ((resource: Resource) => boolean);
  /** Validate and compute changes, but commit nothing. */
  dryRun?: boolean;
  /**
   * Run on the full resulting set before commit. Without `prune`, the Consumers the change does
   * not name are in it as name-only documents (`spec: {}`): a set check needs their names only.
   */
  validate: SetValidator;
  /** Fail with a conflict if a resource to create already exists (POST semantics). */
  createOnly?: boolean;
  /** When given, an audit entry (outcome `success`) is written in the same transaction as the change. */
  audit?: AuditContext;
}

export interface ApplyResult {
  /**
   * Config version after the apply (unchanged when nothing changed, on a dry run, and when only
   * Consumers and Subscriptions changed: those go on the change feed, see `seq`).
   */
  version: number;
  /** Change-feed position of the apply, when it changed only Consumers and Subscriptions. */
  seq?: number;
  dryRun: boolean;
  changes: ResourceChange[];
}

/** The apply was refused: validation issues on the resulting set; nothing was changed. */
export class ApplyRejectedError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(`configuration rejected: ${issues.map((i) => `${i.resource ?? ''} ${i.path}: ${i.message}`.trim()).join('; ')}`);
    this.name = 'ApplyRejectedError';
    this.issues = issues;
  }
}

/** A resource to create exists already, or one to change or delete does not. */
export class ResourceConflictError extends Error {
  constructor(
    readonly kind: ResourceKind,
    readonly resourceName: string,
    readonly reason: 'exists' | 'not_found',
  ) {
    super(reason === 'exists' ? `${kind}/${resourceName} already exists` : `${kind}/${resourceName} not found`);
    this.name = 'ResourceConflictError';
  }
}

export interface ListOptions {
  /** Page size (1..500). */
  limit: number;
  /** Return names strictly after this one (keyset pagination). */
  after?: string;
  /**
   * Only resources whose name, or `spec.customId` (consumers), contains this text, compared case
   * insensitively. Pages stay keyset pages in name order, so paging a search is as cheap as paging
   * everything.
   */
  search?: string;
}

export interface ListPage {
  items: StoredResource[];
  /** Cursor for the next page: the last name, when more items exist. */
  next?: string;
}

/**
 * Durable store of configuration. Every committed change bumps one global config version in the
 * same transaction and notifies watchers (Postgres LISTEN/NOTIFY). Implementations: Postgres
 * (`pg`) and embedded PGlite; one contract suite runs against both.
 */
export interface ConfigStore {
  /** All resources at the current version, read in one transaction (a consistent snapshot). */
  load(): Promise<ConfigSnapshot>;
  /** The current config version (cheap; used by the periodic safety-net check). */
  version(): Promise<number>;
  /** Applies a set of resources as one transaction: all or nothing. */
  apply(resources: Resource[], options: ApplyOptions): Promise<ApplyResult>;
  /** Deletes one resource, validating the resulting set first. Throws ResourceConflictError when absent. */
  delete(kind: ResourceKind, name: string, options: Omit<ApplyOptions, 'prune' | 'createOnly'>): Promise<ApplyResult>;
  get(kind: ResourceKind, name: string): Promise<StoredResource | undefined>;
  list(kind: ResourceKind, options: ListOptions): Promise<ListPage>;
  /**
   * Calls `onChange` with the new version whenever a change is committed (by any process sharing
   * the database). Returns a function that stops watching.
   */
  watch(onChange: (version: number) => void): Promise<() => Promise<void>>;
  /**
   * The change feed: every API key created or revoked and every Consumer and Subscription
   * changed after feed position `seq`, in its current state, and the position that brings the
   * reader to (one consistent read). A gateway applies it to its indexes in place; these changes
   * never bump the config version (an apply that changes other kinds too does, and goes through
   * a snapshot reload instead).
   */
  changesSince(seq: number): Promise<FeedChanges>;
  /**
   * Deletes the feed's log of Consumer and Subscription changes older than `retentionMs` and
   * returns the newest position pruned so far (0: none): a reader behind it gets `reload`
   * from {@link changesSince}. Writers call it with the store's retention after each feed write.
   */
  pruneChanges(retentionMs: number): Promise<number>;
  /**
   * Calls `onChange` with the new feed position whenever a feed change is committed, and
   * with the current position after the listening session reconnected (notifications may have
   * been missed). Returns a function that stops watching.
   */
  watchChanges(onChange: (seq: number) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Roles of admin-API tokens. */
export type AdminRole = 'admin' | 'operator' | 'viewer' | 'billing';

export interface AdminToken {
  /** Prefixed id, e.g. `atk_…`. */
  id: string;
  name: string;
  role: AdminRole;
  /** SHA-256 hex digest of the token; the plaintext is never stored. */
  hash: string;
  createdAt: Date;
  revokedAt?: Date;
}

/** Admin tokens, stored only as hashes. */
export interface AdminTokenStore {
  /** Stores a token; with `audit`, the audit entry is written in the same transaction. */
  insert(token: Omit<AdminToken, 'createdAt' | 'revokedAt'>, audit?: AuditContext): Promise<AdminToken>;
  /** The active (not revoked) token with this hash. */
  findByHash(hash: string): Promise<AdminToken | undefined>;
  /** Number of active tokens (0 means the first start must bootstrap one). */
  countActive(): Promise<number>;
  /** Every stored token, revoked ones included, oldest first. */
  list(): Promise<AdminToken[]>;
  /** Revokes an active token. Throws RecordNotFoundError when no active token has this id. */
  revoke(id: string, audit?: AuditContext): Promise<AdminToken>;
}

/** Keys were to be issued to Consumers that do not exist; nothing was stored. */
export class ConsumersNotFoundError extends Error {
  constructor(readonly consumers: readonly string[]) {
    super(`no such Consumer: ${consumers.join(', ')}`);
    this.name = 'ConsumersNotFoundError';
  }
}

/** A record to change does not exist (or is already revoked). */
export class RecordNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordNotFoundError';
  }
}

/** An API key as the admin API shows it (no secret: only its digest, prefix and last four). */
export interface ApiKeyRecord extends StoredApiKey {
  name?: string;
  createdAt: Date;
  revokedAt?: Date;
}

/** What `ApiKeyStore.create` stores. */
export type NewApiKey = Omit<ApiKeyRecord, 'createdAt' | 'revokedAt'>;

/**
 * API keys issued through the admin API. Creating or revoking one advances the change feed
 * (`seq`) and notifies what changed in the same transaction; the config version (returned
 * unchanged as `version`) is not bumped, so gateways update their key index in place and
 * recompile nothing.
 */
export interface ApiKeyStore {
  /** Stores a key of an existing Consumer (ResourceConflictError `not_found` otherwise). */
  create(key: NewApiKey, audit?: AuditContext): Promise<{ key: ApiKeyRecord; version: number; seq: number }>;
  /**
   * Stores many keys (of any existing Consumers) in one transaction with ONE feed position: all
   * or none. Any key whose Consumer does not exist refuses the whole batch
   * (ConsumersNotFoundError naming every missing Consumer), and nothing is stored.
   */
  createMany(keys: readonly NewApiKey[], audit?: AuditContext): Promise<{ keys: ApiKeyRecord[]; version: number; seq: number }>;
  /** Every key of a consumer, revoked ones included, oldest first. */
  list(consumer: string): Promise<ApiKeyRecord[]>;
  /** Revokes an active key of the consumer (RecordNotFoundError otherwise). */
  revoke(consumer: string, id: string, audit?: AuditContext): Promise<{ key: ApiKeyRecord; version: number; seq: number }>;
}

/** Who did something on the admin API. */
export interface AuditActor {
  id: string;
  name: string;
  role: AdminRole;
}

/** How an audited request ended. */
export type AuditOutcome = 'success' | 'dry_run' | 'denied' | 'unauthenticated' | 'rejected' | 'error';

/** The request-side facts of an audit entry; stores add before/after from what they changed. */
export interface AuditContext {
  actor?: AuditActor;
  /** Stable action name, e.g. `config.apply`, `consumer.delete`, `api-key.create`, `auth.failed`. */
  action: string;
  resourceKind?: string;
  resourceName?: string;
  requestId?: string;
  clientAddress?: string;
}

/** An audit entry to write (before/after are redacted by the store before writing). */
export interface AuditInput extends AuditContext {
  outcome: AuditOutcome;
  status?: number;
  detail?: string;
  before?: unknown;
  after?: unknown;
}

/** An audit entry as read back. */
export interface AuditEntry extends AuditInput {
  id: number;
  at: Date;
}

/** Filters of `AuditStore.query`; every given filter must match. */
export interface AuditQuery {
  actor?: string;
  action?: string;
  resourceKind?: string;
  resourceName?: string;
  from?: Date;
  to?: Date;
  /** Page size (1..500). */
  limit: number;
  /** Return entries older than this id (keyset pagination, newest first). */
  before?: number;
}

/** A page of audit entries, newest first. */
export interface AuditPage {
  items: AuditEntry[];
  /** Cursor of the next (older) page, when more entries exist. */
  next?: number;
}

/** The audit log (append-only). */
export interface AuditStore {
  /** Writes one entry on its own (refusals, failed authentications: no change to share a transaction with). */
  record(entry: AuditInput): Promise<void>;
  query(query: AuditQuery): Promise<AuditPage>;
}
