import { SubscriptionTable, type ConsumerDelta, type IdentityHolder, type IdentityIndex, type SubscriptionDelta } from '@tollgate/policies';
import { nextTurn, type ConsumerResource, type SubscriptionResource } from '@tollgate/model';
import type { ConfigStore, KeyDelta, ResourceDelta } from '@tollgate/stores';
import type { Logger } from 'pino';
import { CoalescedRun } from './coalesced-run.js';

/** What the feed reads: the stores' change feed (absent from test doubles that have no feed). */
export type ChangeSource = Pick<ConfigStore, 'changesSince' | 'watchChanges'>;

/** The serving subscription index, swapped with each snapshot (the gateway hands it to policies). */
export interface SubscriptionHolder {
  current: SubscriptionTable;
}

/** Keys (or Consumers and Subscriptions) applied per slice before yielding to serving (a bulk of 100,000 never blocks in one go). */
const APPLY_SLICE = 2_000;

/** A turn of the event loop, shared fairly with the other long jobs of the process (model `nextTurn`). */
const yieldToServing = nextTurn;

/**
 * Keeps the serving consumer index (Consumers, admin-created API keys) and subscription index
 * current from the change feed, in place: on every feed notification (and on a periodic check,
 * the safety net for a lost one) it reads what changed after the index's position
 * (`changesSince`: one consistent read, so a missed notification, a dropped connection or a burst
 * of them all resolve the same way) and applies it to the serving indexes. No route is
 * recompiled and the config version does not move.
 *
 * Order and atomicity: the Consumers and Subscriptions of a read are applied first, in one
 * synchronous step up to 2,000 of them (a request sees all of them or none: a consumer created
 * with its subscription is never seen without it), then the keys (which name their consumer),
 * 2,000 per slice with a yield to serving between slices (see `#steps`).
 *
 * Races with full snapshots: indexes built from a snapshot start at that snapshot's position
 * (read in the same transaction as its rows). A read that started before newer indexes were
 * installed is dropped and redone against them, so an older read can never undo a newer
 * snapshot (a key revoked in the snapshot is never re-added). Catch-ups are serialized and
 * coalesced; each applies the current state of what changed, so applying twice changes nothing.
 */
export class ChangeFeed {
  readonly #catchUps = new CoalescedRun(async () => {
    try {
      await this.#catchUpOnce();
    } catch (err) {
      this.logger.warn({ err }, 'change feed read failed; retrying on the next notification or check');
    }
  }, () => this.#stopped);
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;
  #unwatch: (() => Promise<void>) | null = null;
  /** Keys applied since start (inspection, tests). */
  applied = 0;
  /** Consumers and Subscriptions applied since start (inspection, tests, the gateway's metric). */
  appliedResources = 0;

  constructor(
    private readonly source: ChangeSource,
    private readonly holder: IdentityHolder,
    private readonly logger: Logger,
    private readonly pollMs: number,
    /** Installed together with each identity index (absent: Subscriptions on the feed are not applied). */
    private readonly subscriptions?: SubscriptionHolder,
    /**
     * Reloads the whole snapshot (and with it fresh indexes at its position): called when the
     * index is behind the feed's retained log, whose changes can then no longer be replayed.
     */
    private readonly reloadAll?: () => Promise<void>,
  ) {}

  /** Starts watching and polling; resolves once watching (or once the watch failed: the poll remains). */
  start(): Promise<void> {
    this.#timer = setInterval(() => void this.catchUp(), this.pollMs);
    this.#timer.unref();
    return this.source
      .watchChanges((seq) => {
        if (seq > this.holder.current.changeSeq) void this.catchUp();
      })
      .then(
        (unwatch) => {
          if (this.#stopped) void unwatch().catch(() => undefined);
          else this.#unwatch = unwatch;
          // A change committed before the session listened was not heard: catch up once now.
          void this.catchUp();
        },
        (err: unknown) => this.logger.error({ err }, 'change feed watch failed; relying on the periodic check'),
      );
  }

  /** Brings the serving index up to the feed's current position (coalescing concurrent calls). */
  catchUp(): Promise<void> {
    return this.#catchUps.run();
  }

  async #catchUpOnce(): Promise<void> {
    const index: IdentityIndex = this.holder.current;
    // Not on the feed yet (before the first snapshot): the first snapshot's keys come with it.
    if (index.changeSeq < 0 || this.#stopped) return;
    const from = index.changeSeq;
    const changes = await this.source.changesSince(from);
    // A newer snapshot was installed while reading: this read may be older than it; redo.
    if (this.holder.current !== index) {
      this.#catchUps.again();
      return;
    }
    if (changes.seq <= index.changeSeq) return;
    if (changes.reload === true) {
      // Down (or partitioned) longer than the feed's retention: the log no longer has every change.
      this.logger.warn({ position: from, seq: changes.seq }, 'change feed position is older than the retained log; reloading the whole snapshot');
      if (this.reloadAll !== undefined) await this.reloadAll();
      return;
    }
    // Installed with `index` in the same statement as it (see ConfigManager), so the pair matches.
    const table = this.subscriptions?.current;
    const steps = this.#steps(index, table, changes.resources, changes.keys);
    for (let i = 0; i < steps.length; i++) {
      if (i > 0) {
        await yieldToServing();
        if (this.holder.current !== index || this.#stopped) {
          this.#catchUps.again();
          return;
        }
      }
      (steps[i] as () => void)();
    }
    index.changeSeq = changes.seq;
    this.logger.debug({ seq: changes.seq, keys: changes.keys.length, resources: changes.resources.length }, 'change feed applied in place');
  }

  /**
   * The read cut into synchronous steps run with a yield to serving between them: Consumers,
   * then Subscriptions, then keys (a key names its consumer). Up to {@link APPLY_SLICE}
   * Consumers and Subscriptions are one step, so requests see all of them or none (a consumer
   * created with its subscription is never seen without it); a larger read (an import of
   * thousands) is applied a slice at a time, as keys always are, so it never holds serving long.
   */
  #steps(index: IdentityIndex, table: SubscriptionTable | undefined, deltas: readonly ResourceDelta[], keys: readonly KeyDelta[]): Array<() => void> {
    const consumers: ConsumerDelta[] = [];
    const subscriptions: SubscriptionDelta[] = [];
    for (const d of deltas) {
      if (d.kind === 'Consumer') consumers.push({ name: d.name, resource: d.resource as ConsumerResource | null });
      else subscriptions.push({ name: d.name, resource: d.resource as SubscriptionResource | null });
    }
    const applyConsumers = (part: readonly ConsumerDelta[]) => () => {
      this.appliedResources += index.applyConsumers(part);
    };
    const applySubscriptions = (part: readonly SubscriptionDelta[]) => () => {
      if (table === undefined || table === SubscriptionTable.EMPTY) return;
      const { applied, unresolved } = table.applySubscriptions(part);
      this.appliedResources += applied;
      // Their Plan came with a config version this node has not installed yet: that snapshot has them.
      if (unresolved.length > 0) this.logger.info({ subscriptions: unresolved.slice(0, 20), count: unresolved.length }, 'subscriptions wait for the snapshot that brings their plan');
    };
    const steps: Array<() => void> = [];
    if (deltas.length > 0 && deltas.length <= APPLY_SLICE) {
      steps.push(() => {
        applyConsumers(consumers)();
        applySubscriptions(subscriptions)();
      });
    } else {
      for (let i = 0; i < consumers.length; i += APPLY_SLICE) steps.push(applyConsumers(consumers.slice(i, i + APPLY_SLICE)));
      for (let i = 0; i < subscriptions.length; i += APPLY_SLICE) steps.push(applySubscriptions(subscriptions.slice(i, i + APPLY_SLICE)));
    }
    for (let i = 0; i < keys.length; i += APPLY_SLICE) {
      const part = keys.slice(i, i + APPLY_SLICE);
      steps.push(() => {
        this.applied += index.applyKeys(part);
      });
    }
    return steps;
  }

  /** Stops watching and polling (a catch-up under way finishes on its own; it installs nothing new). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const unwatch = this.#unwatch;
    this.#unwatch = null;
    if (unwatch) await unwatch().catch((err: unknown) => this.logger.warn({ err }, 'stopping the change feed failed'));
  }
}
