import { CompileCache, compileConfigAsync, runSliced, type CompiledConfig, type SelfEndpoints } from '@tollgate/compiler';
import { IdentityHolder, IdentityIndex, JwksRegistry, SubscriptionTable, type IndexedApiKey, type IndexedOAuthClient, type PolicyDeps } from '@tollgate/policies';
import { TargetStateRegistry, type PoolRegistry } from '@tollgate/upstream';
import type { Logger } from 'pino';
import type { PlanSpec, Resource } from '@tollgate/model';
import type { Dispatcher } from 'undici';
import type { ConfigSource } from './options.js';
import { instantiate, instantiateAsync, RuntimeReuse, type RuntimeSnapshot } from './runtime.js';
import { discoveredNames, expandDiscoveredTargets, type EndpointLookup } from './discovery/expand-targets.js';
import { ChangeFeed, type SubscriptionHolder } from './change-feed.js';
import { CoalescedRun } from './coalesced-run.js';

/** DNS service discovery as the config manager uses it (see discovery/dns-discovery.ts). */
export interface TargetDiscovery {
  /** Resolves the names a config uses (first answers awaited, bounded) and stops the others. */
  track(names: ReadonlyArray<{ kind: 'dns' | 'srv'; host: string }>): Promise<void>;
  readonly lookup: EndpointLookup;
}

type Pools = PoolRegistry<Dispatcher & { close(): Promise<void>; destroy(): Promise<void> }>;

/**
 * Keeps the serving snapshot current: loads and compiles on boot, on every watch notification
 * and on a periodic version check (the safety net for a missed notification), and swaps one
 * reference atomically. A config that fails to compile or install is logged and refused; the
 * previous snapshot keeps serving. Reloads are serialized; notifications during a reload
 * coalesce into one more reload.
 */
export class ConfigManager {
  /** The snapshot requests read (one reference read per request). */
  current: RuntimeSnapshot | null = null;
  readonly ready: Promise<void>;
  #resolveReady!: () => void;
  readonly #reloads = new CoalescedRun(() => this.#reloadOnce(), () => this.#stopped);
  #rejectedVersion: number | null = null;
  /** The next reload installs fresh indexes even at an unchanged version (see reloadIndexes). */
  #indexesStale = false;
  #timer: NodeJS.Timeout | null = null;
  #unwatch: (() => Promise<void>) | null = null;
  #stopped = false;
  /** Target health and in-flight counts, kept across snapshots for unchanged targets. */
  readonly targetStates = new TargetStateRegistry();
  /** Called after each new runtime snapshot is installed (the health checker and TLS listener follow it). */
  onInstall: ((snapshot: RuntimeSnapshot) => void) | null = null;
  /** DNS discovery of upstream targets (`discovery: dns | srv`), or null to use targets as compiled. */
  discovery: TargetDiscovery | null = null;
  /** The compiled config serving, before discovered targets are expanded. */
  #compiled: CompiledConfig | null = null;
  /** Called when a config version is refused or cannot be loaded (the reload-failure counter). */
  onReloadFailure: (() => void) | null = null;
  /** Version label (`spec.version`) of each API of the serving config; the object is kept, `current` swapped. */
  readonly apiVersions: { current: ReadonlyMap<string, string> } = { current: new Map() };
  /** Consumer index read by auth policies; swapped with each snapshot, changed in place by the change feed. */
  readonly #identity = new IdentityHolder();
  /** Subscription index read by the generated `subscription` policies; swapped with `#identity`. */
  readonly #subscriptions: SubscriptionHolder = { current: SubscriptionTable.EMPTY };
  /** Plan of each Subscription being served (the usage meter re-seeds their quota counters): the live index's view. */
  readonly subscriptionPlans: { readonly current: ReadonlyMap<string, { readonly plan: string; readonly spec: PlanSpec }> };
  /** The deps policies are built with: the caller's, plus the identity index and JWKS caches kept across snapshots. */
  readonly #deps: PolicyDeps;
  /** Consumer, Subscription and API-key deltas applied to the serving indexes in place (null when the source has no feed). */
  readonly changes: ChangeFeed | null;
  /** Compiled Apis of the previous reloads (and validations, when shared): a change recompiles only the Apis it touches. */
  readonly #compileCache: CompileCache;
  /** Upstream and route runtimes of the serving snapshot, reused by the next where unchanged. */
  readonly #runtimeReuse = new RuntimeReuse();

  constructor(
    private readonly source: ConfigSource,
    private readonly pools: Pools,
    private readonly deps: PolicyDeps,
    private readonly logger: Logger,
    private readonly pollMs: number,
    /** This node's listeners, for the compiler's self-target check (see compile-self-targets.ts). */
    private readonly self?: SelfEndpoints,
    /** Shared with the admin's validator in a one-process Tollgate (see CompileCache); else the manager's own. */
    compileCache: CompileCache = new CompileCache(),
  ) {
    this.#compileCache = compileCache;
    this.ready = new Promise((resolve) => (this.#resolveReady = resolve));
    this.#deps = { ...deps, identity: deps.identity ?? this.#identity, subscriptions: deps.subscriptions ?? this.#subscriptions, jwks: deps.jwks ?? new JwksRegistry(deps.logger) };
    const feed = source.changesSince !== undefined && source.watchChanges !== undefined ? { changesSince: source.changesSince.bind(source), watchChanges: source.watchChanges.bind(source) } : null;
    this.changes = feed === null ? null : new ChangeFeed(feed, this.#identity, logger, pollMs, this.#subscriptions, () => this.reloadIndexes());
    const holder = this.#subscriptions;
    this.subscriptionPlans = {
      get current() {
        return holder.current.subscriptions;
      },
    };
  }

  /**
   * Installs the consumer and subscription indexes built from a snapshot (together: the change
   * feed applies to the pair), then catches them up on the change feed from the snapshot's position.
   */
  #installIndexes(identity: IdentityIndex, subscriptions: SubscriptionTable, changeSeq: number | undefined): void {
    identity.changeSeq = changeSeq ?? -1;
    this.#identity.current = identity;
    this.#subscriptions.current = subscriptions;
    void this.changes?.catchUp();
  }

  /** Starts watching and polling and triggers the first load. */
  start(): void {
    void this.reload();
    this.source.watch(() => void this.reload()).then(
      (unwatch) => {
        if (this.#stopped) void unwatch().catch(() => undefined);
        else this.#unwatch = unwatch;
      },
      (err: unknown) => this.logger.error({ err }, 'config watch failed; relying on the periodic version check'),
    );
    this.#timer = setInterval(() => void this.#poll(), this.pollMs);
    this.#timer.unref();
    void this.changes?.start();
  }

  /**
   * Change-feed position of the serving consumer, subscription and key indexes (Consumers,
   * Subscriptions and keys are applied up to it), or null before the first snapshot or without a feed.
   */
  get changeSeq(): number | null {
    const seq = this.#identity.current.changeSeq;
    return seq < 0 ? null : seq;
  }

  /** Version of the serving snapshot, or -1 before the first one. */
  get version(): number {
    return this.current?.version ?? -1;
  }

  async #poll(): Promise<void> {
    if (this.#reloads.running !== null || this.#stopped) return;
    try {
      const v = await this.source.version();
      if (this.current === null || (v !== this.current.version && v !== this.#rejectedVersion)) await this.reload();
    } catch (err) {
      this.logger.warn({ err }, 'config version check failed');
    }
  }

  /** Loads, compiles and installs the latest config (coalescing concurrent calls). */
  reload(): Promise<void> {
    return this.#reloads.run();
  }

  /**
   * A reload that installs fresh consumer and subscription indexes even when the config version
   * did not move: the change feed asks for it when its position is older than the retained log.
   */
  reloadIndexes(): Promise<void> {
    this.#indexesStale = true;
    return this.#reloads.run();
  }

  async #reloadOnce(): Promise<void> {
    if (this.#stopped) return;
    const indexesStale = this.#indexesStale;
    this.#indexesStale = false;
    let snapshot;
    try {
      snapshot = await this.source.load();
    } catch (err) {
      this.logger.error({ err }, 'config load failed; keeping the current snapshot');
      this.onReloadFailure?.();
      return;
    }
    // A load that outlived stop() (the database answered late) must not install pools on a closing gateway.
    if (this.#stopped) return;
    if (this.current !== null && snapshot.version === this.current.version && !indexesStale) return;
    // In slices with requests served in between, reusing the units of unchanged Apis (#16).
    const compiled = await compileConfigAsync(snapshot.resources, snapshot.version, this.self === undefined ? { cache: this.#compileCache } : { self: this.self, cache: this.#compileCache });
    if (this.#stopped) return;
    if (!compiled.ok) {
      this.#rejectedVersion = snapshot.version;
      this.logger.error({ version: snapshot.version, serving: this.version, issues: compiled.issues }, 'config rejected: it does not compile; the previous snapshot keeps serving');
      this.onReloadFailure?.();
      return;
    }
    // Built before any swap; Consumers, Subscriptions and API keys then change them in place from
    // the change feed (they never bump the version), starting at the snapshot's feed position.
    const identity = new IdentityIndex(snapshot.resources, (snapshot as { apiKeys?: readonly IndexedApiKey[] }).apiKeys ?? [], this.logger, (snapshot as { oauthClients?: readonly IndexedOAuthClient[] }).oauthClients ?? []);
    if (this.current !== null && compiled.config.hash === this.current.hash) {
      // (The hash leaves Consumers and Subscriptions out: a reload that differs only in them lands here.)
      this.#installIndexes(identity, compiled.config.subscriptions, snapshot.changeSeq);
      // Same content under a new version: keep the runtime (pools, balancer state) and adopt the version.
      this.current = Object.freeze({ ...this.current, version: snapshot.version });
      return;
    }
    let apiVersions: Map<string, string>;
    try {
      // Discovered names get their first answer before the snapshot that uses them serves.
      if (this.discovery !== null) await this.discovery.track(discoveredNames(compiled.config));
      if (this.#stopped) return;
      const next = await instantiateAsync(this.#expand(compiled.config), this.pools, this.#deps, this.targetStates, this.#runtimeReuse);
      if (this.#stopped) return;
      apiVersions = await runSliced(apiVersionSteps(snapshot.resources));
      if (this.#stopped) return;
      this.current = next;
      this.#compiled = compiled.config;
      this.#installIndexes(identity, compiled.config.subscriptions, snapshot.changeSeq);
    } catch (err) {
      this.#rejectedVersion = snapshot.version;
      this.logger.error({ err, version: snapshot.version, serving: this.version }, 'config rejected: it could not be installed; the previous snapshot keeps serving');
      this.onReloadFailure?.();
      return;
    }
    this.apiVersions.current = apiVersions;
    this.onInstall?.(this.current);
    // How many Apis this reload compiled and reused (in `start all` the apply's validation compiled them: none here).
    this.logger.info({ version: snapshot.version, hash: compiled.config.hash, ...(compiled.units !== undefined ? { compiledApis: compiled.units.compiled, reusedApis: compiled.units.reused } : {}) }, 'config snapshot installed');
    this.#resolveReady();
  }

  #expand(config: CompiledConfig): CompiledConfig {
    const d = this.discovery;
    return d === null ? config : expandDiscoveredTargets(config, (kind, host) => d.lookup(kind, host));
  }

  /**
   * Re-installs the serving config with the addresses DNS now gives for its discovered targets
   * (called by the discovery when a set changed). Synchronous, so it cannot interleave with a
   * reload's install; pools and health state of unchanged addresses are kept (registries).
   */
  refreshTargets(): void {
    const compiled = this.#compiled;
    const serving = this.current;
    if (compiled === null || serving === null || this.#stopped) return;
    try {
      const next = instantiate(this.#expand(compiled), this.pools, this.#deps, this.targetStates, this.#runtimeReuse);
      // The serving version and hash stay: the configuration did not change, its addresses did.
      this.current = Object.freeze({ ...next, version: serving.version, hash: serving.hash });
    } catch (err) {
      this.logger.error({ err }, 'discovered upstream addresses could not be installed; the previous ones keep serving');
      return;
    }
    this.onInstall?.(this.current);
    this.logger.info({ version: this.current.version }, 'upstream targets updated from DNS');
  }

  /**
   * Stops watching and polling; waits for the watch to end and a running reload to finish, at most
   * `deadlineMs` (a partitioned database answers neither; a reload finishing later installs nothing).
   */
  async stop(deadlineMs = 1_000): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const unwatch = this.#unwatch;
    this.#unwatch = null;
    const unwatched = unwatch ? unwatch().catch((err: unknown) => this.logger.warn({ err }, 'stopping the config watch failed')) : Promise.resolve();
    const settled = Promise.all([unwatched, this.#reloads.running?.catch(() => undefined), this.changes?.stop()]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deadlineMs);
      // Not unref()ed: while shutdown waits on it, it is what keeps the process alive to finish.
    });
    if ((await Promise.race([settled, timedOut])) === 'timeout') this.logger.warn({ deadlineMs }, 'config watch or reload did not stop in time (database unreachable?); shutting down anyway');
    clearTimeout(timer);
  }
}

/** Resources read between two yields while building {@link apiVersionSteps}' map. */
const API_VERSION_STEP = 1_000;

/**
 * The version label of every Api (the access log and metrics name it), as steps: built in one
 * piece from 10,000 Apis it held the event loop for 6-18 ms of CPU at the end of every reload
 * (profiled with bench:apply-stall, #16), one changed route included.
 */
export function* apiVersionSteps(resources: readonly Resource[]): Generator<void, Map<string, string>> {
  const versions = new Map<string, string>();
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i] as Resource;
    if (r.kind === 'Api') versions.set(r.metadata.name, r.spec.version);
    if (i % API_VERSION_STEP === API_VERSION_STEP - 1) yield;
  }
  return versions;
}
