import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ConfigStore } from '@tollgate/stores';

/** The data plane running in the admin's own process (`tollgate start all`), as far as the admin waits for it. */
export interface LocalDataPlane {
  /** Version of the snapshot it serves (-1 before the first). */
  currentVersion(): number;
  /** Change-feed position of the consumers, subscriptions and keys it serves (null before the first snapshot). */
  currentChangeSeq(): number | null;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** How long a change waits for the local data plane before it is answered anyway (logged). */
const DEFAULT_WAIT_MS = 5_000;
const POLL_MS = 5;

/**
 * Read-your-writes for a one-process Tollgate: a change made through the admin API is answered
 * once the data plane in the same process serves it, so `tollgate apply` followed at once by a
 * request through the gateway sees the change (Kong's DB-less `POST /config` behaves the same).
 * Without it the reply raced the data plane's reload on the same event loop: a script (or a doc)
 * that created a route or a key and called it in the next line got a 404 or 401 now and then.
 * Separate admin and gateway processes stay eventually consistent; there `GET /nodes` shows
 * which configuration version each node serves.
 */
export function awaitLocalDataPlane(app: FastifyInstance, store: ConfigStore, plane: LocalDataPlane, logger: FastifyBaseLogger, waitMs = DEFAULT_WAIT_MS): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (!MUTATING.has(request.method) || reply.statusCode >= 400) return payload;
    try {
      // One read each: the committed version, and the feed position (the changes after the plane's).
      const [version, feed] = await Promise.all([store.version(), store.changesSince(plane.currentChangeSeq() ?? -1)]);
      const behind = () => plane.currentVersion() < version || (feed.keys.length + feed.resources.length > 0 && (plane.currentChangeSeq() ?? -1) < feed.seq);
      const deadline = Date.now() + waitMs;
      // The parsed request body (10,000 documents for a large apply) is needed by nothing after
      // the handler once the store wrote the audit entry (the audit hook reads it only for changes
      // that did not commit): released before the wait, it is not kept through the reload, whose
      // compile allocates the most (#16).
      if (request.auditRecorded === true && behind()) request.body = undefined;
      while (behind()) {
        if (Date.now() > deadline) {
          logger.warn({ version, changeSeq: feed.seq, serving: plane.currentVersion(), servingSeq: plane.currentChangeSeq() }, 'the local data plane did not catch up with a change in time; answered anyway');
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } catch (err) {
      // The change is committed; not knowing whether the data plane serves it yet is no reason to fail it.
      logger.warn({ err }, 'could not check whether the local data plane serves a change');
    }
    return payload;
  });
}
