import type { IdentityHolder, IdentityIndex } from '@tollgate/policies';
import type { ConfigStore } from '@tollgate/stores';
import type { Logger } from 'pino';
import { CoalescedRun } from './coalesced-run.js';

/** What the feed reads: the stores' credential change feed (absent from test doubles that have no keys). */
export type CredentialSource = Pick<ConfigStore, 'changesSince' | 'watchChanges'>;

/** Keys applied per slice before yielding to serving (a bulk of 100,000 keys never blocks in one go). */
const APPLY_SLICE = 2_000;

const yieldToServing = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Keeps the identity index's admin-created API keys current from the change feed, in place: on
 * every feed notification (and on a periodic check, the safety net for a lost one) it reads what
 * changed after the index's position (`changesSince`: one consistent read, so a missed
 * notification, a dropped connection or a burst of them all resolve the same way) and applies it
 * to the serving index. No route is recompiled and the config version does not move.
 *
 * Races with full snapshots: an index built from a snapshot starts at that snapshot's position
 * (read in the same transaction as its keys). A read that started before a newer index was
 * installed is dropped and redone against the new index, so an older read can never undo a newer
 * snapshot (a key revoked in the snapshot is never re-added). Catch-ups are serialized and
 * coalesced; each applies deltas in feed order (create then revoke of one key ends revoked).
 */
export class CredentialFeed {
  readonly #catchUps = new CoalescedRun(async () => {
    try {
      await this.#catchUpOnce();
    } catch (err) {
      this.logger.warn({ err }, 'credential feed read failed; retrying on the next notification or check');
    }
  }, () => this.#stopped);
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;
  #unwatch: (() => Promise<void>) | null = null;
  /** Keys applied since start (inspection, tests). */
  applied = 0;

  constructor(
    private readonly source: CredentialSource,
    private readonly holder: IdentityHolder,
    private readonly logger: Logger,
    private readonly pollMs: number,
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
        (err: unknown) => this.logger.error({ err }, 'credential feed watch failed; relying on the periodic check'),
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
    const keys = changes.keys;
    for (let i = 0; i < keys.length; i += APPLY_SLICE) {
      if (i > 0) {
        await yieldToServing();
        if (this.holder.current !== index || this.#stopped) {
          this.#catchUps.again();
          return;
        }
      }
      this.applied += index.applyKeys(keys.slice(i, i + APPLY_SLICE));
    }
    index.changeSeq = changes.seq;
    this.logger.debug({ seq: changes.seq, keys: keys.length }, 'credential changes applied in place');
  }

  /** Stops watching and polling (a catch-up under way finishes on its own; it installs nothing new). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const unwatch = this.#unwatch;
    this.#unwatch = null;
    if (unwatch) await unwatch().catch((err: unknown) => this.logger.warn({ err }, 'stopping the credential feed failed'));
  }
}
