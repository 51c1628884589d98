import type { ConfigIssue, Resource, ResourceKind } from '@tollgate/model';

/** A resource as stored, with bookkeeping the admin API shows. */
export interface StoredResource {
  resource: Resource;
  /** Config version at which this resource last changed. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** Everything the gateway needs to compile: all resources at one config version. */
export interface ConfigSnapshot {
  version: number;
  resources: Resource[];
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
 * transaction; any issue aborts the apply and nothing changes.
 */
export type SetValidator = (resources: Resource[]) => ConfigIssue[];

export interface ApplyOptions {
  /** Delete stored resources that are not in the applied set. */
  prune?: boolean;
  /** Validate and compute changes, but commit nothing. */
  dryRun?: boolean;
  /** Run on the full resulting set before commit. */
  validate: SetValidator;
  /** Fail with a conflict if a resource to create already exists (POST semantics). */
  createOnly?: boolean;
}

export interface ApplyResult {
  /** Config version after the apply (unchanged when nothing changed or on a dry run). */
  version: number;
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
  insert(token: Omit<AdminToken, 'createdAt' | 'revokedAt'>): Promise<AdminToken>;
  /** The active (not revoked) token with this hash. */
  findByHash(hash: string): Promise<AdminToken | undefined>;
  /** Number of active tokens (0 means the first start must bootstrap one). */
  countActive(): Promise<number>;
}
