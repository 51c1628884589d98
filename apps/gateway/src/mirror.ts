import { countsAgainstTarget, forward, type UpstreamError } from '@tollgate/upstream';
import type { PickRequest } from '@tollgate/upstream';
import type { RuntimeDestination } from './route-actions.js';
import { acquireTarget } from './runtime.js';

/** A shadow request never waits longer than this for response headers. */
const MIRROR_TIMEOUT_MS = 10_000;

function noop(): void {}

/**
 * Sends a copy of a bodiless request to a shadow destination, fire-and-forget (Istio `mirror`):
 * nothing is awaited by the caller, the response body is discarded, every failure is swallowed,
 * and the Host gets a `-shadow` suffix so the shadow can tell copies apart. Requests with a body
 * are never mirrored: the body is streamed once to the primary and not buffered.
 */
export function mirrorRequest(dest: RuntimeDestination, pick: PickRequest, method: string, path: string, headers: Record<string, string | string[]>, host: string): void {
  // Not held by the client request: the shadow exchange outlives it.
  const lease = acquireTarget(dest.target, dest.subset, pick, null);
  if (typeof lease === 'string') return;
  const h = { ...headers, host: `${host}-shadow` };
  forward(lease.target.pool, { method, path, headers: h, body: null, headersDeadlineMs: MIRROR_TIMEOUT_MS }).then(
    (res) => {
      lease.observe(res.statusCode >= 500);
      // 'close' follows both the end and a failure of the body ('end' alone leaked the slot on a reset).
      res.body.on('error', noop).once('close', () => lease.release()).resume();
    },
    (err: UpstreamError) => lease.release(countsAgainstTarget(err) ? true : undefined),
  );
}
